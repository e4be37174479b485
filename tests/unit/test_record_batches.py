"""Record batches' decompression bounded, whatever the codec (kafka-python's own encoders make the input)."""

from __future__ import annotations

import struct
import tracemalloc
from collections.abc import Callable

import pytest
from kafka import codec
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record.default_records import DefaultRecordBatchBuilder
from kafka.record.legacy_records import LegacyRecordBatchBuilder
from kafka.record.memory_records import MemoryRecords
from kafka.structs import TopicPartition

from services.core import record_batches
from services.core.compression import zstd
from services.core.record_batches import (
    TooLargeBatchError,
    UndecodableBatchError,
    gunzip,
    unlz4,
    unsnappy,
    unzstd,
)

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


@pytest.mark.parametrize(("name", "encode", "decode"), CODECS, ids=[c[0] for c in CODECS])
def test_a_batch_decompressing_in_many_steps_decodes_whole(name: str, encode: Callable[[bytes], bytes],
                                                          decode: Decode) -> None:
    records = RECORDS * 9  # 5 MiB: a few of the decompressors' 1 MiB steps
    assert decode(encode(records), 8 * LIMIT) == records


@pytest.mark.parametrize(("name", "encode", "decode"), CODECS, ids=[c[0] for c in CODECS])
def test_a_bomb_is_stopped_holding_little_more_than_the_bound(name: str, encode: Callable[[bytes], bytes],
                                                             decode: Decode) -> None:
    # Output gathered in a growing buffer, copied as it grew, peaked at twice the bound: 545 MiB for the
    # 256 MiB bound, past the sink's 512 MiB container limit, so the bomb restarted it again and again.
    compressed = encode(BOMB)
    tracemalloc.start()
    try:
        with pytest.raises(TooLargeBatchError):
            decode(compressed, 16 * LIMIT)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.25 * 16 * LIMIT


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


def served_message_set(values: list[bytes], codec_id: int, first: int, magic: int) -> MemoryRecords:
    return MemoryRecords(message_set(values, codec_id, first, magic))


def message_set(values: list[bytes], codec_id: int, first: int, magic: int) -> bytes:
    """A compressed v0/v1 message set as a broker before 4.0 serves it: the wrapper carries its last offset,
    and the inner messages theirs, relative in v1 and absolute in v0."""
    builder = LegacyRecordBatchBuilder(magic=magic, compression_type=codec_id, batch_size=1 << 30)
    for n, value in enumerate(values):
        builder.append(n if magic else first + n, timestamp=1 if magic else None, key=None, value=value)
    wrapper = builder.build()
    struct.pack_into(">q", wrapper, 0, first + len(values) - 1)
    return bytes(wrapper)


# v0 lz4 is Kafka 0.8/0.9's, with its miscomputed frame header checksum.
LEGACY = [("gzip", 1, 1), ("snappy", 2, 1), ("lz4", 3, 1), ("gzip v0", 1, 0), ("lz4 v0", 3, 0)]


@pytest.mark.parametrize(("name", "codec_id", "magic"), LEGACY, ids=[c[0] for c in LEGACY])
def test_a_legacy_message_set_is_bounded_too_and_named_from_the_partitions_position(
        name: str, codec_id: int, magic: int, monkeypatch: pytest.MonkeyPatch) -> None:
    record_batches.install()
    monkeypatch.setattr(record_batches, "MAX_BATCH_BYTES", LIMIT)
    tp = TopicPartition("raw", 0)
    whole = Fetcher.PartitionRecords(40, tp, served_message_set([b"x", RECORDS[:LIMIT // 2]], codec_id, 40, magic))
    assert [(r.offset, r.value) for r in whole.take(10)] == [(40, b"x"), (41, RECORDS[:LIMIT // 2])]

    bomb = Fetcher.PartitionRecords(40, tp, served_message_set([b"x", BOMB], codec_id, 40, magic))
    with pytest.raises(UndecodableBatchError, match="decompresses past 1048576 bytes") as raised:
        bomb.take(10)
    assert (raised.value.partition, raised.value.base_offset, raised.value.next_offset) == (tp, 40, 42)
    assert not bomb  # dropped: the next poll fetches again rather than spinning on a spent iterator


def flipped(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1:]


def test_a_batch_failing_its_crc_check_names_its_partition_and_where_the_next_batch_starts() -> None:
    record_batches.install()
    builder = DefaultRecordBatchBuilder(magic=2, compression_type=0, is_transactional=False, producer_id=-1,
                                        producer_epoch=-1, base_sequence=-1, batch_size=1 << 20)
    for n in range(3):
        builder.append(n, timestamp=1, key=None, value=b"value %d" % n, headers=[])
    batch = bytearray(builder.build())
    struct.pack_into(">q", batch, 0, 40)  # the base offset a broker gives it
    tp = TopicPartition("raw", 0)
    whole = Fetcher.PartitionRecords(40, tp, MemoryRecords(bytes(batch)))
    assert [r.offset for r in whole.take(10)] == [40, 41, 42]

    corrupt = Fetcher.PartitionRecords(40, tp, MemoryRecords(flipped(bytes(batch), bytes(batch).index(b"value 1"))))
    with pytest.raises(CorruptRecordError) as raised:
        corrupt.take(10)
    assert type(raised.value) is CorruptRecordError  # counted and alerted on under that name, as before
    assert str(raised.value).endswith("raw[0] at offset 40: a record batch fails its CRC check; its header, "
                                      "unchecked, says the next batch starts at offset 43")
    assert not corrupt  # dropped: fetched again at the next poll


def test_a_legacy_message_failing_its_crc_check_says_where_the_next_one_starts() -> None:
    record_batches.install()
    served = message_set([b"x", b"y"], 1, 40, 1)
    tp = TopicPartition("raw", 0)
    corrupt = Fetcher.PartitionRecords(40, tp, MemoryRecords(flipped(served, len(served) - 1)))
    with pytest.raises(CorruptRecordError, match=r"raw\[0\] at offset 40: .* next batch starts at offset 42"):
        corrupt.take(10)
