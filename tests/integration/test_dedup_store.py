"""The dedup store on real SQLite and real PostgreSQL: exact dedup, story grouping, versions, cancel,
restarts, purge, and two replicas racing on copies of one story."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from pathlib import Path

import psycopg
import pytest

from schemas import Article, PubStatus
from services.core.config import SessionOptions
from services.core.db import TRANSIENT_ERRORS, Database
from services.normalizer import dedup
from services.normalizer.dedup import Decision, DedupStore, Snapshot, Verdict
from tests.helpers import count_transactions, in_thread, wait_for
from tests.unit.dedup import stories
from tests.unit.dedup.stories import T0


@pytest.fixture
def store(database_url: str) -> Iterator[DedupStore]:
    store = DedupStore(Database(database_url))
    store.migrate()
    yield store
    store.db.close()


def test_a_new_article_is_new_and_its_repeat_a_duplicate(store: DedupStore, shared_dir: Path) -> None:
    article = stories.wire(shared_dir)
    assert store.decide(article, T0).verdict is Verdict.NEW
    assert store.decide(article, T0).verdict is Verdict.REDELIVERED  # not yet marked published
    store.mark_published([article.id])
    repeat = store.decide(article, T0)
    assert (repeat.verdict, repeat.reason, repeat.publish) == (Verdict.DUPLICATE, "repeat", False)


def test_the_same_content_from_another_feed_is_an_exact_duplicate(store: DedupStore, shared_dir: Path) -> None:
    first = stories.wire(shared_dir)
    store.decide(first, T0)
    same = stories.make(5, first.title, first.body_text, feed_id="elsewhere")
    decision = store.decide(same, T0)
    assert (decision.verdict, decision.reason, decision.duplicate_of) == (Verdict.DUPLICATE, "same_content", first.id)


def test_a_url_owned_by_another_story_is_a_duplicate(store: DedupStore, shared_dir: Path) -> None:
    url = "https://example.com/iraq"
    store.decide(stories.make(1, "One", stories.OTHER_IRAQ_STORY[1], url=url, item="a"), T0)
    decision = store.decide(stories.make(2, "Two", "Something else entirely.", url=url, item="b"), T0)
    assert (decision.verdict, decision.reason) == (Verdict.DUPLICATE, "same_url")


@pytest.mark.parametrize("one_liner_first", [True, False])
def test_a_pages_full_text_is_not_dropped_for_an_aggregators_line_claiming_its_url_first(
        store: DedupStore, shared_dir: Path, one_liner_first: bool) -> None:
    url = "https://www.reuters.com/world/middle-east/iraq-us-agree-talks-2024-01-25/"
    wire = stories.wire(shared_dir)
    full = stories.make(1, wire.title, wire.body_text, feed_id="reuters", url=url)
    one_liner = stories.make(2, wire.title + " - Reuters", "Iraq and the US agree to start talks on the coalition.",
                             feed_id="google-news", url=url)
    first, second = (one_liner, full) if one_liner_first else (full, one_liner)
    started = store.decide(first, T0)
    decision = store.decide(second, T0 + timedelta(minutes=1))
    if one_liner_first:
        assert (decision.verdict, decision.reason) == (Verdict.NEW_VERSION, "fuller_text")
        assert (decision.article.story_id, decision.article.version) == (started.article.story_id, 2)
    else:
        assert (decision.verdict, decision.reason) == (Verdict.DUPLICATE, "same_url")


def test_a_live_blogs_entries_linked_by_fragment_are_not_one_url(store: DedupStore, shared_dir: Path) -> None:
    # Their links differ only by "#block-n", so their canonical URL is one: every entry after the first
    # was dropped as "same_url".
    page = "https://www.theguardian.com/world/live/2026/dec/01/ukraine-war-live"
    entries = [stories.make(n, title, body, feed_id="guardian-live", url=f"{page}#block-{n}")
               for n, (title, body) in enumerate([("Kyiv hit overnight", stories.OTHER_IRAQ_STORY[1]),
                                                  ("Zelenskiy in Oslo", "Talks with Nordic leaders on air defence.")])]
    assert [store.decide(entry, T0).verdict for entry in entries] == [Verdict.NEW, Verdict.NEW]
    again = stories.make(3, "Zelenskiy in Oslo, updated", "A repost of the page itself.", feed_id="elsewhere",
                         url=page)
    over_http = stories.make(4, "Another text", "The first entry's page over http.", feed_id="mirror",
                             url=f"{page.replace('https', 'http')}#block-0")
    assert store.decide(again, T0).verdict is Verdict.NEW
    assert (store.decide(over_http, T0).reason, store.decide(over_http, T0).duplicate_of) == ("same_url",
                                                                                            entries[0].id)


def test_the_seed_and_a_syndicated_variant_get_one_story_id(store: DedupStore, shared_dir: Path) -> None:
    original = store.decide(stories.syndicated(shared_dir), T0)
    copy = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=5))
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=9))
    assert original.verdict is Verdict.NEW
    assert copy.verdict is Verdict.COPY and wire.verdict is Verdict.COPY and copy.publish
    story = original.article.story_id
    assert copy.article.story_id == wire.article.story_id == story
    assert copy.article.duplicate_of == wire.article.duplicate_of == original.article.id
    assert copy.article.similarity is not None and 0.35 <= copy.article.similarity < 1.0
    assert copy.article.version == original.article.version == 1


def test_a_different_iraq_story_of_the_same_day_stays_apart(store: DedupStore, shared_dir: Path) -> None:
    first = store.decide(stories.wire(shared_dir), T0)
    other = store.decide(stories.other_iraq_story(), T0 + timedelta(minutes=1))
    assert other.verdict is Verdict.NEW and other.article.story_id != first.article.story_id
    assert other.article.duplicate_of is None and other.article.similarity is None


@pytest.mark.parametrize("excerpt_first", [False, True])
def test_an_excerpt_from_another_outlet_and_its_full_text_are_one_story(store: DedupStore, shared_dir: Path,
                                                                        excerpt_first: bool) -> None:
    full, excerpt = stories.wire(shared_dir), stories.excerpt(shared_dir)
    first, second = (excerpt, full) if excerpt_first else (full, excerpt)
    earlier = store.decide(first, T0)
    later = store.decide(second, T0 + timedelta(minutes=3))
    assert (earlier.verdict, later.verdict, later.reason) == (Verdict.NEW, Verdict.COPY, "excerpt")
    assert later.article.story_id == earlier.article.story_id
    assert later.article.duplicate_of == earlier.article.id
    assert later.article.similarity is not None and later.article.similarity < 0.35


def test_an_excerpt_from_the_same_outlet_and_a_quoting_story_stay_apart(store: DedupStore,
                                                                        shared_dir: Path) -> None:
    full = store.decide(stories.wire(shared_dir), T0)
    own_excerpt = store.decide(stories.excerpt(shared_dir, feed_id="reuters"), T0 + timedelta(minutes=1))
    quoting = store.decide(stories.quoting_story(shared_dir), T0 + timedelta(minutes=2))
    assert own_excerpt.verdict is Verdict.NEW and quoting.verdict is Verdict.NEW
    assert len({full.article.story_id, own_excerpt.article.story_id, quoting.article.story_id}) == 3


def test_articles_indexed_before_leads_are_not_matched_as_excerpts(store: DedupStore, shared_dir: Path) -> None:
    full = store.decide(stories.wire(shared_dir), T0)
    with store.db.transaction() as tx:  # as migration 0004 leaves the rows it found
        tx.execute("UPDATE dedup_articles SET lead_signature = NULL, lead_shingles = NULL WHERE article_id = ?",
                   (full.article.id,))
    excerpt = store.decide(stories.excerpt(shared_dir), T0 + timedelta(minutes=1))
    assert excerpt.verdict is Verdict.NEW and excerpt.article.story_id != full.article.story_id


def test_versions_are_numbered_across_edits_and_refiles(store: DedupStore, shared_dir: Path) -> None:
    wire = stories.wire(shared_dir)
    first = store.decide(wire, T0)
    edited = stories.make(2, wire.title, wire.body_text + "\n\nAdds comment from the Pentagon.",
                          feed_id="reuters", item="L1N3EF0ZZ")  # same item id, new content
    second = store.decide(edited, T0 + timedelta(minutes=3))
    refile = stories.make(8, f"UPDATE 2-{wire.title}", wire.body_text + "\n\nAdds U.S. reaction.",
                          feed_id="wire-mirror", item="refile")
    third = store.decide(refile, T0 + timedelta(minutes=6))
    assert [d.verdict for d in (first, second, third)] == [Verdict.NEW, Verdict.NEW_VERSION, Verdict.NEW_VERSION]
    assert [d.article.version for d in (first, second, third)] == [1, 2, 3]
    assert {d.article.story_id for d in (first, second, third)} == {first.article.story_id}


def test_an_edit_of_a_copy_is_a_new_version_of_the_grouped_story(store: DedupStore, shared_dir: Path) -> None:
    original = store.decide(stories.wire(shared_dir), T0)
    variant = stories.variant(shared_dir)
    store.decide(variant, T0 + timedelta(minutes=1))
    edited = stories.make(3, variant.title + " (corrected)", variant.body_text.replace("2,500", "2,600"),
                          feed_id=variant.feed_id, item="iraq-us-talks")
    decision = store.decide(edited, T0 + timedelta(minutes=2))
    assert decision.verdict is Verdict.NEW_VERSION
    assert (decision.article.story_id, decision.article.version) == (original.article.story_id, 2)


def test_a_cancel_marks_the_story_and_later_articles_inherit_it(store: DedupStore, shared_dir: Path) -> None:
    wire = stories.wire(shared_dir)
    store.decide(wire, T0)
    kill = stories.make(2, wire.title, "This story has been withdrawn.", feed_id="reuters", item="L1N3EF0ZZ",
                        pubstatus=PubStatus.CANCELED)
    canceled = store.decide(kill, T0 + timedelta(minutes=1))
    copy = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=2))
    assert canceled.verdict is Verdict.NEW_VERSION and canceled.article.pubstatus is PubStatus.CANCELED
    assert copy.verdict is Verdict.COPY and copy.article.pubstatus is PubStatus.CANCELED
    redelivered = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=3))
    assert redelivered.verdict is Verdict.REDELIVERED and redelivered.article.pubstatus is PubStatus.CANCELED


def test_a_version_arriving_after_a_later_one_keeps_its_wire_number(store: DedupStore, shared_dir: Path) -> None:
    # Numbered by arrival, AP's v3 delivered after v4 became v4, and the sink showed its older text as the
    # story's latest.
    wire = stories.wire(shared_dir)
    texts = {n: wire.body_text + "".join(f"\n\nAdds detail {k}." for k in range(2, n + 1)) for n in (1, 2, 3, 4)}
    numbered = {}
    for n in (1, 2, 4, 3):
        article = stories.make(n, wire.title, texts[n], feed_id="ap", item="urn:ap:123", minutes=n, version=n)
        numbered[n] = store.decide(article, T0 + timedelta(minutes=n)).article.version
    assert numbered == {1: 1, 2: 2, 3: 3, 4: 4}
    edit = stories.make(5, wire.title, texts[4] + "\n\nAn edit with no number.", feed_id="ap", item="urn:ap:123")
    assert store.decide(edit, T0 + timedelta(minutes=9)).article.version == 5


def test_a_late_version_whose_number_is_taken_is_counted_on(store: DedupStore, shared_dir: Path) -> None:
    wire = stories.wire(shared_dir)
    for n, version in enumerate((1, 1, 4)):  # an edit without a number took 2
        edit = wire.body_text + f"\n\nEdit {n}." * n
        store.decide(stories.make(n, wire.title, edit, feed_id="ap", item="urn:ap:9", version=version),
                     T0 + timedelta(minutes=n))
    late = stories.make(5, wire.title, wire.body_text + "\n\nThe wire's own v2.", feed_id="ap", item="urn:ap:9",
                        version=2)
    assert store.decide(late, T0 + timedelta(minutes=5)).article.version == 5


@pytest.mark.parametrize("same_item", [True, False])
def test_an_original_arriving_after_its_own_numbered_update_takes_version_1_below_the_latest(
        store: DedupStore, shared_dir: Path, same_item: bool) -> None:
    # Counted on as an edit, the unprefixed original became version 3: the sink showed it as the latest.
    wire = stories.wire(shared_dir)
    update_item = "L1N3EF0ZZ" if same_item else "L1N3EF0ZZ-1"
    update = store.decide(stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                                       feed_id="reuters", item=update_item, version=2), T0)
    original = store.decide(stories.make(2, wire.title, wire.body_text, feed_id="reuters", item="L1N3EF0ZZ",
                                         minutes=4), T0 + timedelta(minutes=4))
    assert (update.verdict, update.article.version) == (Verdict.NEW, 2)
    assert (original.verdict, original.reason, original.publish) == (Verdict.NEW_VERSION, "late_original", True)
    assert (original.article.story_id, original.article.version) == (update.article.story_id, 1)
    assert store.db.query("SELECT latest_version, latest_article_id FROM dedup_stories WHERE story_id = ?",
                          (update.article.story_id,)) == [(2, update.article.id)]
    second = stories.make(5, "UPDATE 2-" + wire.title, wire.body_text + "\n\nTalks begin Monday in Baghdad.",
                          feed_id="reuters", item="L1N3EF0ZZ-2", minutes=9, version=3)
    assert store.decide(second, T0 + timedelta(minutes=9)).article.version == 3


def _sink_latest(decisions: list[Decision]) -> Decision:
    """The article the sink shows as its story's latest: the first stored of the highest version."""
    return max(reversed(decisions), key=lambda decision: decision.article.version)


def test_an_original_text_whose_version_1_is_taken_shares_it_and_leaves_the_wire_its_numbers(
        store: DedupStore, shared_dir: Path) -> None:
    # It took the lowest free number (2), the slot of the wire's own UPDATE 1: that, arriving late, was
    # counted on to 4 and shown as the latest, over UPDATE 2.
    wire = stories.wire(shared_dir)
    first = store.decide(wire, T0)
    update_2 = store.decide(stories.make(4, "UPDATE 2-" + wire.title,
                                         wire.body_text + "\n\nTalks begin Monday in Baghdad.", feed_id="reuters",
                                         item="L1N3EF0ZZ-2", minutes=1, version=3), T0 + timedelta(minutes=1))
    fixed = store.decide(stories.make(2, wire.title, wire.body_text.replace("have agreed", "agreed", 1),
                                      feed_id="reuters", item="L1N3EF0ZZ", minutes=4), T0 + timedelta(minutes=4))
    update_1 = store.decide(stories.make(5, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                                         feed_id="reuters", item="L1N3EF0ZZ-1", minutes=5, version=2),
                            T0 + timedelta(minutes=5))
    assert (first.article.version, update_2.reason, update_2.article.version) == (1, "wire_update", 3)
    assert (fixed.reason, fixed.article.story_id, fixed.article.version) == \
        ("late_original", first.article.story_id, 1)
    assert (update_1.reason, update_1.article.version) == ("wire_update", 2)
    assert _sink_latest([first, update_2, fixed, update_1]) is update_2
    assert store.db.query("SELECT latest_version, latest_article_id FROM dedup_stories WHERE story_id = ?",
                          (first.article.story_id,)) == [(3, update_2.article.id)]


def test_an_original_text_with_no_number_free_below_the_latest_does_not_become_the_latest(
        store: DedupStore, shared_dir: Path) -> None:
    # With 1 and 2 taken it was counted on to 3: the older text shown as the story's latest.
    wire = stories.wire(shared_dir)
    first = store.decide(wire, T0)
    update_1 = store.decide(stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                                         feed_id="reuters", item="L1N3EF0ZZ-1", minutes=1, version=2),
                            T0 + timedelta(minutes=1))
    fixed = store.decide(stories.make(2, wire.title, wire.body_text.replace("have agreed", "agreed", 1),
                                      feed_id="reuters", item="L1N3EF0ZZ", minutes=4), T0 + timedelta(minutes=4))
    assert (fixed.verdict, fixed.reason, fixed.article.version, fixed.publish) == \
        (Verdict.NEW_VERSION, "late_original", 1, True)
    assert _sink_latest([first, update_1, fixed]) is update_1


def test_a_kill_after_a_numbered_update_is_the_storys_latest(store: DedupStore, shared_dir: Path) -> None:
    wire = stories.wire(shared_dir)
    store.decide(stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                              feed_id="reuters", item="L1N3EF0ZZ", version=2), T0)
    kill = store.decide(stories.make(2, wire.title, "This story has been withdrawn.", feed_id="reuters",
                                     item="L1N3EF0ZZ", minutes=5, pubstatus=PubStatus.CANCELED),
                        T0 + timedelta(minutes=5))
    assert (kill.verdict, kill.reason, kill.article.version) == (Verdict.NEW_VERSION, "edit", 3)
    assert kill.article.pubstatus is PubStatus.CANCELED


@pytest.mark.parametrize(("latest", "wire_version", "expected"),
                         [(1, 1, 2), (3, 1, 4), (2, 4, 4), (4, 3, 3), (4, 4, 5), (4, 5, 5), (2, 2, 3)])
def test_the_next_version_counts_on_unless_the_wire_numbers_it(latest: int, wire_version: int,
                                                                expected: int) -> None:
    assert dedup.next_version(latest, wire_version) == expected


RELEASES = {"killed": {"pubstatus": PubStatus.CANCELED}, "withheld": {"pubstatus": PubStatus.WITHHELD},
            "embargoed": {"embargoed_until": T0 + timedelta(hours=6)}}


@pytest.mark.parametrize("release", sorted(RELEASES))
@pytest.mark.parametrize("same_item", [True, False])
def test_the_wire_resending_its_text_under_another_status_is_a_new_version(
        store: DedupStore, shared_dir: Path, release: str, same_item: bool) -> None:
    # The text is unchanged, so it was dropped as a repeat: a kill never reached the sink.
    wire = store.decide(stories.wire(shared_dir), T0)
    store.mark_published([wire.article.id])
    item = "L1N3EF0ZZ" if same_item else "L1N3EF0ZZ-kill"
    resent = stories.make(2, wire.article.title, wire.article.body_text, feed_id="reuters", item=item,
                          minutes=5, **RELEASES[release])  # type: ignore[arg-type]
    decision = store.decide(resent, T0 + timedelta(minutes=5))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.NEW_VERSION, "status_change", True)
    assert (decision.article.story_id, decision.article.version) == (wire.article.story_id, 2)
    store.mark_published([resent.id])
    assert store.decide(resent, T0 + timedelta(minutes=6)).reason == "repeat"
    later_copy = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=7))
    assert (later_copy.article.pubstatus is PubStatus.CANCELED) == (release == "killed")


@pytest.mark.parametrize("undo", ["released", "reverted"])
def test_a_text_its_item_sent_before_sent_again_after_a_change_is_a_new_version(
        store: DedupStore, shared_dir: Path, undo: str) -> None:
    # The text and status of version 1 again gave version 1's id, dropped as a repeat: a withheld story
    # stayed withheld for every reader, an undone edit stayed done.
    wire = stories.wire(shared_dir)
    first = stories.make(1, wire.title, wire.body_text, feed_id="ap", item="rail")
    if undo == "released":
        change = stories.make(1, wire.title, wire.body_text, feed_id="ap", item="rail", minutes=1,
                              pubstatus=PubStatus.WITHHELD)
    else:
        change = stories.make(1, wire.title, wire.body_text + "\n\nA paragraph taken back.", feed_id="ap",
                              item="rail", minutes=1)
    again = stories.make(1, wire.title, wire.body_text, feed_id="ap", item="rail", minutes=2)
    for article, minutes in ((first, 0), (change, 1)):
        store.mark_published([store.decide(article, T0 + timedelta(minutes=minutes)).article.id])
    decision = store.decide(again, T0 + timedelta(minutes=2))
    assert (decision.verdict, decision.reason, decision.article.version) == (Verdict.NEW_VERSION, "restored", 3)
    assert decision.article.id not in (first.id, change.id)  # the sink stores it
    assert decision.article.pubstatus is PubStatus.USABLE
    redelivered = store.decide(again, T0 + timedelta(minutes=3))
    assert (redelivered.verdict, redelivered.article.id) == (Verdict.REDELIVERED, decision.article.id)
    store.mark_published([decision.article.id])
    assert store.decide(again, T0 + timedelta(minutes=3)).reason == "repeat"
    replayed = store.decide(first, T0 + timedelta(minutes=4))  # the old message read again: old fetch time
    assert (replayed.verdict, replayed.reason, replayed.article.id) == (Verdict.DUPLICATE, "repeat", first.id)
    once_more = stories.make(1, wire.title, wire.body_text, feed_id="ap", item="rail", minutes=5)
    assert store.decide(once_more, T0 + timedelta(minutes=5)).reason == "repeat"  # the latest text already


def test_an_item_sent_again_unchanged_after_a_wire_update_moved_its_story_on_is_a_repeat(
        store: DedupStore, shared_dir: Path) -> None:
    # Read as a restore, the original's older text became the story's latest, above the update.
    wire = stories.wire(shared_dir)
    store.mark_published([store.decide(wire, T0).article.id])
    update = stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=3)
    store.mark_published([store.decide(update, T0 + timedelta(minutes=3)).article.id])
    again = stories.make(2, wire.title, wire.body_text, feed_id="reuters", item="L1N3EF0ZZ", minutes=10)
    decision = store.decide(again, T0 + timedelta(minutes=10))
    assert (decision.verdict, decision.reason) == (Verdict.DUPLICATE, "repeat")


def test_an_item_sent_again_unchanged_after_the_window_is_a_repeat(store: DedupStore, shared_dir: Path) -> None:
    # The remembered story made it a new version with version 1's id: consumers upserting by id rewrote v1.
    wire = stories.wire(shared_dir)
    store.mark_published([store.decide(wire, T0).article.id])
    store.purge(T0 + timedelta(days=8))
    again = stories.make(2, wire.title, wire.body_text, feed_id="reuters", item="L1N3EF0ZZ", minutes=8 * 24 * 60)
    decision = store.decide(again, T0 + timedelta(days=8))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.DUPLICATE, "repeat", False)


@pytest.mark.parametrize("fetched_again", ["as_before", "after_the_story_moved_on"])
def test_an_item_sent_again_with_a_middle_versions_text_after_the_window_is_a_repeat(
        store: DedupStore, shared_dir: Path, fetched_again: str) -> None:
    # Neither the story's first nor its latest, it was remembered by nothing: a new version under version 2's
    # id, which the sink, holding that id already, did not store.
    wire = stories.wire(shared_dir)
    texts = [wire.body_text + "".join(f"\n\nAdds detail {k}." for k in range(n)) for n in range(3)]
    for n, text in enumerate(texts):
        edit = stories.make(2, wire.title, text, feed_id="reuters", item="L1N3EF0ZZ", minutes=n)
        store.mark_published([store.decide(edit, T0 + timedelta(minutes=n)).article.id])
    store.purge(T0 + timedelta(days=8))
    minutes = 1 if fetched_again == "as_before" else 8 * 24 * 60
    middle = stories.make(2, wire.title, texts[1], feed_id="reuters", item="L1N3EF0ZZ", minutes=minutes)
    decision = store.decide(middle, T0 + timedelta(days=8))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.DUPLICATE, "repeat", False)
    assert store.decide(stories.other_iraq_story(), T0 + timedelta(days=8)).verdict is Verdict.NEW


def test_articles_published_before_0009_are_remembered_past_the_window(store: DedupStore,
                                                                       shared_dir: Path) -> None:
    # 0009 made dedup_published empty: a middle version published before the upgrade, sent again after the
    # window, was a new version again under the id the sink holds.
    wire = stories.wire(shared_dir)
    texts = [wire.body_text + "".join(f"\n\nAdds detail {k}." for k in range(n)) for n in range(3)]
    for n, text in enumerate(texts):
        edit = stories.make(2, wire.title, text, feed_id="reuters", item="L1N3EF0ZZ", minutes=n)
        store.mark_published([store.decide(edit, T0 + timedelta(minutes=n)).article.id])
    with store.db.transaction() as tx:  # back to the schema of 0008, with those articles published
        tx.execute("DROP TABLE dedup_published")
        tx.execute("DELETE FROM schema_migrations WHERE component = 'normalizer' AND version = 9")
    store.migrate()
    assert store.db.query("SELECT COUNT(*) FROM dedup_published") == [(3,)]
    store.purge(T0 + timedelta(days=8))
    middle = stories.make(2, wire.title, texts[1], feed_id="reuters", item="L1N3EF0ZZ", minutes=1)
    decision = store.decide(middle, T0 + timedelta(days=8))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.DUPLICATE, "repeat", False)


def test_an_item_that_joined_another_story_sent_again_after_the_window_is_a_repeat(
        store: DedupStore, shared_dir: Path) -> None:
    # Its own item's story was never made (it joined the original's), so nothing remembered its id: a new
    # story under an id the sink holds already.
    wire = stories.wire(shared_dir)
    store.mark_published([store.decide(wire, T0).article.id])
    update = stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=3, version=2)
    store.mark_published([store.decide(update, T0 + timedelta(minutes=3)).article.id])
    store.purge(T0 + timedelta(days=8))
    decision = store.decide(update, T0 + timedelta(days=8))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.DUPLICATE, "repeat", False)


def test_purge_forgets_published_texts_with_their_story(store: DedupStore, shared_dir: Path) -> None:
    store.mark_published([store.decide(stories.wire(shared_dir), T0).article.id])
    store.purge(T0 + timedelta(days=8))
    assert store.db.query("SELECT COUNT(*) FROM dedup_published") == [(1,)]
    store.purge(T0 + dedup.STORY_MEMORY_WINDOWS * store.window + timedelta(seconds=1))
    assert store.db.query("SELECT COUNT(*) FROM dedup_published") == [(0,)]


def test_another_outlet_repeating_the_text_killed_does_not_kill_the_story(store: DedupStore,
                                                                         shared_dir: Path) -> None:
    wire = store.decide(stories.wire(shared_dir), T0)
    theirs = stories.make(3, wire.article.title, wire.article.body_text, feed_id="harbor-times",
                          item="iraq", pubstatus=PubStatus.CANCELED)
    decision = store.decide(theirs, T0 + timedelta(minutes=1))
    assert (decision.verdict, decision.reason) == (Verdict.DUPLICATE, "same_content")
    assert store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=2)).article.pubstatus is PubStatus.USABLE


def test_an_outlet_resending_its_copy_killed_withdraws_that_copy(store: DedupStore, shared_dir: Path) -> None:
    wire = store.decide(stories.wire(shared_dir), T0)
    store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=1))
    theirs = stories.variant(shared_dir)
    takedown = stories.make(3, theirs.title, theirs.body_text, feed_id=theirs.feed_id, item="iraq-us-talks",
                            minutes=2, pubstatus=PubStatus.CANCELED)
    withdrawn = store.decide(takedown, T0 + timedelta(minutes=2))
    assert (withdrawn.verdict, withdrawn.reason) == (Verdict.COPY, "copy_withdrawn")
    assert withdrawn.article.story_id == wire.article.story_id
    update = stories.make(4, "UPDATE 1-" + wire.article.title, wire.article.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=3)
    assert store.decide(update, T0 + timedelta(minutes=3)).article.pubstatus is PubStatus.USABLE


def test_an_outlet_withdrawing_its_copy_withdraws_that_copy_not_the_story(store: DedupStore,
                                                                           shared_dir: Path) -> None:
    wire = store.decide(stories.wire(shared_dir), T0)
    withdrawn = stories.variant(shared_dir).model_copy(update={"pubstatus": PubStatus.CANCELED})
    copy = store.decide(withdrawn, T0 + timedelta(minutes=1))
    assert copy.verdict is Verdict.COPY and copy.article.story_id == wire.article.story_id
    assert copy.article.pubstatus is PubStatus.CANCELED  # the outlet's own copy stays withdrawn
    theirs = stories.variant(shared_dir)
    later = store.decide(stories.make(5, theirs.title.replace("Harbor Times", "Bay Courier"),
                                      theirs.body_text.replace("Harbor Times", "Bay Courier"),
                                      feed_id="bay-courier", item="iraq-talks", minutes=2), T0 + timedelta(minutes=2))
    update = stories.make(4, "UPDATE 1-" + wire.article.title, wire.article.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=3)
    version = store.decide(update, T0 + timedelta(minutes=3))
    assert later.verdict is Verdict.COPY and later.article.pubstatus is PubStatus.USABLE
    assert version.verdict is Verdict.NEW_VERSION and version.article.pubstatus is PubStatus.USABLE


def test_an_outlet_taking_down_its_published_copy_takes_down_that_copy_not_the_story(
        store: DedupStore, shared_dir: Path) -> None:
    # The copy was grouped first, then its outlet sent the same item again, withdrawn: that was read as an
    # edit of the whole story (a new version), and the kill spread to the wire's story and its updates.
    wire = store.decide(stories.wire(shared_dir), T0)
    copy = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=1))
    takedown = stories.make(6, copy.article.title, "This article has been removed.", feed_id="harbor-times",
                            item="iraq-us-talks", minutes=5, pubstatus=PubStatus.CANCELED)
    withdrawn = store.decide(takedown, T0 + timedelta(minutes=5))
    assert copy.verdict is Verdict.COPY
    assert withdrawn.verdict is Verdict.COPY and withdrawn.article.story_id == wire.article.story_id
    assert withdrawn.article.pubstatus is PubStatus.CANCELED and withdrawn.article.version == 1
    update = stories.make(4, "UPDATE 1-" + wire.article.title, wire.article.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=9)
    version = store.decide(update, T0 + timedelta(minutes=9))
    assert version.verdict is Verdict.NEW_VERSION and version.article.pubstatus is PubStatus.USABLE
    assert version.article.version == 2


def test_a_new_store_on_the_same_database_keeps_the_index(database_url: str, shared_dir: Path) -> None:
    first = DedupStore(Database(database_url))
    first.migrate()
    original = first.decide(stories.wire(shared_dir), T0)
    first.db.close()
    restarted = DedupStore(Database(database_url))
    restarted.migrate()
    copy = restarted.decide(stories.variant(shared_dir), T0 + timedelta(hours=1))
    restarted.db.close()
    assert copy.verdict is Verdict.COPY and copy.article.story_id == original.article.story_id


def test_purge_forgets_stories_older_than_the_window(store: DedupStore, shared_dir: Path) -> None:
    store.decide(stories.wire(shared_dir), T0)
    assert store.purge(T0 + timedelta(days=1)) == 0
    assert store.purge(T0 + store.window + timedelta(seconds=1)) > 0
    for table in ("dedup_fingerprints", "dedup_articles", "dedup_bands"):
        assert store.db.query(f"SELECT COUNT(*) FROM {table}") == [(0,)]
    assert store.db.query("SELECT COUNT(*) FROM dedup_stories") == [(1,)]  # its version counter, for edits
    later = store.decide(stories.variant(shared_dir), T0 + timedelta(days=8))
    assert later.verdict is Verdict.NEW
    assert store.purge(T0 + dedup.STORY_MEMORY_WINDOWS * store.window + timedelta(days=9)) > 0
    for table in ("dedup_fingerprints", "dedup_articles", "dedup_bands", "dedup_stories"):
        assert store.db.query(f"SELECT COUNT(*) FROM {table}") == [(0,)]


def test_an_item_edited_after_the_window_goes_on_counting_its_storys_versions(store: DedupStore,
                                                                              shared_dir: Path) -> None:
    # Its claims purged, the edit was a new story under the same story id, at version 1 again: the sink,
    # keeping the highest version as the latest, showed the text before the correction.
    wire = stories.wire(shared_dir)
    first = store.decide(wire, T0)
    store.decide(stories.make(2, wire.title, wire.body_text + "\n\nAdds comment.", feed_id="reuters",
                              item="L1N3EF0ZZ"), T0 + timedelta(hours=1))
    store.purge(T0 + timedelta(days=8))
    correction = stories.make(2, wire.title, wire.body_text + "\n\nCorrects paragraph 2.", feed_id="reuters",
                              item="L1N3EF0ZZ", pubstatus=PubStatus.CANCELED)
    decision = store.decide(correction, T0 + timedelta(days=8))
    assert (decision.verdict, decision.reason, decision.publish) == (Verdict.NEW_VERSION, "edit_after_window", True)
    assert (decision.article.story_id, decision.article.version) == (first.article.story_id, 3)
    assert decision.article.pubstatus is PubStatus.CANCELED
    again = store.decide(correction, T0 + timedelta(days=8, minutes=1))
    assert again.verdict is Verdict.REDELIVERED and again.article.version == 3


def test_a_purge_goes_in_short_batches_and_reports_progress_after_each(store: DedupStore,
                                                                       shared_dir: Path) -> None:
    store.decide(stories.wire(shared_dir), T0)
    rows = sum(store.db.query(f"SELECT COUNT(*) FROM {table}")[0][0]
               for table in ("dedup_fingerprints", "dedup_articles", "dedup_bands", "dedup_stories"))
    batches: list[int] = []
    removed = store.purge(T0 + dedup.STORY_MEMORY_WINDOWS * store.window + timedelta(seconds=1), batch_rows=10,
                          progress=lambda: batches.append(len(batches)))
    assert removed == rows > 40
    assert len(batches) >= rows // 10  # one transaction (and one heartbeat) per batch of 10
    for table in ("dedup_fingerprints", "dedup_articles", "dedup_bands", "dedup_stories"):
        assert store.db.query(f"SELECT COUNT(*) FROM {table}") == [(0,)]


def _batch(shared_dir: Path) -> list[Article]:
    """Everything a batch can hold at once: a story, its copies, an exact duplicate, another story, a repeat."""
    first = stories.syndicated(shared_dir)
    return [first, stories.variant(shared_dir), stories.wire(shared_dir), stories.other_iraq_story(),
            stories.make(5, first.title, first.body_text, feed_id="elsewhere"), first]


def _outcome(decisions: list[Decision]) -> list[tuple[object, ...]]:
    return [(d.verdict, d.reason, d.duplicate_of, d.article.story_id, d.article.version) for d in decisions]


def test_a_batch_is_decided_in_one_transaction_as_one_by_one_decisions_would_be(database_url: str,
                                                                                 shared_dir: Path) -> None:
    one_by_one, batched = (DedupStore(Database(database_url)) for _ in range(2))
    one_by_one.migrate()
    try:
        expected = [one_by_one.decide(article, T0) for article in _batch(shared_dir)]
        one_by_one.purge(T0 + timedelta(days=30))  # the second store starts from an empty index
        transactions = count_transactions(batched.db)
        decided = batched.decide_batch(_batch(shared_dir), T0)
    finally:
        one_by_one.db.close()
        batched.db.close()
    assert transactions == [1]
    assert _outcome(decided) == _outcome(expected)
    assert [d.verdict for d in decided] == [Verdict.NEW, Verdict.COPY, Verdict.COPY, Verdict.NEW,
                                            Verdict.DUPLICATE, Verdict.REDELIVERED]


def test_an_empty_batch_costs_no_transaction(store: DedupStore) -> None:
    transactions = count_transactions(store.db)
    assert store.decide_batch([], T0) == []
    assert transactions == [0]


def test_a_batch_that_loses_a_claim_is_decided_again_one_article_at_a_time(store: DedupStore, shared_dir: Path,
                                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    """As if another replica committed the story between this batch's read and its claims."""
    rival = stories.syndicated(shared_dir)
    store.decide(rival, T0)
    stale_reads = [Snapshot()]  # the first read of the batch sees the database before the rival's commit
    real_read = dedup.read
    monkeypatch.setattr(dedup, "read", lambda tx, article, fingerprint: stale_reads.pop() if stale_reads
                        else real_read(tx, article, fingerprint))
    other = stories.other_iraq_story()
    transactions = count_transactions(store.db)
    decided = store.decide_batch([stories.make(7, rival.title, rival.body_text, feed_id="elsewhere"), other], T0)
    assert transactions == [1 + 2]  # the batch, rolled back; then one per article
    assert (decided[0].verdict, decided[0].reason, decided[0].duplicate_of) == \
        (Verdict.DUPLICATE, "same_content", rival.id)
    assert decided[1].verdict is Verdict.NEW
    assert store.decide(other, T0).verdict is Verdict.REDELIVERED  # decided once, nothing left from the batch



def test_migrations_are_idempotent(store: DedupStore) -> None:
    store.migrate()
    assert store.db.migrate("normalizer", "services.normalizer") == []


@pytest.mark.postgres
def test_two_replicas_racing_on_copies_of_one_story_end_with_one_story_id(postgres_url: str,
                                                                          shared_dir: Path) -> None:
    replicas = [DedupStore(Database(postgres_url)) for _ in range(2)]
    replicas[0].migrate()
    try:
        for round_ in range(8):  # several rounds: the interleaving differs each time
            copies = [_copy(shared_dir, round_, f"outlet-{round_}-{side}", title_suffix)
                      for side, title_suffix in (("a", ""), ("b", " (Reuters)"))]
            decisions = _race(replicas, copies, T0 + timedelta(days=round_))
            assert len({d.article.story_id for d in decisions}) == 1, f"round {round_}"
            assert sorted(d.verdict for d in decisions) == sorted([Verdict.NEW, Verdict.COPY])
            replicas[0].purge(T0 + timedelta(days=round_ + 30))
    finally:
        for replica in replicas:
            replica.db.close()


@pytest.mark.postgres
def test_two_replicas_deciding_batches_of_the_same_stories_in_opposite_orders_end_with_one_story_each(
        postgres_url: str, shared_dir: Path) -> None:
    """Each replica's batch claims one story's keys, then wants the other's: a deadlock or a lost claim."""
    replicas = [DedupStore(Database(postgres_url)) for _ in range(2)]
    replicas[0].migrate()
    try:
        for round_ in range(4):
            seed = [_copy(shared_dir, round_, f"outlet-{round_}-{side}", suffix) for side, suffix in (("a", ""),
                                                                                                  ("b", " (Reuters)"))]
            other = [stories.make(100 + round_, f"Speaker vote {round_}{side}", stories.OTHER_IRAQ_STORY[1],
                                  feed_id=f"outlet-{round_}-{side}", item=f"speaker-{round_}") for side in "ab"]
            batches = [[seed[0], other[0]], [other[1], seed[1]]]
            decided = _race_batches(replicas, batches, T0 + timedelta(days=round_))
            for one, two in ((decided[0][0], decided[1][1]), (decided[0][1], decided[1][0])):  # the same story
                assert one.article.story_id == two.article.story_id, f"round {round_}"
                assert sorted((one.verdict, two.verdict)) == sorted([Verdict.NEW, Verdict.COPY])
            replicas[0].purge(T0 + timedelta(days=round_ + 30))
    finally:
        for replica in replicas:
            replica.db.close()


def _race_batches(replicas: list[DedupStore], batches: list[list[Article]], now: datetime) -> list[list[Decision]]:
    barrier = threading.Barrier(len(replicas))
    decided: dict[int, list[Decision]] = {}

    def run(index: int) -> None:
        barrier.wait()
        decided[index] = replicas[index].decide_batch(batches[index], now)

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(replicas))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(decided) == len(replicas)
    return [decided[index] for index in range(len(replicas))]


def _copy(shared_dir: Path, round_: int, feed_id: str, title_suffix: str) -> Article:
    """A fresh item per round, so that each round starts from nothing."""
    variant = stories.variant(shared_dir)
    return stories.make(round_, variant.title + title_suffix, variant.body_text, feed_id=feed_id,
                        item=f"round-{round_}", minutes=round_)


def _race(replicas: list[DedupStore], copies: list[Article], now: datetime) -> list[Decision]:
    """Each replica decides its copy on its own connection, released at the same instant."""
    barrier = threading.Barrier(len(replicas))
    decisions: list[Decision] = []

    def run(replica: DedupStore, article: Article) -> None:
        barrier.wait()
        decisions.append(replica.decide(article, now))

    threads = [threading.Thread(target=run, args=pair) for pair in zip(replicas, copies, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert len(decisions) == len(replicas)
    return decisions


@pytest.mark.postgres
def test_a_replica_frozen_mid_batch_does_not_hold_the_others_up(postgres_url: str, shared_dir: Path) -> None:
    """A replica stopped (SIGSTOP, a paused VM) between two statements of its batch keeps the keys it
    claimed locked; the server ends its session, the other replica decides the same article, and the
    frozen one, once it runs again, gets a transient error and a new session."""
    frozen = DedupStore(Database(postgres_url, session=SessionOptions(idle_in_transaction_timeout=1)))
    other = DedupStore(Database(postgres_url))
    frozen.migrate()
    article = stories.wire(shared_dir)
    try:
        with pytest.raises(TRANSIENT_ERRORS), frozen.db.transaction() as tx:
            frozen._decide(tx, article, frozen.near.fingerprint(article), T0)  # claimed, not committed
            decided = in_thread(lambda: other.decide(article, T0), timeout=30)
            assert decided.verdict is Verdict.NEW
        assert frozen.decide(article, T0).verdict is Verdict.REDELIVERED  # what the other replica claimed
    finally:
        frozen.db.close()
        other.db.close()


@pytest.mark.postgres
def test_a_replica_waiting_on_a_locked_claim_gives_up_with_a_transient_error(postgres_url: str,
                                                                               shared_dir: Path) -> None:
    """Waiting on another live replica's long transaction ends in a retry, not a blocked poll loop."""
    holder = DedupStore(Database(postgres_url))
    waiter = DedupStore(Database(postgres_url, session=SessionOptions(lock_timeout=0.5)))
    holder.migrate()
    article = stories.wire(shared_dir)
    try:
        with holder.db.transaction() as tx:
            holder._decide(tx, article, holder.near.fingerprint(article), T0)
            with pytest.raises(psycopg.errors.LockNotAvailable):
                in_thread(lambda: waiter.decide_batch([article], T0), timeout=30)
        assert waiter.decide(article, T0).verdict is Verdict.REDELIVERED
    finally:
        holder.db.close()
        waiter.db.close()



# -- a kill from an agency's own wire (the feeds file's agency: mark) ----------------------------------------

REUTERS_WIRE = "Reuters"  # the mark on the feed the wire copy comes from (stories.wire: feed "reuters")


def _killed(article: Article, *, notice: bool, minutes: int, pubstatus: PubStatus = PubStatus.CANCELED,
            agency: str | None = None) -> Article:
    """The item sent again killed: its text as it was, or replaced by a kill notice."""
    body = "This story has been withdrawn. Please delete it from your systems." if notice else article.body_text
    killed = stories.make(9, article.title, body, feed_id=article.feed_id, item=article.item_id.split(":", 1)[1],
                          minutes=minutes, pubstatus=pubstatus)
    return killed.model_copy(update={"agency": agency})


def _another_outlet(shared_dir: Path, minutes: int) -> Article:
    theirs = stories.variant(shared_dir)
    return stories.make(5, theirs.title.replace("Harbor Times", "Bay Courier"),
                        theirs.body_text.replace("Harbor Times", "Bay Courier"), feed_id="bay-courier",
                        item="iraq-talks", minutes=minutes)


@pytest.mark.parametrize("agency", [None, "Reuters", "Thomson Reuters"])  # the kill names no agency, or its own
@pytest.mark.parametrize("notice", [False, True])
def test_the_agency_s_own_kill_cancels_the_story_an_outlet_s_copy_began(
        store: DedupStore, shared_dir: Path, notice: bool, agency: str | None) -> None:
    # The outlet's republished copy came first and owned the story; the wire's own item joined it as a copy,
    # so its kill withdrew that copy alone, and the story and later copies stayed usable.
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    assert wire.verdict is Verdict.COPY and wire.article.story_id == outlet.article.story_id
    kill = store.decide(_killed(wire.article, notice=notice, minutes=2, agency=agency), T0 + timedelta(minutes=2),
                        feed_agency=REUTERS_WIRE)
    assert (kill.verdict, kill.reason) == (Verdict.NEW_VERSION, "agency_status")
    assert (kill.article.story_id, kill.article.version) == (outlet.article.story_id, 2)  # the story's latest
    assert kill.article.pubstatus is PubStatus.CANCELED
    later = store.decide(_another_outlet(shared_dir, 3), T0 + timedelta(minutes=3))
    assert later.verdict is Verdict.COPY and later.article.pubstatus is PubStatus.CANCELED


@pytest.mark.parametrize("notice", [False, True])
def test_without_the_mark_the_agency_s_kill_withdraws_its_copy_alone_as_before(
        store: DedupStore, shared_dir: Path, notice: bool) -> None:
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=1))
    kill = store.decide(_killed(wire.article, notice=notice, minutes=2), T0 + timedelta(minutes=2))
    assert (kill.verdict, kill.reason) == (Verdict.COPY, "copy_withdrawn")
    assert (kill.article.story_id, kill.article.pubstatus) == (outlet.article.story_id, PubStatus.CANCELED)
    later = store.decide(_another_outlet(shared_dir, 3), T0 + timedelta(minutes=3))
    assert later.verdict is Verdict.COPY and later.article.pubstatus is PubStatus.USABLE


def test_a_marked_wire_s_kill_of_another_agency_s_story_withdraws_its_copy_alone(store: DedupStore,
                                                                                  shared_dir: Path) -> None:
    # Reuters' wire carrying AFP's story: no Reuters kill of a Reuters story, so nothing to extend.
    store.decide(stories.variant(shared_dir), T0)
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    kill = store.decide(_killed(wire.article, notice=True, minutes=2, agency="AFP"), T0 + timedelta(minutes=2),
                        feed_agency=REUTERS_WIRE)
    assert (kill.verdict, kill.reason) == (Verdict.COPY, "copy_withdrawn")
    assert store.decide(_another_outlet(shared_dir, 3), T0 + timedelta(minutes=3)).article.pubstatus \
        is PubStatus.USABLE


def test_an_unmarked_outlet_s_takedown_of_a_story_the_marked_wire_began_withdraws_its_copy_alone(
        store: DedupStore, shared_dir: Path) -> None:
    wire = store.decide(stories.wire(shared_dir), T0, feed_agency=REUTERS_WIRE)
    copy = store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=1))
    takedown = store.decide(_killed(copy.article, notice=True, minutes=2, agency="Reuters"), T0 + timedelta(minutes=2))
    assert (takedown.verdict, takedown.reason) == (Verdict.COPY, "copy_withdrawn")
    assert takedown.article.story_id == wire.article.story_id
    update = stories.make(4, "UPDATE 1-" + wire.article.title, wire.article.body_text + "\n\nTalks begin Monday.",
                          feed_id="reuters", item="L1N3EF0ZZ-1", minutes=3)
    version = store.decide(update, T0 + timedelta(minutes=3), feed_agency=REUTERS_WIRE)
    assert version.verdict is Verdict.NEW_VERSION and version.article.pubstatus is PubStatus.USABLE


@pytest.mark.parametrize(("mark", "expected", "later_status"), [
    (REUTERS_WIRE, (Verdict.NEW_VERSION, "agency_status"), PubStatus.CANCELED),
    (None, (Verdict.COPY, "near_duplicate"), PubStatus.USABLE),  # as before: a copy sent withdrawn
])
def test_the_agency_s_kill_of_an_item_first_seen_killed_follows_the_mark(
        store: DedupStore, shared_dir: Path, mark: str | None, expected: tuple[Verdict, str],
        later_status: PubStatus) -> None:
    # The wire's item was never seen usable (polled only once the kill was out): it arrives a near-duplicate.
    outlet = store.decide(stories.variant(shared_dir), T0)
    kill = store.decide(stories.wire(shared_dir).model_copy(update={"pubstatus": PubStatus.CANCELED}),
                        T0 + timedelta(minutes=1), feed_agency=mark)
    assert ((kill.verdict, kill.reason), kill.article.story_id) == (expected, outlet.article.story_id)
    assert kill.article.pubstatus is PubStatus.CANCELED
    assert store.decide(_another_outlet(shared_dir, 2), T0 + timedelta(minutes=2)).article.pubstatus is later_status


def test_the_agency_s_hold_of_an_item_first_seen_held_becomes_the_story_s_latest(store: DedupStore,
                                                                                 shared_dir: Path) -> None:
    outlet = store.decide(stories.variant(shared_dir), T0)
    held = store.decide(stories.wire(shared_dir).model_copy(update={"pubstatus": PubStatus.WITHHELD}),
                        T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    assert (held.verdict, held.reason) == (Verdict.NEW_VERSION, "agency_status")
    assert (held.article.story_id, held.article.version) == (outlet.article.story_id, 2)
    assert held.article.pubstatus is PubStatus.WITHHELD


@pytest.mark.parametrize(("mark", "verdict", "reason"), [
    (REUTERS_WIRE, Verdict.NEW_VERSION, "agency_status"),
    (None, Verdict.DUPLICATE, "same_content"),  # as before: the kill is another outlet's repeat of the text
])
def test_the_agency_s_kill_of_the_very_text_an_outlet_carried_first_follows_the_mark(
        store: DedupStore, shared_dir: Path, mark: str | None, verdict: Verdict, reason: str) -> None:
    wire = stories.wire(shared_dir)
    outlet = store.decide(stories.make(3, wire.title, wire.body_text, feed_id="harbor-times", item="iraq"), T0)
    repeat = store.decide(wire, T0 + timedelta(minutes=1), feed_agency=mark)
    assert (repeat.verdict, repeat.reason) == (Verdict.DUPLICATE, "same_content")
    kill = store.decide(_killed(wire, notice=False, minutes=2), T0 + timedelta(minutes=2), feed_agency=mark)
    assert (kill.verdict, kill.reason) == (verdict, reason)
    if verdict is Verdict.NEW_VERSION:
        assert (kill.article.story_id, kill.article.pubstatus) == (outlet.article.story_id, PubStatus.CANCELED)


def test_the_agency_s_kill_of_its_text_an_outlet_first_sent_killed_still_cancels_the_story(
        store: DedupStore, shared_dir: Path) -> None:
    # The outlet's copy of the wire's very text, sent killed, was a copy withdrawn alone; it claimed the text,
    # so the agency's own kill of it, with the same status, read as that outlet's repeat.
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = stories.wire(shared_dir)
    withdrawn = store.decide(stories.make(3, wire.title, wire.body_text, feed_id="bay-courier", item="iraq",
                                          pubstatus=PubStatus.CANCELED), T0 + timedelta(minutes=1))
    assert (withdrawn.verdict, withdrawn.article.story_id) == (Verdict.COPY, outlet.article.story_id)
    kill = store.decide(_killed(wire, notice=False, minutes=2), T0 + timedelta(minutes=2), feed_agency=REUTERS_WIRE)
    assert (kill.verdict, kill.reason, kill.article.story_id) == (Verdict.NEW_VERSION, "agency_status",
                                                                  outlet.article.story_id)
    assert store.decide(_another_outlet(shared_dir, 3), T0 + timedelta(minutes=3)).article.pubstatus \
        is PubStatus.CANCELED


NOTICE = "This story has been withdrawn. Please delete it from your systems."


def _wire_kill(wire: Article, feed_id: str, minutes: int) -> Article:
    """The wire's kill notice as one of the agency's feeds carries it (its item id counts the feed)."""
    return stories.make(9, wire.title, NOTICE, feed_id=feed_id, item="L1N3EF0ZZ", minutes=minutes,
                        pubstatus=PubStatus.CANCELED)


@pytest.mark.parametrize("mark", [REUTERS_WIRE, None])
def test_the_same_kill_from_two_feeds_of_one_agency_is_published_once(store: DedupStore, shared_dir: Path,
                                                                      mark: str | None) -> None:
    # Both feeds' copies of the wire item joined the outlet's story; with the mark, each feed's identical kill
    # was the story's next version (the other feed's claim read as "not its own repeat"): v2, then v3.
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = stories.wire(shared_dir)
    for minutes, feed in ((1, "reuters-world"), (1, "reuters-top")):
        copy = stories.make(2, wire.title, wire.body_text + ("\n\n(Reuters)" if feed == "reuters-top" else ""),
                            feed_id=feed, item="L1N3EF0ZZ", minutes=minutes)
        assert store.decide(copy, T0 + timedelta(minutes=minutes), feed_agency=mark).verdict is Verdict.COPY
    first = store.decide(_wire_kill(wire, "reuters-world", 2), T0 + timedelta(minutes=2), feed_agency=mark)
    second = store.decide(_wire_kill(wire, "reuters-top", 3), T0 + timedelta(minutes=3), feed_agency=mark)
    assert first.publish and first.article.story_id == outlet.article.story_id
    assert (second.verdict, second.reason, second.publish) == (Verdict.DUPLICATE, "same_content", False)
    latest = 2 if mark else 1
    assert store.db.query("SELECT latest_version, canceled FROM dedup_stories WHERE story_id = ?",
                          (outlet.article.story_id,)) == [(latest, mark is not None)]


def test_a_kill_first_seen_from_one_agency_feed_is_a_repeat_from_the_other(store: DedupStore,
                                                                          shared_dir: Path) -> None:
    # The notice matches no story, so the first feed's kill begins one; the second feed's was its v2.
    store.decide(stories.variant(shared_dir), T0)
    wire = stories.wire(shared_dir)
    first = store.decide(_wire_kill(wire, "reuters-world", 2), T0 + timedelta(minutes=2), feed_agency=REUTERS_WIRE)
    store.mark_published([first.article.id])
    second = store.decide(_wire_kill(wire, "reuters-top", 3), T0 + timedelta(minutes=3), feed_agency=REUTERS_WIRE)
    assert (first.verdict, first.article.version) == (Verdict.NEW, 1)
    assert (second.verdict, second.reason, second.publish) == (Verdict.DUPLICATE, "same_content", False)
    assert store.db.query("SELECT latest_version FROM dedup_stories WHERE story_id = ?",
                          (first.article.story_id,)) == [(1,)]


# -- an outlet's takedown of a story the agency's own wire carries too ---------------------------------------

def _wire_update(wire: Article, minutes: int) -> Article:
    return stories.make(4, "UPDATE 1-" + wire.title, wire.body_text + "\n\nTalks begin Monday.", feed_id="reuters",
                        item="L1N3EF0ZZ-1", minutes=minutes)


def _story_canceled(store: DedupStore, story_id: str) -> bool:
    [(canceled,)] = store.db.query("SELECT canceled FROM dedup_stories WHERE story_id = ?", (story_id,))
    return bool(canceled)


@pytest.mark.parametrize("notice", [False, True])  # its text sent again killed, or its item's takedown notice
def test_an_outlet_taking_down_the_copy_that_began_a_story_the_agency_s_wire_carries_withdraws_that_copy_alone(
        store: DedupStore, shared_dir: Path, notice: bool) -> None:
    # The outlet's copy came first, so it was the story's original and its takedown the story's next version:
    # that canceled the story the agency's own wire still carried, and every outlet's copy with it.
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    assert wire.verdict is Verdict.COPY and wire.article.story_id == outlet.article.story_id
    takedown = store.decide(_killed(outlet.article, notice=notice, minutes=2), T0 + timedelta(minutes=2))
    assert (takedown.verdict, takedown.reason) == (Verdict.COPY, "copy_withdrawn")
    assert (takedown.article.story_id, takedown.article.version) == (outlet.article.story_id, 1)  # not the latest
    assert takedown.article.pubstatus is PubStatus.CANCELED  # the outlet's own copy stays withdrawn
    assert not _story_canceled(store, outlet.article.story_id)
    later = store.decide(_another_outlet(shared_dir, 3), T0 + timedelta(minutes=3))
    update = store.decide(_wire_update(wire.article, 4), T0 + timedelta(minutes=4), feed_agency=REUTERS_WIRE)
    assert later.verdict is Verdict.COPY and later.article.pubstatus is PubStatus.USABLE
    assert (update.verdict, update.article.version, update.article.pubstatus) == (Verdict.NEW_VERSION, 2,
                                                                                   PubStatus.USABLE)


def _carry(store: DedupStore, shared_dir: Path, carrier: str) -> None:
    """Another feed joins the outlet's story: anything but the agency's own marked wire still carrying it."""
    wire = stories.wire(shared_dir)
    if carrier == "another_outlet":
        store.decide(_another_outlet(shared_dir, 1), T0 + timedelta(minutes=1))
    elif carrier == "unmarked_wire":
        store.decide(wire, T0 + timedelta(minutes=1))
    elif carrier == "marked_wire_of_another_agency_s_story":
        store.decide(wire.model_copy(update={"agency": "AFP"}), T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    elif carrier == "marked_wire_withdrawn":  # its kill names another agency: that copy withdrawn alone
        store.decide(wire, T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
        assert store.decide(_killed(wire, notice=True, minutes=2, agency="AFP"), T0 + timedelta(minutes=2),
                            feed_agency=REUTERS_WIRE).reason == "copy_withdrawn"


@pytest.mark.parametrize("carrier", ["none", "another_outlet", "unmarked_wire", "marked_wire_of_another_agency_s_story",
                                     "marked_wire_withdrawn"])
def test_a_takedown_of_the_story_its_article_began_cancels_it_unless_the_agency_s_marked_wire_carries_it(
        store: DedupStore, shared_dir: Path, carrier: str) -> None:
    # A feed not marked may be the agency's own wire, its kill a legal kill: of the story its article began,
    # it cancels the story though others carry it (over-cancelling is the lesser harm), unless the agency's
    # own marked wire still carries it. With any other feed carrying it, it was a copy withdrawn alone.
    outlet = store.decide(stories.variant(shared_dir), T0)
    _carry(store, shared_dir, carrier)
    takedown = store.decide(_killed(outlet.article, notice=True, minutes=3), T0 + timedelta(minutes=3))
    assert (takedown.verdict, takedown.reason) == (Verdict.NEW_VERSION, "edit")
    assert takedown.article.pubstatus is PubStatus.CANCELED and _story_canceled(store, outlet.article.story_id)
    later = store.decide(_wire_update(stories.wire(shared_dir), 4), T0 + timedelta(minutes=4))
    assert later.article.story_id == outlet.article.story_id and later.article.pubstatus is PubStatus.CANCELED


@pytest.mark.parametrize("mark", [None, REUTERS_WIRE])
@pytest.mark.parametrize(("notice", "reason"), [(False, "status_change"), (True, "edit")])
def test_a_kill_from_the_wire_that_began_a_story_outlets_carry_cancels_it_marked_or_not(
        store: DedupStore, shared_dir: Path, mark: str | None, notice: bool, reason: str) -> None:
    # Unmarked, the wire's own kill of its story was taken for a takedown of its copy, as outlets carried it.
    wire = store.decide(stories.wire(shared_dir), T0, feed_agency=mark)
    assert store.decide(stories.variant(shared_dir), T0 + timedelta(minutes=1)).verdict is Verdict.COPY
    kill = store.decide(_killed(wire.article, notice=notice, minutes=2), T0 + timedelta(minutes=2), feed_agency=mark)
    assert (kill.verdict, kill.reason, kill.article.version) == (Verdict.NEW_VERSION, reason, 2)
    assert kill.article.pubstatus is PubStatus.CANCELED and _story_canceled(store, wire.article.story_id)


def test_an_outlet_taking_down_the_story_it_began_after_the_window_spares_it_for_the_agency_s_recent_copy(
        store: DedupStore, shared_dir: Path) -> None:
    # The window forgot the outlet's item, not its story, nor the copy the agency's wire sent within it.
    outlet = store.decide(stories.variant(shared_dir), T0)
    wire = store.decide(stories.wire(shared_dir), T0 + timedelta(days=6), feed_agency=REUTERS_WIRE)
    assert wire.verdict is Verdict.COPY
    store.purge(T0 + timedelta(days=8))
    takedown = store.decide(_killed(outlet.article, notice=True, minutes=0), T0 + timedelta(days=8))
    assert (takedown.verdict, takedown.reason) == (Verdict.COPY, "copy_withdrawn")
    assert takedown.article.story_id == outlet.article.story_id
    assert not _story_canceled(store, outlet.article.story_id)


def test_articles_decided_before_0010_are_not_taken_for_the_agency_s_wire(store: DedupStore,
                                                                           shared_dir: Path) -> None:
    # 0010 remembers which articles came from their agency's own wire. Those decided before it are not known
    # to: an outlet's takedown of a story it began cancels it, as it did when they were decided.
    outlet = store.decide(stories.variant(shared_dir), T0)
    store.decide(stories.wire(shared_dir), T0 + timedelta(minutes=1), feed_agency=REUTERS_WIRE)
    with store.db.transaction() as tx:  # back to the schema of 0009, with the wire's copy decided
        tx.execute("ALTER TABLE dedup_articles DROP COLUMN agency_wire")
        tx.execute("DELETE FROM schema_migrations WHERE component = 'normalizer' AND version = 10")
    store.migrate()
    takedown = store.decide(_killed(outlet.article, notice=True, minutes=2), T0 + timedelta(minutes=2))
    assert (takedown.verdict, takedown.reason) == (Verdict.NEW_VERSION, "edit")
    assert _story_canceled(store, outlet.article.story_id)


@pytest.mark.postgres
def test_an_outlet_s_takedown_racing_the_agency_s_wire_joining_its_story_spares_the_story(
        postgres_url: str, shared_dir: Path) -> None:
    """The wire's replica has joined the story, not yet committed, when the takedown is decided: the
    takedown waits for the story's row and then sees that copy, as it would had the copy come first."""
    joining, taking_down = DedupStore(Database(postgres_url)), DedupStore(Database(postgres_url))
    joining.migrate()
    try:
        outlet = joining.decide(stories.variant(shared_dir), T0)
        wire = stories.wire(shared_dir)
        with ThreadPoolExecutor(1) as pool, joining.db.transaction() as tx:
            assert joining._decide(tx, wire, joining.near.fingerprint(wire), T0, feed_agency=REUTERS_WIRE).verdict \
                is Verdict.COPY
            decided = pool.submit(taking_down.decide, _killed(outlet.article, notice=True, minutes=2),
                                  T0 + timedelta(minutes=2))
            wait_for(lambda: joining.db.query("SELECT 1 FROM pg_stat_activity WHERE datname = current_database() "
                                              "AND wait_event_type = 'Lock'"), message="the takedown waiting")
        takedown = decided.result(timeout=30)
        assert (takedown.verdict, takedown.reason) == (Verdict.COPY, "copy_withdrawn")
        assert not _story_canceled(joining, outlet.article.story_id)
    finally:
        joining.db.close()
        taking_down.db.close()
