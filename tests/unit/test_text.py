"""Text from outside the documents (file names, error messages) as every database and log can hold it."""

from __future__ import annotations

import os

import pytest

from services.core.text import one_line, storable


@pytest.mark.parametrize("text", ["story.xml", "Pressemitteilung_Köln.xml", "報道.xml", "tab\there", "😀", ""])
def test_text_utf8_holds_is_kept_as_it_is(text: str) -> None:
    assert storable(text) == text


def test_bytes_of_a_name_that_was_not_utf8_are_written_as_escapes() -> None:
    name = os.fsdecode(b"Pressemitteilung_K\xf6ln.xml")  # Latin-1, as a Windows upload names it
    assert storable(name) == "Pressemitteilung_K\\xf6ln.xml"
    assert storable(name).encode("utf-8")  # no longer raises


def test_nul_and_other_lone_surrogates_cannot_reach_a_database() -> None:
    assert storable("a\x00b\ud83d c\udfff") == "a\\x00b\ufffd c\ufffd"


def test_one_line_of_output_holds_no_line_break_tab_or_terminal_escape() -> None:
    # "\x1b]0;...\x07" retitles a terminal, "\x9b" starts a control sequence in 8-bit terminals
    shown = one_line("Storm\thits\r\ncoast \x1b]0;pwned\x07 now\x9b2J\u2028end")
    assert shown == "Storm hits coast ]0;pwned now 2J end"
    assert one_line("Zürich ☀ 😀") == "Zürich ☀ 😀"


def test_one_line_of_output_cannot_reorder_what_follows_it() -> None:
    # A right-to-left override left open shows the rest of the line reversed, the id after the title too.
    assert one_line("Storm\u202e) kcatta\u2069 hits\u2067") == "Storm) kcatta hits"
    hebrew = "\u05e9\u05dc\u05d5\u05dd\u200f (Reuters)"  # a right-to-left mark reaches one letter: it stays
    assert one_line(hebrew) == hebrew
