"""Feeds that declare no encoding and are in a legacy non-Latin, Central European, Turkish or Baltic one are
read in it.

Without detection feedparser and the fast reading fall back to windows-1252, and every such feed
became mojibake ("ëÁË ÐÅÒÅÖÉÔØ" for KOI8-R Russian, "pøíští" for Czech). Undeclared Western European
text keeps that fallback.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.poller.formats import FeedContext, parse_document
from services.poller.formats.charsets import as_utf8_if_legacy, has_high_byte_run
from services.poller.formats.rss_atom import parse_reference
from services.poller.formats.rss_fast import parse_plain_feed
from services.poller.formats.safexml import strict_parser

CTX = FeedContext(feed_id="f", feed_url="http://example.com/feed", fetched_at=datetime(2024, 1, 1, tzinfo=UTC))
CHARDET = "feedparser/tests/illformed/chardet"


def _text(item: object) -> str:
    return str(getattr(item, "title", None) or getattr(item, "summary_html", None) or "")


@pytest.mark.parametrize(("name", "starts"), [
    ("big5.xml", ""),  # its only item has neither title nor summary: the feed's title is checked below
    ("eucjp.xml", "ゲーム三昧な正月"),
    ("euckr.xml", "EUC-KR 에서 TypeKey 한글닉네임"),
    ("gb2312.xml", "不归移民漫画系列"),
    ("koi8r.xml", "Как пережить новогоднюю ночь"),
    ("shiftjis.xml", "DrecomRSSに記事投稿が反映されない"),
    ("tis620.xml", "สำนักงานส่งเสริมอุตสาหกรรม"),
    ("windows1255.xml", "האם תדפיס נייר של אתר אינטרנט"),
])
def test_an_undeclared_legacy_encoding_is_detected(name: str, starts: str, corpus: Path) -> None:
    body = (corpus / CHARDET / name).read_bytes()
    parsed = parse_document(body, CTX)
    if name == "big5.xml":
        assert (parsed.title or "").startswith("我希望")
        return
    assert _text(parsed.items[0]).startswith(starts)
    utf8 = as_utf8_if_legacy(body, None)
    plain = parse_plain_feed(utf8, None, strict_parser())
    assert plain is not None  # the fast reading serves it, and agrees with feedparser
    assert _text(parse_reference(utf8, CTX).items[0]) == _text(parsed.items[0])


def test_undeclared_latin_1_keeps_the_windows_1252_reading(corpus: Path) -> None:
    body = (corpus / "rss-parser/test/input/uolNoticias.rss").read_bytes()
    assert as_utf8_if_legacy(body, None) is body  # Portuguese: no encoding but windows-1252's is asked about
    assert parse_document(body, CTX).items[4].title == "Rival de Putin é condenado a mais 20 dias de prisão"


@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=koi8-r", "text/xml;charset=windows-1252"])
def test_a_declared_charset_is_never_second_guessed(content_type: str, corpus: Path) -> None:
    body = (corpus / CHARDET / "koi8r.xml").read_bytes()
    assert as_utf8_if_legacy(body, content_type) is body
    declared = b'<?xml version="1.0" encoding="windows-1252"?>\n' + body
    assert as_utf8_if_legacy(declared, None) is declared


def test_a_latin_guess_is_not_taken() -> None:
    body = ("<rss><channel><item><title>" + "Ça a été «très» déjà-vu: ÀÉÎÕÜ, ±½¼°. " * 20
            + "</title></item></channel></rss>").encode("cp1252")
    assert has_high_byte_run(body)  # the detector is asked; whatever it says, the text is Latin
    assert as_utf8_if_legacy(body, None) is body


CENTRAL_EUROPEAN = {
    "cs": "Vláda v pondělí schválila návrh zákona o státním rozpočtu na příští rok. Ministr financí řekl, že "
          "schodek bude nižší, než se čekalo, a že daně se zvyšovat nebudou. Opozice návrh kritizovala.",
    "pl": "Rząd przyjął w poniedziałek projekt ustawy budżetowej na przyszły rok. Minister finansów powiedział, "
          "że deficyt będzie niższy niż oczekiwano, a podatki nie wzrosną. Opozycja skrytykowała projekt.",
    "hu": "A kormány hétfőn elfogadta a jövő évi költségvetési törvény tervezetét. A pénzügyminiszter szerint "
          "a hiány kisebb lesz a vártnál, és az adók nem emelkednek.",
}
TURKISH_AND_BALTIC = {
    "tr": "Hükümet pazartesi günü gelecek yılın bütçe kanun tasarısını kabul etti. Maliye bakanı, açığın "
          "beklenenden düşük olacağını ve vergilerin artırılmayacağını söyledi. İstanbul'da yağış şiddetlendi.",
    "lt": "Vyriausybė pirmadienį pritarė ateinančių metų biudžeto įstatymo projektui. Finansų ministras sakė, "
          "kad deficitas bus mažesnis, nei tikėtasi, o mokesčiai nedidės. Opozicija projektą kritikavo.",
    "lv": "Valdība pirmdien apstiprināja nākamā gada budžeta likumprojektu. Finanšu ministrs sacīja, ka "
          "deficīts būs mazāks, nekā gaidīts, un nodokļi netiks paaugstināti. Opozīcija projektu kritizēja.",
}
ESTONIAN = ("Valitsus kiitis esmaspäeval heaks järgmise aasta eelarve seaduse eelnõu. Rahandusminister ütles, et "
            "puudujääk on oodatust väiksem ja makse ei tõsteta. Opositsioon kritiseeris eelnõu.")
WESTERN = {
    "fr": "Le gouvernement a adopté lundi le projet de loi de finances pour l'année prochaine. Le ministre a "
          "déclaré que le déficit serait plus faible que prévu et que les impôts n'augmenteraient pas.",
    "es": "El Gobierno aprobó el lunes el proyecto de ley de presupuestos para el próximo año. El ministro "
          "dijo que el déficit será menor de lo previsto y que los impuestos no subirán, señor.",
    "pt": "O governo aprovou na segunda-feira o projeto de lei orçamentária para o próximo ano. O ministro "
          "disse que o déficit será menor do que o esperado e que os impostos não vão aumentar.",
    "de": "Die Regierung hat am Montag den Entwurf des Haushaltsgesetzes für das kommende Jahr gebilligt. Der "
          "Finanzminister sagte, das Defizit werde niedriger ausfallen, und die Steuern würden nicht erhöht.",
}


def _feed(text: str, channel: str = "Zprávy") -> str:
    return (f'<?xml version="1.0"?><rss version="2.0"><channel><title>{channel}</title><item><title>{text[:60]}'
            f"</title><description>{text}</description></item></channel></rss>")


@pytest.mark.parametrize("encoding", ["cp1250", "iso8859_2"])
@pytest.mark.parametrize("language", sorted(CENTRAL_EUROPEAN))
def test_central_european_text_is_read_in_its_encoding(language: str, encoding: str) -> None:
    text = CENTRAL_EUROPEAN[language]
    body = _feed(text).encode(encoding)
    assert as_utf8_if_legacy(body, None) == _feed(text).encode()
    item = parse_document(body, CTX).items[0]
    assert item.title == text[:60].strip()
    assert item.summary_html == text


@pytest.mark.parametrize("language", sorted(WESTERN))
def test_western_european_text_keeps_windows_1252(language: str) -> None:
    body = _feed(WESTERN[language]).encode("cp1252")
    assert as_utf8_if_legacy(body, None) is body
    assert parse_document(body, CTX).items[0].summary_html == WESTERN[language]


@pytest.mark.parametrize(("language", "encoding"), [
    ("tr", "cp1254"), ("tr", "iso8859_9"),
    ("lt", "cp1257"), ("lt", "iso8859_13"), ("lt", "iso8859_4"),
    ("lv", "cp1257"), ("lv", "iso8859_13"), ("lv", "iso8859_4"),
])
def test_turkish_and_baltic_text_is_read_in_its_encoding(language: str, encoding: str) -> None:
    text = TURKISH_AND_BALTIC[language]
    body = _feed(text, "News").encode(encoding)
    assert as_utf8_if_legacy(body, None) == _feed(text, "News").encode()
    assert parse_document(body, CTX).items[0].summary_html == text


def test_iso_8859_13_quotation_marks_are_not_read_as_windows_1257() -> None:
    # The two agree on every Lithuanian letter, so CLD2 scores them alike; windows-1257 has no „ (0xa5).
    text = TURKISH_AND_BALTIC["lt"].replace("deficitas bus mažesnis", "„deficitas bus mažesnis“")
    body = _feed(text, "News").encode("iso8859_13")
    assert parse_document(body, CTX).items[0].summary_html == text


@pytest.mark.parametrize("encoding", ["cp1252", "iso8859_15"])
def test_estonian_without_sh_or_zh_keeps_windows_1252(encoding: str) -> None:
    body = _feed(ESTONIAN).encode(encoding)
    assert as_utf8_if_legacy(body, None) is body
    assert parse_document(body, CTX).items[0].summary_html == ESTONIAN


@pytest.mark.parametrize("encoding", ["cp1257", "iso8859_13", "iso8859_15", "iso8859_4", "cp1252"])
def test_estonian_is_read_in_the_encoding_its_sh_and_zh_are_written_in(encoding: str) -> None:
    # CLD2 scores the readings alike: the bytes of š and ž, signs Estonian never writes in the others, decide
    text = ESTONIAN.replace("Opositsioon", "Tšehhi žürii ja Šotimaa opositsioon") + " Garaaž põles."
    body = _feed(text, "Uudised").encode(encoding)
    assert parse_document(body, CTX).items[0].summary_html == text
