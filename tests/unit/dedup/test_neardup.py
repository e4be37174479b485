"""Near-duplicate policy, pure: which texts are one story, and as what (copy, version, new story)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from schemas import Article
from services.core.db import Database
from services.normalizer import minhash
from services.normalizer.dedup import Decision, Plan, Snapshot, Verdict, plan
from services.normalizer.neardup import (
    ANCHOR_BAND,
    Candidate,
    NearDup,
    NearDupConfig,
    anchor_keys,
    article_text,
    containment,
    is_wire_update,
)
from services.normalizer.settings import NormalizerSettings
from tests.unit.dedup import stories

NEAR = NearDup()


def candidate(article: Article, *, story: str = "story-1", same_feed: bool = False) -> Candidate:
    fingerprint = NEAR.fingerprint(article)
    assert fingerprint.signature is not None
    return Candidate(story, "first-article", fingerprint.signature, 1, same_feed)


def test_an_articles_fingerprint_is_the_fingerprint_of_its_text(shared_dir: Path) -> None:
    for article in (stories.syndicated(shared_dir), stories.variant(shared_dir), stories.other_iraq_story(),
                    stories.make(9, "UPDATE 2-北京 talks", "北京欢迎 you. The ﬁrst Ａ①.")):
        whole, text = NEAR.fingerprint(article), NEAR.fingerprint_text(article_text(article))
        assert (whole.signature, whole.shingles) == (text.signature, text.shingles)
        # Its LSH bands, that is; anchors come from the body's lead, which the text alone does not mark.
        assert [band for band in whole.bands if band[0] != ANCHOR_BAND] == list(text.bands)


def decide(article: Article, snapshot: Snapshot) -> Plan | Decision:
    return plan(article, NEAR.fingerprint(article), snapshot, NEAR)


def test_the_syndicated_seed_and_the_wire_copy_are_one_story(shared_dir: Path) -> None:
    a, b = NEAR.fingerprint(stories.syndicated(shared_dir)), NEAR.fingerprint(stories.wire(shared_dir))
    match = NEAR.best_match(a, [candidate(stories.wire(shared_dir))])
    assert match is not None and match.similarity >= 0.7
    assert set(a.bands) & set(b.bands), "LSH makes them candidates"


def test_an_edited_trimmed_copy_with_boilerplate_is_the_same_story(shared_dir: Path) -> None:
    match = NEAR.best_match(NEAR.fingerprint(stories.variant(shared_dir)), [candidate(stories.wire(shared_dir))])
    assert match is not None and NEAR.config.threshold <= match.similarity < 1.0


def test_a_different_iraq_story_of_the_same_day_stays_apart(shared_dir: Path) -> None:
    fingerprint = NEAR.fingerprint(stories.other_iraq_story())
    assert NEAR.best_match(fingerprint, [candidate(stories.wire(shared_dir))]) is None
    assert not set(fingerprint.bands) & set(NEAR.fingerprint(stories.wire(shared_dir)).bands)


def test_texts_too_short_to_compare_get_no_signature() -> None:
    fingerprint = NEAR.fingerprint(stories.make(9, "Turkey Islamic State", "Photo."))
    assert fingerprint.signature is None and fingerprint.bands == ()
    assert NEAR.best_match(fingerprint, []) is None


def test_the_best_match_is_the_most_similar_story(shared_dir: Path) -> None:
    weak = candidate(stories.variant(shared_dir), story="story-weak")
    strong = candidate(stories.wire(shared_dir), story="story-strong")
    match = NEAR.best_match(NEAR.fingerprint(stories.syndicated(shared_dir)), [weak, strong])
    assert match is not None and match.story_id == "story-strong"


@pytest.mark.parametrize(("title", "stripped", "update"), [
    ("UPDATE 2-Iraq, U.S. agree talks", "Iraq, U.S. agree talks", True),
    ("UPDATE\n   2-Primeira Liga Results", "Primeira Liga Results", True),
    ("CORRECTED-S. Illinois battles flooding", "S. Illinois battles flooding", True),
    ("RECASTS-Iraq, U.S. agree talks", "Iraq, U.S. agree talks", True),
    ("BULLETIN-Iraq, U.S. agree talks", "Iraq, U.S. agree talks", False),
    ("EXCLUSIVE-Iraq seeks timetable", "Iraq seeks timetable", False),
    ("NASA-backed mission launches", "NASA-backed mission launches", False),
    ("Update-ready phones ship", "Update-ready phones ship", False),
])
def test_wire_slugs_are_dropped_from_the_text_and_updates_recognised(title: str, stripped: str,
                                                                    update: bool) -> None:
    assert article_text(stories.make(1, title, "body")) == f"{stripped}\nbody"
    assert is_wire_update(stories.make(1, title, "body")) is update


def test_wire_metadata_prefixes_mark_an_update_too() -> None:
    article = stories.make(1, "Iraq talks", "body").model_copy(update={"wire_prefixes": ["REFILE"]})
    assert is_wire_update(article)


@pytest.mark.parametrize(("prefixes", "update"), [
    (["ROUNDUP 2"], True), (["WDH", "ROUNDUP"], True), (["KORREKTUR"], True), (["ROUNDUP"], False),
    (["ANALYSE"], False), (["WRAPUP 1"], False),
])
def test_dpas_repeats_corrections_and_numbered_roundups_are_updates(prefixes: list[str], update: bool) -> None:
    article = stories.make(1, "Merz will Reform", "body").model_copy(update={"wire_prefixes": prefixes})
    assert is_wire_update(article) is update


def test_a_copy_from_another_feed_is_a_copy(shared_dir: Path) -> None:
    decided = decide(stories.variant(shared_dir), Snapshot(candidates=[candidate(stories.wire(shared_dir))]))
    assert isinstance(decided, Plan) and decided.verdict is Verdict.COPY and decided.story_id == "story-1"


def test_a_near_copy_from_the_same_feed_is_a_new_version(shared_dir: Path) -> None:
    snapshot = Snapshot(candidates=[candidate(stories.wire(shared_dir), same_feed=True)])
    decided = decide(stories.syndicated(shared_dir), snapshot)
    assert isinstance(decided, Plan) and decided.verdict is Verdict.NEW_VERSION


def test_a_wire_update_from_another_feed_is_a_new_version(shared_dir: Path) -> None:
    wire = stories.wire(shared_dir)
    update = stories.make(7, f"UPDATE 1-{wire.title}", wire.body_text + "\n\nMore detail.", feed_id="other")
    decided = decide(update, Snapshot(candidates=[candidate(wire)]))
    assert isinstance(decided, Plan) and (decided.verdict, decided.reason) == (Verdict.NEW_VERSION, "wire_update")


def test_a_weak_match_from_the_same_feed_is_not_taken_for_an_edit(shared_dir: Path) -> None:
    near = NearDup(NearDupConfig(same_feed_threshold=1.0))
    article = stories.syndicated(shared_dir)
    snapshot = Snapshot(candidates=[candidate(stories.variant(shared_dir), same_feed=True)])
    decided = plan(article, near.fingerprint(article), snapshot, near)
    assert isinstance(decided, Plan) and decided.verdict is Verdict.NEW and decided.story_id == article.story_id


def test_the_same_item_again_with_new_content_is_a_new_version_of_its_story(shared_dir: Path) -> None:
    decided = decide(stories.other_iraq_story(), Snapshot(item_story="story-9",
                                                          claims={"item": ("a0", "story-9")}))
    assert isinstance(decided, Plan) and (decided.verdict, decided.story_id) == (Verdict.NEW_VERSION, "story-9")
    assert ("item", stories.other_iraq_story().story_id) not in decided.claims


def test_exact_content_of_another_article_is_a_duplicate() -> None:
    article = stories.other_iraq_story()
    decided = decide(article, Snapshot(claims={"content": ("other", "story-2")}))
    assert isinstance(decided, Decision) and (decided.verdict, decided.reason) == (Verdict.DUPLICATE, "same_content")


def test_a_new_story_claims_its_fingerprints_and_band_keys_in_order() -> None:
    article = stories.other_iraq_story()
    decided = decide(article, Snapshot())
    assert isinstance(decided, Plan) and decided.verdict is Verdict.NEW
    assert [kind for kind, _ in decided.claims] == ["content", "item"]
    assert decided.bands == sorted(decided.bands)
    lsh = [band for band in decided.bands if band[0] != ANCHOR_BAND]
    anchors = [band for band in decided.bands if band[0] == ANCHOR_BAND]
    assert len(lsh) == NEAR.config.bands and 1 <= len(anchors) <= 30  # about one 8-word run in ten


def test_settings_that_cannot_work_are_refused() -> None:
    with pytest.raises(ValueError, match="bands"):
        NearDupConfig(bands=64, rows=3)
    with pytest.raises(ValueError, match="threshold"):
        NearDupConfig(threshold=0.0)


def anchored(article: Article, *, story: str = "story-1", same_feed: bool = False,
             with_lead: bool = True) -> Candidate:
    """The candidate an anchor shared with ``article`` brings, as the store reads it."""
    fingerprint = NEAR.fingerprint(article)
    assert fingerprint.signature is not None
    return Candidate(story, "first-article", fingerprint.signature, 1, same_feed,
                     lead=fingerprint.lead if with_lead else None, anchored=True)


def test_an_excerpt_from_another_outlet_joins_the_story_it_is_cut_from(shared_dir: Path) -> None:
    full, excerpt = stories.wire(shared_dir), stories.excerpt(shared_dir)
    full_print, excerpt_print = NEAR.fingerprint(full), NEAR.fingerprint(excerpt)
    assert full_print.signature and excerpt_print.signature
    similarity = minhash.jaccard(full_print.signature, excerpt_print.signature)
    assert similarity < NEAR.config.threshold  # too little alike overall: only containment finds it
    anchors = {band for band in full_print.bands if band[0] == ANCHOR_BAND}
    assert anchors & {band for band in excerpt_print.bands if band[0] == ANCHOR_BAND}
    match = NEAR.best_match(excerpt_print, [anchored(full)])
    assert match is not None and match.contained and match.similarity == similarity
    reverse = NEAR.best_match(full_print, [anchored(excerpt)])  # the full text arriving after its excerpt
    assert reverse is not None and reverse.contained


def test_containment_is_not_asked_of_an_outlets_own_texts_or_of_unanchored_candidates(shared_dir: Path) -> None:
    full, excerpt = stories.wire(shared_dir), NEAR.fingerprint(stories.excerpt(shared_dir))
    unanchored = dataclasses.replace(anchored(full), anchored=False)
    for candidate in (anchored(full, same_feed=True), anchored(full, with_lead=False), unanchored):
        assert NEAR.best_match(excerpt, [candidate]) is None


def test_a_similar_text_wins_over_an_excerpt_match(shared_dir: Path) -> None:
    copy = NEAR.fingerprint(stories.variant(shared_dir))
    near = candidate(stories.wire(shared_dir), story="story-z")
    match = NEAR.best_match(copy, [anchored(stories.excerpt(shared_dir), story="story-a"), near])
    assert match is not None and (match.story_id, match.contained) == ("story-z", False)


def test_a_story_quoting_one_sentence_of_another_stays_apart(shared_dir: Path) -> None:
    wire, quoting = NEAR.fingerprint(stories.wire(shared_dir)), NEAR.fingerprint(stories.quoting_story(shared_dir))
    assert {b for b in wire.bands if b[0] == ANCHOR_BAND} & {b for b in quoting.bands if b[0] == ANCHOR_BAND}
    assert NEAR.best_match(quoting, [anchored(stories.wire(shared_dir))]) is None


def test_containment_estimates_the_share_of_the_smaller_set_inside_the_larger() -> None:
    assert containment(1.0, 50, 50) == pytest.approx(1.0)
    assert containment(0.1, 60, 600) == pytest.approx(1.0)  # J = 60 / 600: all of the small one inside
    assert containment(0.0, 60, 540) == 0.0
    short = ["one", "two", "three"]
    assert anchor_keys(short, minhash.shingles(short, 3)) == ()  # shorter than a run
    words = [f"w{n}" for n in range(100)]

    def anchors(lead: list[str]) -> set[tuple[int, int]]:
        return set(anchor_keys(lead, minhash.shingles(lead, 3)))

    assert anchors(words) == anchors(words) and anchors(words[10:60]) <= anchors(words)  # a passage's, anywhere


def test_excerpt_matching_can_be_switched_off(shared_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                             tmp_path: Path) -> None:
    monkeypatch.setenv("WIREFEED_DEDUP_EXCERPTS", "false")
    db = Database(f"sqlite:///{tmp_path / 'dedup.db'}")
    near = NormalizerSettings().dedup_store(db).near
    db.close()
    full, excerpt = near.fingerprint(stories.wire(shared_dir)), near.fingerprint(stories.excerpt(shared_dir))
    assert full.lead is None and not [band for band in full.bands if band[0] == ANCHOR_BAND]
    assert full.signature is not None and len(full.bands) == NEAR.config.bands
    candidate = Candidate("story-1", "a", full.signature, 1, False, anchored=True)
    assert near.best_match(excerpt, [candidate]) is None
