"""Python 3.14's ``compression.zstd``, and the ``zipfile`` that reads zip members compressed with it:
the standard library's on 3.14, the backport before. One place decides, for archives and responses."""

import sys

if sys.version_info >= (3, 14):
    import zipfile

    from compression import zstd
else:
    from backports import zstd
    from backports.zstd import zipfile

__all__ = ["zipfile", "zstd"]
