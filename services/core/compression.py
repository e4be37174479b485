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
_ZSTD_WINDOW_LOG_MAX = 23


def zstd_frame_decompressor() -> zstd.ZstdDecompressor:
    """A decompressor for one zstd frame, refusing a window over 8 MiB."""
    return zstd.ZstdDecompressor(options={zstd.DecompressionParameter.window_log_max: _ZSTD_WINDOW_LOG_MAX})


__all__ = ["zipfile", "zstd", "zstd_frame_decompressor"]
