"""Record batches' decompression bounded, whatever the codec (kafka-python's own encoders make the input)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from kafka import codec

from services.core.compression import zstd
from services.core.record_batches import TooLargeBatchError, gunzip, unlz4, unsnappy, unzstd

RECORDS = b"".join(b"record %d: Storm hits coast; " % n for n in range(20_000))
LIMIT = 1024 * 1024
BOMB = bytes(64 * LIMIT)  # 64 MiB of zeros: a few KiB compressed

Decode = Callable[[bytes, int], bytes]
CODECS: list[tuple[str, Callable[[bytes], bytes], Decode]] = [
    ("gzip", codec.gzip_encode, gunzip),
    ("zstd", codec.zstd_encode, unzstd),
    ("lz4", codec.lz4_encode, unlz4),
    ("snappy (xerial)", codec.snappy_encode, unsnappy),
    ("snappy (raw)", lambda data: codec.snappy_encode(data, xerial_compatible=False), unsnappy),
]


@pytest.mark.parametrize(("name", "encode", "decode"), CODECS, ids=[c[0] for c in CODECS])
def test_a_batch_within_the_bound_decodes_as_kafka_python_would(name: str, encode: Callable[[bytes], bytes],
                                                                 decode: Decode) -> None:
    compressed = encode(RECORDS)
    assert decode(compressed, LIMIT) == RECORDS
    assert decode(compressed, len(RECORDS)) == RECORDS  # exactly at the bound


@pytest.mark.parametrize(("name", "encode", "decode"), CODECS, ids=[c[0] for c in CODECS])
def test_a_batch_past_the_bound_is_refused(name: str, encode: Callable[[bytes], bytes], decode: Decode) -> None:
    # kafka-python decompressed it whole: a few MiB of such batches take gigabytes.
    compressed = encode(BOMB)
    assert len(compressed) < len(BOMB) // 20
    with pytest.raises(TooLargeBatchError):
        decode(compressed, LIMIT)
    with pytest.raises(TooLargeBatchError):
        decode(encode(RECORDS), len(RECORDS) - 1)


def test_gzip_members_one_after_another_are_read_as_one_stream() -> None:
    assert gunzip(codec.gzip_encode(b"first ") + codec.gzip_encode(b"second"), LIMIT) == b"first second"


@pytest.mark.parametrize(("name", "encode", "decode"), CODECS, ids=[c[0] for c in CODECS])
def test_a_cut_batch_is_an_error_not_a_shorter_batch(name: str, encode: Callable[[bytes], bytes],
                                                     decode: Decode) -> None:
    compressed = encode(RECORDS)
    with pytest.raises(Exception) as raised:
        decode(compressed[:len(compressed) // 2], LIMIT)
    assert not isinstance(raised.value, TooLargeBatchError)


def test_a_zstd_frame_asking_for_a_window_over_8_mib_is_refused() -> None:
    # It could make the consumer reserve up to 2 GiB before writing a byte.
    wide = zstd.compress(bytes(20 * 2**20), options={zstd.CompressionParameter.window_log: 27})
    with pytest.raises(zstd.ZstdError):
        unzstd(wide, LIMIT * 32)
    assert unzstd(zstd.compress(bytes(2**20), options={zstd.CompressionParameter.window_log: 23}),
                  LIMIT * 4) == bytes(2**20)
