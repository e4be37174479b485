"""The first character of a rule's match, and the boilerplate rules cut to a paragraph's first character."""

from __future__ import annotations

import re

import pytest

from services.normalizer import boilerplate
from services.normalizer.regexstart import first_character
from tests.unit.normalizer.test_normalizer_boilerplate import (
    BOILERPLATE_IN_OTHER_LANGUAGES,
    COMMON_BOILERPLATE,
    NEWS,
    NEWS_IN_OTHER_LANGUAGES,
)


def starts(pattern: str, flags: int = 0) -> str:
    """The characters of a sample that ``first_character`` lets through."""
    first = first_character(pattern, flags)
    assert first is not None
    return "".join(c for c in "abkAKSsſ(-_ 1é\u212a" if first.fullmatch(c))


def test_a_literal_starts_as_the_engine_folds_its_case() -> None:
    assert starts("kill", re.IGNORECASE) == "kK\u212a"  # the Kelvin sign is a "k" to the engine
    assert starts("see", re.IGNORECASE) == "Ssſ"
    assert starts("kill") == "k"


def test_optional_and_zero_width_items_let_what_follows_start() -> None:
    assert starts(r"\b\(?(?:a|b)?-?k") == "abk(-"
    assert starts(r"(?=x)a*(?:1|\s)") == "a 1"


def test_a_case_sensitive_part_keeps_its_case_even_negated() -> None:
    assert starts(r"(?-i:[A-Z])", re.IGNORECASE) == "AKS"
    assert starts(r"(?-i:[^a-z])", re.IGNORECASE) == "AKSſ(-_ 1é\u212a"  # with case ignored "A" would be out


def test_what_may_start_with_anything_says_so() -> None:
    assert first_character(r".{1,100} is", re.DOTALL) is None
    assert first_character(r"(a)?\1b") is None


def paragraphs_the_rules_are_tested_on() -> list[str]:
    """The boilerplate and the news the boilerplate tests give the rules, each also with its first letter
    in the other case and as the characters the engine folds into it."""
    texts = [*COMMON_BOILERPLATE, *NEWS, *BOILERPLATE_IN_OTHER_LANGUAGES, *NEWS_IN_OTHER_LANGUAGES]
    variants = {"k": "\u212a", "s": "ſ", "i": "ı"}
    more = [variants[t[0].lower()] + t[1:] for t in texts if t[:1].lower() in variants]
    return texts + [t.swapcase() for t in texts] + [t[:1].swapcase() + t[1:] for t in texts] + more


def test_the_rules_cut_to_a_first_character_match_as_all_of_them_do() -> None:
    paragraphs = paragraphs_the_rules_are_tested_on()
    assert len(paragraphs) > 300
    for paragraph in paragraphs:
        whole = boilerplate._WHOLE.fullmatch(paragraph)
        cut = boilerplate._whole_for(paragraph[0]).fullmatch(paragraph)
        assert (cut and (cut.lastgroup, cut.span())) == (whole and (whole.lastgroup, whole.span())), paragraph


@pytest.mark.parametrize(("first", "kept"), [("A", "advertisement"), ("©", "©"), ("r", "related")])
def test_a_first_letter_leaves_a_short_alternation(first: str, kept: str) -> None:
    cut = boilerplate._whole_for(first).pattern
    assert kept in cut and len(cut) < len(boilerplate._WHOLE.pattern) / 2
