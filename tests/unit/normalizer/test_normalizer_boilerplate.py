"""Boilerplate: the paragraph rules, and the per-source model that learns what a source repeats."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from schemas import FeedFormat, RawItem
from services.core.db import Database
from services.normalizer.boilerplate import (
    BoilerplateModel,
    paragraph_key,
    rule_kind,
    rule_matches,
    strip_tail,
)
from services.normalizer.learned import NEW_SOURCE_ITEMS, LearnedBoilerplate
from services.normalizer.normalize import normalize
from tests.helpers import corpus_items

SEED_NOTICE = [
    "You appear to be using an ad blocker",
    "Shore News Network is a free website that does not use paywalls or charge for access to original, "
    "breaking news content. In order to provide this free service, we rely on advertisements. Please "
    "support our journalism by disabling your ad blocker for this website.",
]


@pytest.mark.parametrize("paragraph", [
    "Advertisement", "ADVERTISEMENT", "Story continues below advertisement",
    "Scroll to continue with content",
    "Sign up for our newsletter", "Subscribe to The Daily Ledger's morning newsletter for the top stories.",
    "Share this:", "Share on Facebook", "Tweet | Email | Print", "Facebook Twitter LinkedIn WhatsApp",
    "Click to share on Twitter (Opens in new window)", "Follow us on Twitter and Facebook.",
    "Like this:", "Like Loading...", "Learn more", "Learn more »", "Read more: Militia attacks on U.S. bases",
    "Continue reading →",
    "The post Ferry resumes appeared first on Harbor Gazette.", "© 2024 Reuters", "Copyright 2024 Foo Media",
    "(c) 2023 Foo", "Copyright © Foo Inc.", "All rights reserved.",
    "This material may not be published, broadcast, rewritten or redistributed.",
    "Our Standards: The Thomson Reuters Trust Principles.", "Related Stories", "Related: City budget passes",
    "You may also like", "Support local journalism. Become a member today.", "Download the Ledger app",
    "This article was originally published on The Conversation.", "[…]", *SEED_NOTICE,
    "To read this article in full, please click here", "To read the full story, visit ledger.example.",
    "Sign up here to get an email whenever First Dog cartoons are published", "Sign up for email alerts.",
    "submitted by /u/llogiq", "submitted by /u/kevincox_ca to r/kevincox", "submitted by cakebeer to funny",
    "[link] [comments]", "Image credits: top Google; second Brian Shih", "Photo courtesy of the city of Oslo",
    "Photo credit: Jane Doe/Reuters", "[link] [42 comments]", "∞ Permalink", "Permalink", "★", "—", "⚓", "#",
    "[If the formatting looks odd in your feed reader, visit the original article]",
    "If this post looks broken in your RSS reader, read it on the web.",
    "If you’d like to support my work, please consider a coffee on Ko-fi.",
    "See also: Budget passes", "Tags: politics, elections", "Filed under: News", "Posted in: Uncategorized",
    "Subscribe now", "Leave a comment", "Click here to subscribe", "Already a subscriber? Log in",
    "Get the latest news delivered to your inbox.", "Want more stories like this? Subscribe to our newsletter.",
    "Thanks for reading The Ledger! Subscribe for free to receive new posts and support my work.",
    "The Ledger is a reader-supported publication. To receive new posts and support my work, consider "
    "becoming a free or paid subscriber.", "Like this article? Share it with your friends!",
    "Listen to this article · 4 min", "Loading...",
    "Please enable JavaScript to view the comments powered by Disqus.",
    "We use cookies to improve your experience on our site.",
])
def test_rules_know_common_boilerplate(paragraph: str) -> None:
    assert rule_kind(paragraph) is not None


@pytest.mark.parametrize("paragraph", [
    "Copyright holders sued the company on Tuesday.",
    "Around 40% of users use an ad blocker, the survey found.",
    "Readers who subscribe to the company's newsletter received the offer.",
    "The report may not be published until next week, officials said.",
    "Advertisement spending rose 4% last year.",
    "Share prices fell 3% on Monday.",
    "Related charges were dropped.",
    "Donate blood, officials urged residents on Monday.",
    "The company said all rights reserved by the contract would pass to the buyer, " * 8,
    "Sign up for the marathon closes on Friday, organisers said.",
    "Residents can sign up for alerts at city hall, the mayor said.",
    "The link between the two comments was unclear.", "Submitted by the council to the minister on Friday.",
    "Permalinks break when sites move.", "42", "A", "Photo books → PDF (File → Export → Export Book as PDF)",
    "Photographs by the victims' families were shown in court on Monday.", "Photos by amateurs flooded social media.",
    "Learn more about the risks before you invest, the regulator said.",
    "If you'd like to support the families, donations can be made at the town hall, the mayor said.",
    "The formatting looks odd in your feed reader because the site sends no styles, the author said.",
    "};", "}", ")", "*/", "=>", ";",  # a code block's lines, which a lone glyph's rule once took
    "Already a member of the club since 2019, Smith said he would run.",
    "Listen to the story of how the bridge fell.", "Tags on the bags showed where they came from.",
    "Loading of the ship began on Monday.", "Thanks to reading programmes, literacy rose.",
    "Subscribers will pay more from May.", "Subscribe to the idea that less is more, he said.",
    "The company said it uses cookies to track shoppers.", "Register to vote by Friday, officials urged.",
    "See the full results below.",
])
def test_rules_leave_news_alone(paragraph: str) -> None:
    assert rule_kind(paragraph) is None


def test_an_ad_blocker_notice_takes_its_following_paragraphs_along() -> None:
    paragraphs = ["Story text.", "(Credits)", *SEED_NOTICE]
    assert rule_matches(paragraphs) == {2, 3}


def test_a_notice_stops_taking_paragraphs_where_the_story_resumes() -> None:
    paragraphs = ["Ad blocker detected", "We rely on advertising to stay free.", "The mayor said ..."]
    assert rule_matches(paragraphs) == {0, 1}


def test_a_related_heading_takes_the_links_under_it_but_not_text() -> None:
    paragraphs = ["Story.", "Related Stories", "Link one", "Link two", "Back to prose."]
    density = {2: 1.0, 3: 0.9}
    assert rule_matches(paragraphs, lambda i: density.get(i, 0.0)) == {1, 2, 3}


def test_trailing_read_more_tails_are_cut() -> None:
    assert strip_tail("The council met. Read more »") == "The council met."
    assert strip_tail("Ferries run again [&hellip;]".replace("&hellip;", "…")) == "Ferries run again"
    assert strip_tail("Text. The post Text appeared first on Site.") == "Text."
    assert strip_tail("He said more would follow.") == "He said more would follow."
    assert strip_tail("I’m... [read more]") == "I’m..."
    assert strip_tail("the chance to buy a brand new just released … Read More Here →") == (
        "the chance to buy a brand new just released …")  # DC Rainmaker's summaries


def test_paragraph_keys_ignore_case_punctuation_and_spacing() -> None:
    assert paragraph_key("Subscribe  to our NEWSLETTER!") == paragraph_key("subscribe to our newsletter")
    assert paragraph_key("—") is None


def test_the_model_learns_a_paragraph_seen_in_enough_distinct_items() -> None:
    model = BoilerplateModel(min_items=3)
    promo = "Get unlimited access to the Ledger for $1 a week."
    for n in range(2):
        model.observe("ledger", [f"Story {n}.", promo], item_key=f"item-{n}")
    assert not model.is_boilerplate("ledger", promo)
    model.observe("ledger", ["Story 2.", promo], item_key="item-2")
    assert model.is_boilerplate("ledger", promo)
    assert model.is_boilerplate("ledger", "GET UNLIMITED access to the Ledger for $1 a week")
    assert not model.is_boilerplate("other-feed", promo)
    assert not model.is_boilerplate("ledger", "Story 2.")


def test_the_same_item_or_story_counts_once() -> None:
    model = BoilerplateModel(min_items=2)
    for _ in range(5):
        model.observe("ledger", ["Background paragraph repeated by every update."], item_key="story-1")
    assert not model.is_boilerplate("ledger", "Background paragraph repeated by every update.")


def test_a_paragraph_repeated_inside_one_item_counts_once() -> None:
    model = BoilerplateModel(min_items=2)
    model.observe("ledger", ["Advert.", "Advert.", "advert"])
    assert not model.is_boilerplate("ledger", "Advert.")


def test_memory_is_bounded_per_source_and_in_sources() -> None:
    model = BoilerplateModel(min_items=2, max_paragraphs=10, max_keys=5, max_sources=3)
    for n in range(100):
        model.observe(f"feed-{n % 4}", [f"p{n}-{i}" for i in range(7)], item_key=f"k{n}")
    state = model.to_dict()
    assert len(state["sources"]) == 3
    for source in state["sources"].values():
        assert len(source["counts"]) <= 10
        assert len(source["keys"]) <= 5


def test_memory_is_bounded_as_a_whole_and_sources_share_it() -> None:
    model = BoilerplateModel(min_items=3, max_entries=60_000)
    footer = "Copyright 2024 The Ledger. All rights reserved."
    for n in range(150):  # 150 outlets, 150 items each: twelve paragraphs of story and the footer
        for outlet in range(150):
            story = [f"Outlet {outlet} story {n} paragraph {p}" for p in range(12)]
            model.observe(f"outlet-{outlet}", [*story, footer], item_key=f"{outlet}-{n}")
    sizes = [len(s["counts"]) + len(s["keys"]) for s in model.to_dict()["sources"].values()]
    assert model.entries == sum(sizes) <= 60_000  # unbounded, each source would hold 1,951 + 150
    assert max(sizes) <= 60_000 // 150
    assert all(model.is_boilerplate(f"outlet-{outlet}", footer) for outlet in range(150))  # still learned


def test_a_state_saved_under_larger_bounds_is_cut_down_on_load() -> None:
    model = BoilerplateModel(min_items=2)
    for n in range(40):
        model.observe(f"f{n % 4}", [f"story {n} p{p}" for p in range(30)] + ["Footer"], item_key=str(n))
    state = model.to_dict()
    assert model.entries == 4 * (10 + 10 * 31 - 9)  # ten keys, 301 distinct paragraphs per source
    smaller = BoilerplateModel.from_dict({**state, "max_entries": 800})
    assert smaller.entries <= 800 and all(len(s["counts"]) <= 160 for s in smaller.to_dict()["sources"].values())
    assert all(smaller.is_boilerplate(f"f{n}", "Footer") for n in range(4))  # most recently seen: kept
    assert smaller.source_state("f0") == smaller.to_dict()["sources"]["f0"]
    assert smaller.source_state("unknown") is None


def test_least_recently_seen_paragraphs_are_forgotten_first() -> None:
    model = BoilerplateModel(min_items=2, max_paragraphs=3)
    model.observe("f", ["old", "kept"])
    model.observe("f", ["old", "kept"])
    assert model.is_boilerplate("f", "old")
    model.observe("f", ["kept", "new one"])
    model.observe("f", ["kept", "new two"])
    assert not model.is_boilerplate("f", "old")
    assert model.is_boilerplate("f", "kept")


def test_the_model_round_trips_through_json() -> None:
    model = BoilerplateModel(min_items=2, max_paragraphs=50)
    for n in range(3):
        model.observe("f", [f"Story {n}", "Footer"], item_key=str(n))
    restored = BoilerplateModel.from_dict(json.loads(json.dumps(model.to_dict())))
    assert restored.to_dict() == model.to_dict()
    assert restored.is_boilerplate("f", "Footer")
    restored.observe("f", ["Story 9", "Footer"], item_key="0")  # remembered key: not counted again
    counts = dict(map(tuple, model.to_dict()["sources"]["f"]["counts"]))
    assert dict(map(tuple, restored.to_dict()["sources"]["f"]["counts"])) == counts


def test_an_unknown_state_format_is_refused() -> None:
    with pytest.raises(ValueError, match="format"):
        BoilerplateModel.from_dict({"format": 99})
    with pytest.raises(ValueError, match="min_items"):
        BoilerplateModel(min_items=1)


def _raw(n: int, paragraphs: list[str]) -> RawItem:
    return RawItem(
        item_id=f"ledger:{n}", feed_id="ledger", feed_url="https://ledger.example/rss", format=FeedFormat.RSS,
        fetched_at=datetime(2024, 1, 1, tzinfo=UTC), content_hash="0", title=f"Story {n}",
        content_html="".join(f"<p>{p}</p>" for p in paragraphs),
    )


def test_normalize_removes_what_the_model_learned_from_text_and_html() -> None:
    model = BoilerplateModel(min_items=3)
    promo = "Get unlimited access to the Ledger for $1 a week."
    now = datetime(2024, 1, 2, tzinfo=UTC)
    for n in range(3):
        article = normalize(_raw(n, [f"News {n} happened.", f"Details {n}.", promo]), now, boilerplate=model)
        assert promo in article.body_text  # not learned yet while it is being observed
        model.observe("ledger", article.body_text.split("\n\n"), item_key=article.story_id)
    article = normalize(_raw(9, ["News 9 happened.", "Details 9.", promo]), now, boilerplate=model)
    assert article.body_text == "News 9 happened.\n\nDetails 9."
    assert "unlimited access" not in article.body_html


def test_normalize_keeps_an_item_the_model_would_mostly_remove() -> None:
    model = BoilerplateModel(min_items=2)
    repeated = ["The same story again.", "Word for word."]
    for n in range(3):
        model.observe("ledger", repeated, item_key=str(n))
    article = normalize(_raw(5, repeated), datetime(2024, 1, 2, tzinfo=UTC), boilerplate=model)
    assert article.body_text == "The same story again.\n\nWord for word."


def test_a_story_paragraph_after_a_mid_story_prompt_stays() -> None:
    paragraphs = ["Sign up for our newsletter", "The company said subscribers would pay $2 more a month."]
    assert rule_matches(paragraphs) == {0}


# The same kinds of boilerplate as sites in German, French, Spanish, Italian, Portuguese and Dutch print them.
@pytest.mark.parametrize("paragraph", [
    "Anzeige", "WERBUNG", "Weiterlesen", "Mehr zum Thema", "Lesen Sie auch:", "Das könnte Sie auch interessieren",
    "Teilen | Drucken", "Folgen Sie uns auf Twitter", "Jetzt den Newsletter abonnieren!",
    "Der Beitrag Fähren fahren wieder erschien zuerst auf Hafenblatt.", "© 2024 dpa. Alle Rechte vorbehalten",
    "Sie verwenden offenbar einen Adblocker", "Bitte deaktivieren Sie Ihren Werbeblocker für diese Seite.",
    "Publicité", "Lire la suite", "À lire aussi", "Partager", "Abonnez-vous à notre newsletter",
    "L’article Les ferries reprennent est apparu en premier sur La Gazette.", "Tous droits réservés.",
    "Vous utilisez un bloqueur de publicité",
    "Publicidad", "Seguir leyendo", "Noticias relacionadas", "Compartir", "Suscríbete a nuestro boletín",
    "La entrada Vuelven los ferris se publicó primero en El Puerto.", "Todos los derechos reservados.",
    "Estás usando un bloqueador de anuncios",
    "Pubblicità", "Continua a leggere", "Leggi anche", "Condividi", "Iscriviti alla nostra newsletter",
    "L'articolo Tornano i traghetti proviene da Il Porto.", "Tutti i diritti riservati",
    "Stai usando un AdBlocker",
    "Publicidade", "Leia mais", "Leia também", "Compartilhar", "Assine a nossa newsletter",
    "O post Balsas voltam apareceu primeiro em O Porto.", "Todos os direitos reservados.",
    "Você está usando um bloqueador de anúncios",
    "Advertentie", "Lees ook", "Delen", "Schrijf je in voor onze nieuwsbrief",
    "Het bericht Veerboten varen weer verscheen eerst op De Haven.", "Alle rechten voorbehouden",
    "Lesen Sie auch: Bundestag beschließt Gesetz", "Wir verwenden Cookies, um unser Angebot zu verbessern.",
    "Lire aussi : Le gouvernement annonce un plan", "Nous utilisons des cookies pour mesurer l’audience.",
    "Lee también: El Gobierno aprueba la ley", "Utilizamos cookies propias y de terceros.",
    "Leggi anche: Il governo approva", "Utilizziamo i cookie per migliorare il sito.",
    "Veja também: Petrobras anuncia lucro", "Lees ook: Kabinet valt", "Wij gebruiken cookies.",
])
def test_rules_know_boilerplate_in_other_languages(paragraph: str) -> None:
    assert rule_kind(paragraph) is not None


@pytest.mark.parametrize("paragraph", [
    "Die Werbung für das neue Modell lief seit Januar, sagte ein Sprecher.",
    "Mehr als 200 Menschen mussten ihre Häuser verlassen.",
    "Die Anzeige gegen den Bürgermeister wurde am Montag zurückgezogen.",
    "Le marché de la publicité a reculé de 4 % l'an dernier.",
    "La empresa dijo que sus suscriptores pagarán dos euros más al mes.",
    "Il gruppo ha condiviso i dati con la procura, ha detto il portavoce.",
    "Os leitores que assinam a newsletter receberam a oferta, disse a empresa.",
    "De krant meldde dat alle rechten op de film zijn verkocht aan een Amerikaanse studio.",
])
def test_rules_leave_news_in_other_languages_alone(paragraph: str) -> None:
    assert rule_kind(paragraph) is None


def test_a_german_ad_blocker_notice_takes_its_following_paragraphs_along() -> None:
    paragraphs = ["Die Fähre fährt wieder.", "Sie verwenden offenbar einen Adblocker",
                  "Wir finanzieren unseren Journalismus durch Werbung. Bitte unterstützen Sie uns.",
                  "Der Hafen bleibt bis Freitag gesperrt."]
    assert rule_matches(paragraphs) == {1, 2}


@pytest.mark.parametrize(("paragraph", "kept"), [
    ("Der Rat tagte. Weiterlesen »", "Der Rat tagte."),
    ("O conselho reuniu-se. Leia mais (09/24/2018 - 19h22)", "O conselho reuniu-se."),
    ("Il consiglio si è riunito. Continua a leggere", "Il consiglio si è riunito."),
    ("Text. Der Beitrag Text erschien zuerst auf Hafenblatt.", "Text."),
    ("Il disse que não mais voltaria.", "Il disse que não mais voltaria."),
])
def test_trailing_tails_in_other_languages_are_cut(paragraph: str, kept: str) -> None:
    assert strip_tail(paragraph) == kept


def test_uol_items_lose_their_leia_mais_tails() -> None:
    # Real feed: a UOL Notícias description ends in "Leia mais (date - time)".
    now = datetime(2024, 1, 2, tzinfo=UTC)
    items = corpus_items("rss-parser/test/input/uolNoticias.rss", now)
    assert any("Leia mais" in (item.content_html or item.summary_html or "") for item in items)
    for item in items:
        article = normalize(item, now)
        assert "Leia mais" not in article.body_text
        assert not article.published_at_estimated  # "Seg, 24 Set 2018 19:42:40 -0300" is read
        # the story itself stays; one description is only a byline ("Por Matt Spetalnick e Jason Szep")
        assert article.body_text or not (item.content_html or item.summary_html) or article.byline


def test_an_italian_leggi_anche_block_goes_with_its_link() -> None:
    html = ("<p>Il remake ha avuto successo tra gli amanti del videogioco.</p><p>Leggi anche</p>"
            "<p><a href='https://ex.it/zodiaco'>I Cavalieri dello Zodiaco diventeranno un film</a></p>"
            "<p>Tornando al remake, il titolo provvisorio è noto.</p>")
    raw = _raw(1, []).model_copy(update={"content_html": html})
    article = normalize(raw, datetime(2024, 1, 2, tzinfo=UTC))
    assert article.body_text == ("Il remake ha avuto successo tra gli amanti del videogioco.\n\n"
                                 "Tornando al remake, il titolo provvisorio è noto.")


@pytest.mark.parametrize(("feed", "footer"), [
    ("netnewswire/Modules/RSParser/Tests/RSParserTests/Resources/macworld.rss", "To read this article in full"),
    ("rss-parser/test/input/content-encoded.rss", "on Medium, where people are continuing the conversation"),
])
def test_real_feed_footers_are_removed(feed: str, footer: str) -> None:
    now = datetime(2024, 1, 2, tzinfo=UTC)
    with_footer = [item for item in corpus_items(feed, now) if footer in (item.content_html or item.summary_html or "")]
    assert with_footer
    for item in with_footer:
        article = normalize(item, now)
        assert footer not in article.body_text and footer not in (article.body_html or "")
        assert article.body_text  # the story stays


LABEL = "Medscape Medical News"  # how Medscape's feed ends every summary, in italics


def _medscape(n: int, title: str | None = None, shared: str = "") -> RawItem:
    paragraphs = [f"Finding number {n} from a trial of {n * 7} patients.", f"The trial ran for {n + 3} months.",
                  f"Dr Lee number {n} led it.", *([shared] if shared else []), f"<i>{LABEL}</i>"]
    return _raw(n, paragraphs).model_copy(update={"feed_id": "medscape", "title": title or f"Story {n}"})


def test_a_new_source_s_first_batch_loses_what_its_items_repeat(tmp_path: Path) -> None:
    raws = [_medscape(n) for n in range(6)]
    now = datetime(2024, 1, 2, tzinfo=UTC)
    learned = LearnedBoilerplate(Database(f"sqlite:///{tmp_path / 'dedup.db'}"))
    learned.learn_batch(raws[:4])  # too few items to tell
    # The model has seen nothing of the source yet: it keeps the label.
    assert [LABEL in normalize(raw, now, boilerplate=learned.model).body_text for raw in raws] == [True] * 6
    learned.learn_batch(raws)
    assert [LABEL in normalize(raw, now, boilerplate=learned.model).body_text for raw in raws] == [False] * 6
    assert LABEL not in normalize(_medscape(7), now, boilerplate=learned.model).body_text  # and later items


def test_versions_of_one_story_in_a_batch_count_as_one_item(tmp_path: Path) -> None:
    learned = LearnedBoilerplate(Database(f"sqlite:///{tmp_path / 'dedup.db'}"))
    shared = "The storm made landfall near the harbour on Tuesday night, officials said."
    raws = [_medscape(n, title=f"UPDATE {n}-Storm hits the coast", shared=shared) for n in range(6)]
    learned.learn_batch(raws)
    article = normalize(raws[5], datetime(2024, 1, 2, tzinfo=UTC), boilerplate=learned.model)
    assert shared in article.body_text  # one story's text, not something the source repeats


def test_a_source_with_a_history_is_left_to_the_learned_model(tmp_path: Path) -> None:
    learned = LearnedBoilerplate(Database(f"sqlite:///{tmp_path / 'dedup.db'}"))
    for n in range(NEW_SOURCE_ITEMS):
        learned.model.observe("medscape", [f"Item {n}."], item_key=str(n))
    learned.learn_batch([_medscape(n) for n in range(6)])
    assert LABEL in normalize(_medscape(9), datetime(2024, 1, 2, tzinfo=UTC), boilerplate=learned.model).body_text
