"""Whole numbers from untrusted text: anything but plain ASCII digits is no number, never an exception."""

from __future__ import annotations

import pytest

from services.core.numbers import whole_number


@pytest.mark.parametrize(("text", "number"), [("0", 0), (" 300 ", 300), ("007", 7), ("9" * 18, 10**18 - 1)])
def test_ascii_digits_are_a_number(text: str, number: int) -> None:
    assert whole_number(text) == number


@pytest.mark.parametrize("text", [
    None, "", " ", "²", "١٢", "３", "-1", "+1", "1.5", "1e3", "12px", "1 2", "9" * 19, "9" * 5_000,
])
def test_anything_else_is_none(text: str | None) -> None:
    # "²".isdigit() and "١٢".isdigit() are true; int() refuses the first and more than 4,300 digits
    assert whole_number(text) is None
