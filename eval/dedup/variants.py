"""Syndication variants of real article texts, generated deterministically (one seeded RNG per base).

An outlet carrying a wire or partner story typically: adds its own boilerplate (byline line, newsletter
and ad-blocker notices, copyright, "read more" links), trims paragraphs from the end (sometimes one from
the middle), rewrites the headline (site suffix, shortened, a word swapped), applies house style
(straight quotes, "US" for "U.S."), and re-flows paragraphs. A summary-only feed carries just the
first sentences, cut off with an ellipsis (an excerpt). A wire update ("UPDATE 1-") from the same
source adds a new top paragraph and drops or edits another. All of these are labelled "same story".
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import replace

from eval.dedup.corpus import Doc, paragraphs_html

OUTLETS = ["Harbor Times", "Metro Ledger", "Shore News Network", "Valley Courier", "The Daily Dispatch",
           "Northern Star", "Capital Wire Online", "Lakeside Post"]

HEAD_BOILERPLATE = [
    "By {outlet} Staff and wire reports",
    "Advertisement",
    "Story continues below advertisement",
    "Listen to this article",
    "This story was originally published by a news agency and is republished here under a content partnership.",
    "Follow {outlet} on Facebook and Twitter for the latest updates on this developing story.",
]
TAIL_BOILERPLATE = [
    "You appear to be using an ad blocker. {outlet} is a free website that does not use paywalls or charge "
    "for access to original, breaking news content. In order to provide this free service, we rely on "
    "advertisements. Please support our journalism by disabling your ad blocker for this website.",
    "Copyright {year} {outlet}. All rights reserved. This material may not be published, broadcast, "
    "rewritten or redistributed without permission.",
    "Sign up for the {outlet} morning newsletter to get the day's top stories delivered to your inbox. "
    "Subscribe now and never miss a headline.",
    "Read more: Latest news from around the world | Opinion | Sports | Weather | Contact the newsroom",
    "Have a news tip? Email our newsroom or call the tip line. Comments are moderated and may take time "
    "to appear.",
    "Related coverage: What we know so far. Live updates. Photos from the scene. Share this article.",
]
UPDATE_PARAGRAPHS = [
    "Officials declined to comment further on Tuesday, and a spokesperson said more details would be "
    "released later in the week as the review continues.",
    "The announcement came after several days of talks, according to two people familiar with the matter "
    "who asked not to be named because they were not authorised to speak publicly.",
    "Shares and bonds reacted within minutes of the statement, and analysts said the decision would be "
    "watched closely by investors over the coming weeks.",
]
SYNONYMS = {"says": "said", "said": "says", "new": "latest", "after": "following", "over": "amid",
            "big": "major", "to": "will", "and": "&", "as": "while", "for": "over"}


def syndicated(base: Doc, n: int) -> Doc:
    """Outlet copy number ``n`` of ``base``: boilerplate, trims, headline edits, house style."""
    rng = random.Random(_seed(base.doc_id, n))
    outlet = OUTLETS[(n + rng.randrange(len(OUTLETS))) % len(OUTLETS)]
    paragraphs = _paragraphs_of(base)
    paragraphs = _trim(rng, paragraphs)
    paragraphs = _house_style(rng, paragraphs) if rng.random() < 0.5 else paragraphs
    paragraphs = _reflow(rng, paragraphs) if rng.random() < 0.3 else paragraphs
    paragraphs = _boilerplate(rng, paragraphs, outlet)
    slug = outlet.lower().replace(" ", "-")
    return replace(base, doc_id=f"{base.doc_id}~copy{n}", feed_id=f"outlet-{slug}",
                   item_id=f"outlet-{slug}:{base.item_id}~{n}", title=_headline(rng, base.title, outlet),
                   html=paragraphs_html(paragraphs), source=f"synthetic-copy:{base.source}", synthetic=True)


def excerpt(base: Doc) -> Doc:
    """A summary-only feed's item from another outlet: the story's first 25-60 words, cut off with an
    ellipsis, under the outlet's edit of the headline."""
    rng = random.Random(_seed(base.doc_id, 77))
    outlet = OUTLETS[rng.randrange(len(OUTLETS))]
    words = " ".join(_paragraphs_of(base)).split()
    lead = " ".join(words[:rng.randint(25, 60)]) + " …"
    slug = f"{outlet.lower().replace(' ', '-')}-digest"
    return replace(base, doc_id=f"{base.doc_id}~excerpt", feed_id=f"outlet-{slug}",
                   item_id=f"outlet-{slug}:{base.item_id}", title=_headline(rng, base.title, outlet),
                   html=paragraphs_html([lead]), source=f"synthetic-excerpt:{base.source}", synthetic=True)


def wire_update(base: Doc) -> Doc:
    """The source's own refile: UPDATE slug, a new top paragraph, the last paragraph replaced."""
    rng = random.Random(_seed(base.doc_id, 99))
    paragraphs = _paragraphs_of(base)
    added = rng.choice(UPDATE_PARAGRAPHS)
    body = [paragraphs[0], added, *paragraphs[1:-1]] if len(paragraphs) > 2 else [*paragraphs, added]
    return replace(base, doc_id=f"{base.doc_id}~update1", item_id=f"{base.item_id}~update1",
                   title=f"UPDATE 1-{base.title}", html=paragraphs_html(body),
                   source=f"synthetic-update:{base.source}", synthetic=True)


def _seed(doc_id: str, n: int) -> int:
    return int.from_bytes(hashlib.sha256(f"{doc_id}/{n}".encode()).digest()[:8], "big")


def _paragraphs_of(doc: Doc) -> list[str]:
    from lxml import html as lxml_html  # noqa: PLC0415

    if not doc.html.strip():
        return []
    root = lxml_html.fragment_fromstring(doc.html, create_parent="div")
    found = [" ".join(p.text_content().split()) for p in root.iter("p")]
    return [p for p in found if p] or [" ".join(root.text_content().split())]


def _trim(rng: random.Random, paragraphs: list[str]) -> list[str]:
    if len(paragraphs) < 3:
        return paragraphs
    if rng.random() < 0.7:  # cut from the end: the most common edit for space
        drop = rng.randint(1, max(1, int(len(paragraphs) * 0.3)))
        return paragraphs[:-drop]
    victim = rng.randrange(1, len(paragraphs) - 1)
    return paragraphs[:victim] + paragraphs[victim + 1:]


def _house_style(rng: random.Random, paragraphs: list[str]) -> list[str]:
    table = str.maketrans({"“": '"', "”": '"', "‘": "'", "’": "'", "–": "-", "—": "-"})
    out = [p.translate(table).replace("U.S.", "US").replace("per cent", "percent") for p in paragraphs]
    if out and rng.random() < 0.5:
        out[0] = out[0].replace(" (Reuters) -", " -").replace(" (AP) -", " -")
    return out


def _reflow(rng: random.Random, paragraphs: list[str]) -> list[str]:
    if len(paragraphs) < 2:
        return paragraphs
    i = rng.randrange(len(paragraphs) - 1)
    return [*paragraphs[:i], f"{paragraphs[i]} {paragraphs[i + 1]}", *paragraphs[i + 2:]]


def _boilerplate(rng: random.Random, paragraphs: list[str], outlet: str) -> list[str]:
    head = [t.format(outlet=outlet) for t in rng.sample(HEAD_BOILERPLATE, rng.randint(0, 2))]
    tail = [t.format(outlet=outlet, year=2024) for t in rng.sample(TAIL_BOILERPLATE, rng.randint(1, 2))]
    return [*head, *paragraphs, *tail]


def _headline(rng: random.Random, title: str, outlet: str) -> str:
    words = title.split()
    choice = rng.randrange(5)
    if choice == 0:
        return f"{title} | {outlet}"
    if choice == 1 and len(words) > 6:
        return " ".join(words[:6])
    if choice == 2:
        swapped = [SYNONYMS.get(w.lower(), w) for w in words]
        return " ".join(swapped)
    if choice == 3:
        return f"Report: {title}"
    return title
