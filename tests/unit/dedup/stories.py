"""Articles for the dedup tests: the seed Reuters story as a site republished it, the wire copy, another
outlet's syndicated variant, and a different Iraq story from the same day."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

from schemas import Article, PubStatus
from services.normalizer.normalize import article_id, content_fingerprint, release_status
from services.normalizer.urls import canonical_url

T0 = datetime(2024, 1, 25, 9, 0, tzinfo=UTC)
SEED_NAME = "reuters-iraq-coalition-syndicated.txt"

OTHER_IRAQ_STORY = (
    "Iraqi parliament fails again to elect speaker amid Sunni rivalry",
    "BAGHDAD (Reuters) – Iraq's parliament failed for a third time on Thursday to elect a new speaker, as "
    "rival Sunni blocs could not agree on a candidate, prolonging a vacuum that has stalled legislation "
    "including the federal budget.\n\n"
    "The post has been empty since the federal court removed the previous speaker in November over a forgery "
    "case. By convention the speaker is a Sunni Muslim, the prime minister a Shi'ite and the president a Kurd.\n\n"
    "Lawmakers from the Taqaddum party walked out of the session after the first round of voting, saying "
    "the count had been manipulated, and the session was adjourned without a date for the next one.\n\n"
    "Iraq's Shi'ite-led Coordination Framework, which holds a majority of seats, has backed a compromise "
    "candidate, but its leaders are divided over whether to push the vote through without Sunni consensus.\n\n"
    "The deadlock comes as Baghdad prepares for talks with Washington on the future of the U.S.-led coalition "
    "in Iraq, and as militias continue to attack bases housing U.S. troops.\n\n"
    "(Reporting by Timour Azhari; Editing by Alison Williams)",
)


def seed_paragraphs(shared: Path) -> list[str]:
    text = (shared / "seed" / SEED_NAME).read_text()
    return [p.strip() for p in text.split("\n\n") if p.strip()]


def make(n: int, title: str, body: str, *, feed_id: str = "shore-news", item: str | None = None,
         minutes: int = 0, pubstatus: PubStatus = PubStatus.USABLE, url: str | None = None,
         embargoed_until: datetime | None = None, version: int = 1) -> Article:
    """An article as normalize() would make it: ids from the item, content hash from the text."""
    item_id = f"{feed_id}:{item or n}"
    fingerprint = content_fingerprint(title, body)
    return Article(
        id=article_id(item_id, fingerprint, release_status(pubstatus, embargoed_until)),
        story_id=hashlib.sha256(item_id.encode()).hexdigest()[:32],
        item_id=item_id, feed_id=feed_id, url=url, canonical_url=canonical_url(url), title=title, body_text=body,
        body_html="", published_at=T0 + timedelta(minutes=minutes), fetched_at=T0 + timedelta(minutes=minutes),
        pubstatus=pubstatus, embargoed_until=embargoed_until, content_hash=fingerprint, version=version,
    )


def syndicated(shared: Path) -> Article:
    """Shore News Network's copy: the site's ad-blocker notice appended."""
    paragraphs = seed_paragraphs(shared)
    return make(1, paragraphs[0], "\n\n".join(paragraphs[1:]), feed_id="shore-news", item="iraq-coalition")


def wire(shared: Path) -> Article:
    """The wire copy: no site boilerplate."""
    paragraphs = seed_paragraphs(shared)
    end = paragraphs.index("You appear to be using an ad blocker")
    return make(2, paragraphs[0], "\n\n".join(paragraphs[2:end]), feed_id="reuters", item="L1N3EF0ZZ")


def variant(shared: Path, feed_id: str = "harbor-times") -> Article:
    """Another outlet: its own boilerplate, one paragraph trimmed, the headline edited."""
    paragraphs = seed_paragraphs(shared)
    end = paragraphs.index("You appear to be using an ad blocker")
    body = paragraphs[2:end]
    del body[4]  # the outlet cut a paragraph
    body = ["By Harbor Times Staff and wire reports", *body,
            "Copyright 2024 Harbor Times. All rights reserved. This material may not be published, broadcast, "
            "rewritten or redistributed.",
            "Sign up for our morning newsletter to get the day's top stories delivered to your inbox."]
    return make(3, "Iraq and US to start talks on ending coalition mission | Harbor Times", "\n\n".join(body),
                feed_id=feed_id, item="iraq-us-talks")


def other_iraq_story() -> Article:
    title, body = OTHER_IRAQ_STORY
    return make(4, title, body, feed_id="reuters", item="L1N3EF1AA")


def excerpt(shared: Path, feed_id: str = "brief-wire") -> Article:
    """A summary-only feed's item: its own headline, the lead and the start of the next paragraph."""
    paragraphs = seed_paragraphs(shared)
    body = f"{paragraphs[2]}\n\n{' '.join(paragraphs[3].split()[:12])} …"
    return make(6, "Iraq, US to begin talks on coalition's future", body, feed_id=feed_id, item="brief-881")


def quoting_story(shared: Path) -> Article:
    """A different story from another outlet that quotes one sentence of the seed's lead word for word."""
    lead = seed_paragraphs(shared)[2]
    quoted = lead[lead.index("Baghdad and Washington"):lead.index(" with the aim")]
    title, body = OTHER_IRAQ_STORY
    paragraphs = body.split("\n\n")
    paragraphs.insert(2, f"Officials recalled last week's statement that {quoted}, and said it changed nothing.")
    return make(8, title, "\n\n".join(paragraphs), feed_id="valley-courier", item="speaker-vote")
