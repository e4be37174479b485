"""Python 3.14's ``compression.zstd``, and the ``zipfile`` that reads zip members compressed with it:
the standard library's on 3.14, the backport before. One place decides, for the poller's archives and
responses and the consumers' record batches."""

import sys

if sys.version_info >= (3, 14):
    import zipfile

    from compression import zstd
else:
    from backports import zstd
    from backports.zstd import zipfile

# The largest zstd window a decoder accepts, as a power of two: 8 MiB, RFC 9659's limit for HTTP. A frame
# asking for more could make the decoder reserve up to 2 GiB before writing a byte.
ZSTD_WINDOW_LOG_MAX = 23

__all__ = ["ZSTD_WINDOW_LOG_MAX", "zipfile", "zstd"]
