"""Commands on the shared plumbing: ``wirefeed dead-letters list`` and ``redrive``, and what the stages'
``wirefeed positions`` commands share.

Imports of kafka-python wait for the handler, so that the CLI starts fast for every other command.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from services.core.arguments import command_group
from services.core.supervise import DEAD_LETTERING
from services.core.text import one_line
from services.core.timestamps import timestamp_argument, utc_timestamp

MAX_REASON_CHARS = 200

if TYPE_CHECKING:
    from kafka import KafkaAdminClient

    from schemas import DeadLetter
    from services.core.config import CommonSettings
    from services.core.dead_letters import Selection
    from services.core.positions import PositionBook, StagePositions


def register(commands: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    actions = command_group(commands, "dead-letters", "read the dead-letter topic; send letters back once fixed",
                            "dead-letters commands")
    listing = actions.add_parser("list", help="one line per letter: when, stage, error, source record, reason")
    listing.add_argument("--json", action="store_true", help="each whole letter as JSON, one per line")
    listing.set_defaults(handler=_list)
    redrive = actions.add_parser("redrive", help="publish the letters' payloads again to the topics they came from")
    redrive.add_argument("--dry-run", action="store_true", help="only count what would be sent and skipped")
    redrive.set_defaults(handler=_redrive)
    for action in (listing, redrive):
        action.add_argument("--since", type=timestamp_argument,
                            help="letters written at or after (ISO 8601; UTC if no offset)")
        action.add_argument("--stage", choices=DEAD_LETTERING, help="only letters of this stage")
        action.add_argument("--error-class", help="only letters of this error class (e.g. ValidationError)")


def _list(args: argparse.Namespace) -> int:
    from services.core.dead_letters import LetterReader

    reader = LetterReader(_settings(), _selection(args))
    count = 0
    for found in reader:
        sys.stdout.write((found.letter.model_dump_json() if args.json else _one_line(found.letter)) + "\n")
        count += 1
    print(f"{count} dead letter(s){_unreadable(reader.unreadable)}", file=sys.stderr)
    return 0


def _redrive(args: argparse.Namespace) -> int:
    from services.core.dead_letters import LetterReader, redrive
    from services.core.kafka import missing_topic

    settings = _settings()
    reader = LetterReader(settings, _selection(args))
    result = redrive(settings, reader, dry_run=args.dry_run)
    sent = ", ".join(f"{count} to {topic}" for topic, count in sorted(result.sent.items())) or "none"
    print(f"{'would send' if args.dry_run else 'sent'} back {sum(result.sent.values())} letter(s): {sent}")
    for reason, count in sorted(result.skipped.items()):
        print(f"skipped {count}: {reason}")
    if reader.unreadable:
        print(f"skipped{_unreadable(reader.unreadable)}")
    for topic, count in sorted(result.missing.items()):
        print(f"wirefeed: {count} letter(s) {'would not be' if args.dry_run else 'not'} sent back: "
              f"{missing_topic(settings, topic)}", file=sys.stderr)
    return 1 if result.missing else 0


def _settings() -> CommonSettings:
    from services.core.config import CommonSettings
    from services.core.logging import configure_logging

    settings = CommonSettings()
    configure_logging(settings.log_level, settings.log_format, service="dead-letters")  # on stderr
    return settings


def _one_line(letter: DeadLetter) -> str:
    source = f"{letter.topic}:{letter.partition}:{letter.offset}"
    # One line per letter: a validation error's reason runs over many lines and kilobytes (--json has it).
    reason = one_line(letter.reason)
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[:MAX_REASON_CHARS - 1] + "…"
    return "\t".join((utc_timestamp(letter.failed_at, "seconds"), letter.stage, letter.error_class, source, reason))


def _selection(args: argparse.Namespace) -> Selection:
    from services.core.dead_letters import Selection

    return Selection(since=args.since, stage=args.stage, error_class=args.error_class)


def _unreadable(places: list[str]) -> str:
    if not places:
        return ""
    shown = ", ".join(places[:5]) + (", …" if len(places) > 5 else "")
    return f" ({len(places)} record(s) that are not dead letters, at partition:offset {shown})"


def add_positions_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument("--set", dest="moves", action="append", type=_move, default=[], metavar="PARTITION=OFFSET",
                         help="move a partition's position (the stage stopped): past a batch that fails its CRC "
                              "check, or back to read again; repeatable")


def positions_command(settings: CommonSettings, group: str, topic: str,
                      book: Callable[[KafkaAdminClient], PositionBook], moves: list[tuple[int, int]]) -> int:
    """``wirefeed positions STAGE``: the stage's group, its input topic, and where it records positions."""
    from services.core.kafka import admin_client, require_broker
    from services.core.logging import configure_logging
    from services.core.positions import StagePositions

    configure_logging(settings.log_level, settings.log_format, service="positions")  # on stderr
    require_broker(settings)  # at once, rather than after kafka-python's 30-second bootstrap
    with admin_client(settings) as admin:
        return _move_and_show(StagePositions(settings, admin, group, topic, book(admin)), moves)


def _move_and_show(stage: StagePositions, moves: list[tuple[int, int]]) -> int:
    """Print where the stage reads each partition, after moving the positions asked for."""
    from services.core.positions import PositionError

    try:
        for moved in stage.move(dict(moves)) if moves else []:
            what = "skipped" if moved.skipped >= 0 else "to be read again"
            before = "none" if moved.before.position is None else moved.before.position
            print(f"{stage.topic}[{moved.before.partition}]: {before} -> {moved.after} "
                  f"({abs(moved.skipped)} record(s) {what})")
        rows = [("partition", "position", "earliest", "end", "unread")]
        rows += [(str(p.partition), "none" if p.position is None else str(p.position), str(p.earliest), str(p.end),
                  str(p.unread)) for p in stage.show()]
    except PositionError as error:
        print(f"wirefeed: {error}", file=sys.stderr)
        return 1
    widths = [max(len(row[n]) for row in rows) for n in range(len(rows[0]))]
    print(f"{stage.topic}, group {stage.group}")
    for row in rows:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))
    return 0


def _move(text: str) -> tuple[int, int]:
    found = re.fullmatch(r"([0-9]{1,9})=([0-9]{1,18})", text.strip())
    if not found:
        raise argparse.ArgumentTypeError("must be PARTITION=OFFSET, two whole numbers, such as 0=1234")
    return int(found[1]), int(found[2])
