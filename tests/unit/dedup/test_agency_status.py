"""Which kills and holds are an agency's own, of its own story (``dedup.is_agency_status``)."""

from __future__ import annotations

import pytest

from schemas import PubStatus
from services.normalizer.dedup import from_its_agency_wire, is_agency_status
from tests.unit.dedup import stories


@pytest.mark.parametrize(("feed_agency", "article_agency", "pubstatus", "expected"), [
    ("Reuters", None, PubStatus.CANCELED, True),  # a kill notice names no agency: the wire's own story
    ("Reuters", "Reuters", PubStatus.CANCELED, True),
    ("reuters", "Reuters", PubStatus.WITHHELD, True),  # any case
    ("Associated Press", "AP", PubStatus.CANCELED, True),  # by any name wirefeed knows the agency by
    ("Kauppalehti Wire", "kauppalehti wire", PubStatus.CANCELED, True),  # one it does not know: as written
    ("Reuters", "AFP", PubStatus.CANCELED, False),  # another agency's story on its wire
    ("Reuters", None, PubStatus.USABLE, False),  # no kill, no hold
    (None, "Reuters", PubStatus.CANCELED, False),  # a feed not marked: an outlet's takedown, as ever
])
def test_an_agency_s_kill_is_one_from_its_marked_wire_of_its_own_story(
        feed_agency: str | None, article_agency: str | None, pubstatus: PubStatus, expected: bool) -> None:
    article = stories.make(1, "Kill", "Withdrawn.", pubstatus=pubstatus).model_copy(update={"agency": article_agency})
    assert is_agency_status(article, feed_agency) is expected


@pytest.mark.parametrize(("feed_agency", "article_agency", "expected"), [
    ("Reuters", None, True),  # its own wire's story, whatever its status
    ("Associated Press", "AP", True),
    ("Reuters", "AFP", False),  # another agency's story on its wire
    (None, "Reuters", False),  # a feed not marked: any outlet's
])
def test_an_article_from_its_agency_s_wire_is_one_from_a_feed_marked_with_the_agency_it_names(
        feed_agency: str | None, article_agency: str | None, expected: bool) -> None:
    article = stories.make(1, "Talks", "Iraq and the US agree.").model_copy(update={"agency": article_agency})
    assert from_its_agency_wire(article, feed_agency) is expected
