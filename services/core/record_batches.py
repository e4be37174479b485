"""Record batches decompressed within a bound, and a batch that cannot be read named, so it can be skipped.

kafka-python decompresses a whole record batch at once (``kafka/record/default_records.py``): a batch of
a few MiB of gzip or zstd can unpack to gigabytes, and a consumer reading one ran out of memory, was
restarted, and read it again, for ever. And a batch it cannot decode (broken compressed bytes, or a codec
without its library) raised from every ``poll()``, so the consume loop retried it for ever and its
partition stopped. Here each codec stops at ``MAX_BATCH_BYTES``, and whatever stops a batch is raised as
an ``UndecodableBatchError`` that names the batch's partition and offsets, for the consume loop to
dead-letter and seek past (``consume.py``).

A partition's fetched records whose reading raised (this error, or a batch failing its CRC check) stayed
in kafka-python's fetcher with their iterator spent, and the next ``poll()`` took nothing from them for
ever: it never returned, at full CPU. They are dropped now, so the next poll fetches that batch again. A
batch failing its CRC check is never passed here, but its error says where its header puts the next
batch: the offset an operator moves a stage to when no good copy is left (``wirefeed positions``).

kafka-python offers no hook for either, so ``install()`` replaces its five decoders (in both of its
record formats: batches since Kafka 0.11, and the older message sets brokers before 4.0 may still serve)
and wraps five of its methods; ``kafka-python`` is pinned below 4 for that reason, and the tests
exercise these paths against the real broker (the older message sets, which Kafka 4 no longer writes,
against kafka-python's own reader).
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Callable
from typing import Any

import lz4.frame
import snappy
import xxhash
from kafka.consumer.fetcher import Fetcher
from kafka.errors import CorruptRecordError
from kafka.record import default_records, legacy_records
from kafka.record.default_records import DefaultRecordBatch
from kafka.record.legacy_records import LegacyRecordBatch
from kafka.structs import TopicPartition

from services.core.compression import zstd_frame_decompressor
from services.core.config import DEFAULT_MAX_BATCH_BYTES

#: No batch decompresses to more (``WIREFEED_KAFKA_MAX_BATCH_BYTES``, set by ``install``).
MAX_BATCH_BYTES = DEFAULT_MAX_BATCH_BYTES
# What one call decompresses at most: a bomb is stopped within a step of the bound.
_STEP = 1024 * 1024
# Kafka's snappy framing (xerial) starts with this magic; a raw snappy block does not.
_XERIAL_MAGIC = b"\x82SNAPPY\x00"
_installing = threading.Lock()


class UndecodableBatchError(CorruptRecordError):  # type: ignore[misc]  # kafka.errors is untyped
    """A record batch that cannot be decompressed: the records from ``base_offset`` up to ``next_offset``."""

    def __init__(self, reason: str, base_offset: int, next_offset: int,
                 partition: TopicPartition | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.base_offset = base_offset
        self.next_offset = next_offset
        self.partition = partition

    def at(self, partition: TopicPartition, position: int) -> UndecodableBatchError:
        """Named with its partition; from the partition's position if that is lower (every offset from
        there on is unread: a v0/v1 message set names only its last offset)."""
        return UndecodableBatchError(self.reason, min(self.base_offset, position), self.next_offset, partition)


class _ChecksumFailedError(CorruptRecordError):  # type: ignore[misc]
    """Raised where the batch is known, named with its partition by the ``take()`` wrapper."""


class TooLargeBatchError(ValueError):
    """The batch decompresses past ``MAX_BATCH_BYTES``."""


def gunzip(data: bytes | memoryview, limit: int | None = None) -> bytes:
    # What a call leaves of its input: b"" may still hold output zlib keeps back, asked for with no input.
    return _one_after_another(bytes(data), _limit(limit), lambda: zlib.decompressobj(16 + zlib.MAX_WBITS),
                              lambda member: member.unconsumed_tail, "gzip stream")


def unzstd(data: bytes, limit: int | None = None) -> bytes:
    return _one_after_another(data, _limit(limit), zstd_frame_decompressor,
                              lambda frame: None if frame.needs_input else b"", "zstd frame")


def unlz4(data: bytes, limit: int | None = None) -> bytes:
    out = _Output(_limit(limit))
    decompressor = lz4.frame.LZ4FrameDecompressor()
    while not decompressor.eof:
        out.add(decompressor.decompress(data, max_length=out.room))
        if decompressor.needs_input and not decompressor.eof:
            raise EOFError("the lz4 frame ends before its end")
        data = b""
    return out.joined()


def unlz4_old_kafka(data: bytes, limit: int | None = None) -> bytes:
    """A v0 message set's lz4 (Kafka 0.8/0.9), whose frame header checksum Kafka computed over the wrong
    bytes: recomputed, as kafka-python's own reader does, then decoded within the bound like any lz4."""
    if len(data) < 7:
        raise EOFError("the lz4 frame ends before its header does")
    header_end = 6 + (8 if data[4] & 0x08 else 0)  # the descriptor, and the content size when it is there
    checksum = xxhash.xxh32(data[4:header_end]).digest()[2:3]
    return unlz4(data[:header_end] + checksum + data[header_end + 1:], limit)


def unsnappy(data: bytes, limit: int | None = None) -> bytes:
    """Kafka's snappy: xerial's framing (blocks, each with its length) or one raw block. A block says how
    long it decompresses to in its first bytes, so the bound is checked before each is decompressed."""
    limit = _limit(limit)
    if not data.startswith(_XERIAL_MAGIC):
        return _unsnappy_block(data, limit, limit)
    out = _Output(limit)
    pos = 16  # the magic and two versions
    while pos < len(data):
        size = int.from_bytes(data[pos:pos + 4], "big", signed=True)
        if size < 0 or pos + 4 + size > len(data):
            raise EOFError("a snappy block runs past the batch")
        out.add(_unsnappy_block(data[pos + 4:pos + 4 + size], limit - out.size, limit))
        pos += 4 + size
    return out.joined()


def install(max_batch_bytes: int = DEFAULT_MAX_BATCH_BYTES) -> None:
    """Make kafka-python decompress within ``max_batch_bytes``, name undecodable batches, and fetch records
    again after reading them raised (patched once per process; the bound is the last one given)."""
    global MAX_BATCH_BYTES  # noqa: PLW0603  # process-wide, as the kafka-python decoders it replaces are
    with _installing:
        MAX_BATCH_BYTES = max_batch_bytes
        if getattr(DefaultRecordBatch, "_wirefeed_bounded", False):
            return
        default_records.gzip_decode = legacy_records.gzip_decode = gunzip
        default_records.zstd_decode = unzstd
        default_records.lz4_decode = legacy_records.lz4_decode = unlz4
        legacy_records.lz4_decode_old_kafka = unlz4_old_kafka
        default_records.snappy_decode = legacy_records.snappy_decode = unsnappy
        DefaultRecordBatch._maybe_uncompress = _naming(DefaultRecordBatch._maybe_uncompress, "record batch",
                                                       _batch_offsets)
        LegacyRecordBatch._decompress = _naming(LegacyRecordBatch._decompress, "message set", _message_set_offsets)
        DefaultRecordBatch.validate_crc = _saying_where_next(DefaultRecordBatch.validate_crc, _batch_offsets)
        LegacyRecordBatch.validate_crc = _saying_where_next(LegacyRecordBatch.validate_crc, _message_set_offsets)
        Fetcher.PartitionRecords.take = _fetched_again_and_named(Fetcher.PartitionRecords.take)
        DefaultRecordBatch._wirefeed_bounded = True


def _naming(decompress: Callable[..., Any], what: str,
            offsets: Callable[[Any], tuple[int, int]]) -> Callable[..., Any]:
    """``decompress`` with whatever stops it (past the bound, cut short, broken, whatever the codec raised)
    raised as this batch's ``UndecodableBatchError``, from and up to ``offsets(batch)``."""
    def named(batch: Any, *args: Any) -> Any:
        try:
            return decompress(batch, *args)
        except Exception as error:
            raise UndecodableBatchError(f"{what} cannot be decompressed: {type(error).__name__}: {error}",
                                        *offsets(batch)) from error
    return named


def _saying_where_next(validate: Callable[[Any], bool],
                       offsets: Callable[[Any], tuple[int, int]]) -> Callable[[Any], bool]:
    """``validate_crc``, raising for a batch that fails it the offset its header gives for the next batch:
    kafka-python's error names only the first, and moving a stage past the batch by hand (``wirefeed
    positions``) needs the next. The header is not checked (the CRC does not cover all of it)."""
    def validated(batch: Any) -> bool:
        if validate(batch):
            return True
        raise _ChecksumFailedError(f"a record batch fails its CRC check; its header, unchecked, says the next "
                                   f"batch starts at offset {offsets(batch)[1]}")
    return validated


def _batch_offsets(batch: Any) -> tuple[int, int]:
    return batch.base_offset, batch.next_offset


def _message_set_offsets(message_set: Any) -> tuple[int, int]:
    # A compressed message set of the formats before Kafka 0.11 (v0, v1), which only brokers before 4.0
    # serve: its wrapper carries the offset of its last record; the first is only known decompressed, so
    # the partition's position stands in for it (see ``UndecodableBatchError.at``).
    return message_set.base_offset, message_set.base_offset + 1


def _fetched_again_and_named(take: Callable[..., list[Any]]) -> Callable[..., list[Any]]:
    def taken(records: Any, n: int | None = None) -> list[Any]:
        try:
            return take(records, n)
        except Exception as error:
            # take() raises only when it took nothing, and its iterator is spent: drained, the records give
            # way to a fresh fetch from the partition's position (which a seek past the batch may move).
            records.drain()
            tp, position = records.topic_partition, records.next_fetch_offset
            if isinstance(error, UndecodableBatchError):
                raise error.at(tp, position) from error
            if isinstance(error, _ChecksumFailedError):
                raise CorruptRecordError(f"{tp.topic}[{tp.partition}] at offset {position}: {error.args[0]}") from error
            raise
    return taken


def _one_after_another(data: bytes, limit: int, start: Callable[[], Any], more: Callable[[Any], bytes | None],
                       name: str) -> bytes:
    """Streams written one after another (gzip members, zstd frames), as kafka-python reads them: each to
    its end, all within ``limit``. ``more`` gives what to feed a stream next, or None when it needs input
    and has none."""
    out = _Output(limit)
    while data:
        stream = start()
        pending: bytes | None = data
        while pending is not None and not stream.eof:
            piece = stream.decompress(pending, out.room)
            out.add(piece)
            pending = more(stream)
            if not piece and not pending:
                break  # nothing came out, and nothing is left to put in
        if not stream.eof:
            raise EOFError(f"the {name} ends before its end")
        data = stream.unused_data
    return out.joined()


def _unsnappy_block(block: bytes, room: int, limit: int) -> bytes:
    length, shift, pos = 0, 0, 0
    while True:  # the uncompressed length, a varint
        if pos >= len(block) or shift > 28:
            raise EOFError("a snappy block without its length")
        byte = block[pos]
        length |= (byte & 0x7F) << shift
        pos, shift = pos + 1, shift + 7
        if byte < 0x80:
            break
    if length > room:
        raise TooLargeBatchError(f"decompresses past {limit} bytes")
    return bytes(snappy.decompress(block))


def _limit(given: int | None) -> int:
    return MAX_BATCH_BYTES if given is None else given  # read when called: install() sets it


class _Output:
    """Decompressed pieces, at most ``limit`` bytes of them, joined once all are in. A buffer grown as the
    output came, and copied as it grew, held twice the bound at once (545 MiB for a 256 MiB bound): a
    consumer with half a gigabyte of memory died of the bomb the bound was for."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._pieces: list[bytes] = []

    @property
    def room(self) -> int:
        """How much the next call may decompress (never 0: to zlib, 0 means all)."""
        return min(_STEP, self.limit + 1 - self.size)

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.size > self.limit:
            raise TooLargeBatchError(f"decompresses past {self.limit} bytes")
        self._pieces.append(piece)

    def joined(self) -> bytes:
        return b"".join(self._pieces)
