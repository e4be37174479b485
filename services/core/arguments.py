"""Command-line numbers and text, checked where they are parsed: a count or a wait out of range, or text
that is not UTF-8, is a usage error (exit 2) naming the problem, never a traceback, an endless wait or a
query without a limit."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from services.core.numbers import whole_number


def count(most: int) -> Callable[[str], int]:
    """An argparse type: a whole number from 1 to ``most`` (SQLite reads a negative LIMIT as none)."""
    def parse(text: str) -> int:
        number = whole_number(text)
        if number is None or not 1 <= number <= most:
            raise argparse.ArgumentTypeError(f"must be an integer from 1 to {most:,}")
        return number

    return parse


def amount(unit: str, most: float = math.inf, *, zero: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number of ``unit`` above 0 (or 0 itself, if ``zero``) and at most ``most``."""
    def parse(text: str) -> float:
        try:
            number = float(text)
        except ValueError:
            number = math.nan
        if not (0 < number <= most or (zero and number == 0)) or math.isinf(number):  # NaN fails both
            least = "0 or more" if zero else "above 0"
            bound = f" and at most {most:,g}" if math.isfinite(most) else ""
            raise argparse.ArgumentTypeError(f"must be a number of {unit} {least}{bound}")
        return number

    return parse


def utf8(value: str) -> str:
    """An argparse type: text that is valid UTF-8. A shell passes bytes that are not (``$'\\xff'``) as
    surrogate escapes, which no database driver can encode: refused here, not as a traceback later."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise argparse.ArgumentTypeError("not valid UTF-8") from None
    return value


def port(text: str) -> int:
    """An argparse type: a TCP port."""
    number = whole_number(text)
    if number is None or not 1 <= number <= 65535:
        raise argparse.ArgumentTypeError(f"not a TCP port: {text!r}")
    return number


def command_group(commands: argparse._SubParsersAction, name: str, help_text: str,  # type: ignore[type-arg]
                  title: str) -> argparse._SubParsersAction:  # type: ignore[type-arg]
    """A command whose own commands follow it (``wirefeed feeds check``); named alone, its help is shown."""
    group: argparse.ArgumentParser = commands.add_parser(name, help=help_text)
    group.set_defaults(usage=group)
    return group.add_subparsers(title=title)
