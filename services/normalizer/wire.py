"""Wire metadata written into the text of wire copy: datelines, bylines, credit lines, headline prefixes.

Everything here reads clean text (one paragraph at a time); nothing parses HTML.
"""

from __future__ import annotations

import re
from collections.abc import Container, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from services.normalizer.agencies import PROSE_ABBREVIATIONS, canonical_agency, dateline_agency
from services.normalizer.credits import (
    BYLINE_ROLES,
    TRAILING_CREDIT,
    cjk_names,
    parse_byline,
    parse_byline_paragraph,
    parse_credit_line,
    read_credit_paragraph,
)
from services.normalizer.minhash import casefold_words

__all__ = [
    "BYLINE_ROLES", "TRAILING_CREDIT", "WireText", "announces_version", "dateline_reporters", "extract",
    "is_starred_note", "numbers_version", "parse_byline", "parse_dateline", "parse_structured_dateline",
    "strip_prefixes", "without_dateline",
]

_UP = "A-ZÀ-ÖØ-ÞА-ЯЁЄІЇҐЎΑ-ΩΆΈ-ΊΌΎΏ"  # Latin, Cyrillic and Greek capitals
_WORD = rf"[{_UP}][\w.'’\-]*"
_PARTICLE = r"(?:de|da|do|del|dos|la|le|el|al|am|an|der|of|upon)"
# German places' short forms: epd's "Frankfurt a.M.", "Mülheim a.d. Ruhr", "Freiburg i.Br.".
_PLACE_ABBREVIATION = r"[aiov]\.\s?(?:d\.(?:\s?[A-ZÄÖÜ][a-zäöü]{0,2}\.)?|[A-ZÄÖÜ][a-zäöü]{0,2}\.)"
_PLACE = rf"{_WORD}(?:[ /](?:{_PARTICLE} )?(?:{_WORD}|{_PLACE_ABBREVIATION})){{0,4}}"
_DASH = r"(?:--|[-–—_])"  # AP's older copy writes "(AP) _" for the dash
_AGENCY_TEXT = r"[^\W\d_][\w .&'\-]{0,38}"
# The date a dateline carries after its place, in the languages wire copy arrives in: Reuters' "Jan 5",
# "Feb. 12, 2024", ANSA's "24 SET", AFP's "10 juil 2024", "24 de septiembre", Anadolu's "12 Ocak", TASS's
# "1 декабря", RIA Novosti's "1 дек". A month
# is any 3+ letter prefix of a month's name, so "Mar" is March but "Marseille" is not.
_MONTH_NAMES = {
    "en": "january february march april may june july august september october november december",
    "fr": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
    "es": "enero febrero marzo abril mayo junio julio agosto septiembre setiembre octubre noviembre diciembre",
    "pt": "janeiro fevereiro março abril maio junho julho agosto setembro outubro novembro dezembro",
    "it": "gennaio febbraio marzo aprile maggio giugno luglio agosto settembre ottobre novembre dicembre",
    "de": "januar februar märz april mai juni juli august september oktober november dezember",
    "nl": "januari februari maart april mei juni juli augustus september oktober november december",
    "tr": "ocak şubat mart nisan mayıs haziran temmuz ağustos eylül ekim kasım aralık",
    "ru": "января февраля марта апреля мая июня июля августа сентября октября ноября декабря",
    "uk": "січня лютого березня квітня травня червня липня серпня вересня жовтня листопада грудня",
}


def _prefixes_pattern(words: Iterable[str], shortest: int) -> str:
    """A pattern for every prefix of ``words`` at least ``shortest`` letters long, as a trie: "jan(?:u(?:…)?)?".
    A flat alternation of the ~700 month prefixes made every failed match try each of them in turn (~6 µs
    a paragraph); the trie fails at the first letter that leads nowhere."""
    trie: dict[str, Any] = {}
    for word in words:
        node = trie
        for letter in word:
            node = node.setdefault(letter, {})
    return _trie_pattern(trie, 0, shortest)


def _trie_pattern(node: dict[str, Any], depth: int, shortest: int) -> str:
    branches = [re.escape(letter) + _trie_pattern(child, depth + 1, shortest) for letter, child in sorted(node.items())]
    if not branches:
        return ""
    pattern = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
    return f"(?:{pattern})?" if depth >= shortest else pattern


_MONTH = _prefixes_pattern((name for names in _MONTH_NAMES.values() for name in names.split()), 3) \
    + r"\.?(?![^\W\d_])"
_DAY = r"\d{1,2}(?:st|nd|rd|th|º|\.)?"
_DATE_TEXT = rf"(?i:(?:{_MONTH}\s+{_DAY}|{_DAY}\s+(?:de\s+)?{_MONTH})(?:,?\s+(?:de\s+)?\d{{4}})?)"
_DATE = re.compile(_DATE_TEXT)
# A weekday in a dateline's qualifier goes, as a date does: EFE's "Madrid, lunes (EFE)", MTI's "Budapest,
# 2026. december 1., kedd (MTI)".
_WEEKDAY_NAMES = (
    "monday tuesday wednesday thursday friday saturday sunday "
    "lundi mardi mercredi jeudi vendredi samedi dimanche "
    "lunes martes miércoles jueves viernes sábado domingo "
    "segunda-feira terça-feira quarta-feira quinta-feira sexta-feira "
    "lunedì martedì mercoledì giovedì venerdì sabato domenica "
    "montag dienstag mittwoch donnerstag freitag samstag sonnabend sonntag "
    "maandag dinsdag woensdag donderdag vrijdag zaterdag zondag "
    "hétfő kedd szerda csütörtök péntek szombat vasárnap "
    "понедельник вторник среда четверг пятница суббота воскресенье"
)
_WEEKDAYS = frozenset(_WEEKDAY_NAMES.split())
# "BAGHDAD (Reuters) –", "WASHINGTON, Jan 5 (Reuters) -", "SAN JUAN, Puerto Rico (AP) —", "(Bloomberg) --",
# Reuters' placeless "Jan 3 (Reuters) -", EFE's "Tegucigalpa, 2 ene (EFE).-", Ritzau's "København /ritzau/:",
# TASS's "MOSCOW, December 1. /TASS/.", Interfax's "MOSCOW. Dec 1 (Interfax) -", RIA Novosti's
# "МОСКВА, 1 дек — РИА Новости.", ANI's "New Delhi [India], Dec 1 (ANI):", Agerpres' "Bucharest, Dec 1
# /Agerpres/ -", and with no dash at all PTI's "Mumbai, Dec 1 (PTI) The", KNA's "Bonn (KNA) Der" and epd's
# "Berlin (epd). Die" (which only a known agency may omit, dated or followed by a capital: see _dateline).
_DATELINE = re.compile(
    rf"(?:(?P<place>{_PLACE})(?:\s*\[(?P<country>[^\[\]\n]{{1,30}})\])?"
    rf"(?:(?:,|\.(?=\s*{_DATE_TEXT}))\s*(?P<qual>[^()\n]{{1,40}}?))?\s*|(?P<date>{_DATE_TEXT})\s*)?"
    rf"(?:\((?P<agency>{_AGENCY_TEXT}(?:/{_AGENCY_TEXT})?)\)(?:\.?\s*{_DASH}+|:|\.?(?P<undashed>)(?=\s+(?P<next>\S)))"
    rf"|/(?P<slashed>{_AGENCY_TEXT})/\s*(?:[:.]|{_DASH}+)|{_DASH}\s*(?P<named>{_AGENCY_TEXT})\.(?=\s))\s*",
)
# Chinese, Japanese and Korean wire copy opens with its agency's formula, the reporters in some:
# Xinhua's "新华社北京12月1日电（记者张三、李四）", Kyodo's and Jiji's "【ワシントン共同】", Reuters Japan's,
# Yonhap's "(서울=연합뉴스) 김철수 기자 =".
_CJK_DATELINES = (
    re.compile(r"(?P<agency>新华社|新華社|中新社|中新网)(?P<place>[^\W\d_]{1,12}?)\d{1,2}月\d{1,2}日(?:\d{1,2}时)?电"
               r"(?:\s*[（(](?:记者|記者)\s*(?P<reporters>[^（）()\n]{1,60})[）)])?\s*"),
    re.compile(r"【(?P<place>[^【】\s]{1,15}?)(?P<agency>共同|時事)】\s*"),
    # Reuters Japan's "［東京　１日　ロイター］ -", AFPBB's "【12月1日 AFP】"
    re.compile(r"[［\[](?P<place>[^\s\d０-９［］\[\]]{1,10})\s+[\d０-９]{1,2}日\s+(?P<agency>ロイター)[］\]]\s*[-－—]?\s*"),
    re.compile(r"【(?P<place>[^\s\d【】]{1,10})?\s*\d{1,2}月\d{1,2}日\s*(?P<agency>AFP)】\s*"),
    re.compile(r"[(\[（](?P<place>[^=()\[\]（）\s]{1,15})=(?P<agency>연합뉴스|뉴시스|뉴스1)[)\]）]\s*"
               r"(?:(?P<reporters>[^=\n]{1,40}?)\s*(?:기자|특파원)\s*=\s*)?"),
)
_CJK_OPENERS = frozenset("新中【([（［")  # how the formulas above begin
# Scripts without capitals (Arabic, Hebrew) cannot show a place the way "BAGHDAD" does, so their datelines
# count only with a known agency: Reuters Arabic's "دبي (رويترز) -", AFP's "بيروت (أ ف ب) -".
_UNCASED = "\u0590-\u05ff\u0600-\u06ff\u0750-\u077f"
_UNCASED_DATELINE = re.compile(
    rf"(?P<place>[{_UNCASED}]+(?: [{_UNCASED}]+){{0,3}})(?:\s*[،,]\s*(?P<qual>[^()\n]{{1,40}}?))?\s*"
    rf"\((?P<agency>[^()\n]{{2,30}})\)\s*{_DASH}+\s*",
)
# Iran's agencies: IRNA's "تهران- ایرنا- …", and the credit every Persian outlet opens with, "به گزارش ایرنا، …",
# "به گزارش خبرنگار سیاسی ایرنا، …", "به گزارش خبرگزاری مهر از تهران، …" ("as IRNA reports"). Known agencies only.
_PERSIAN_DATELINE = re.compile(
    rf"(?P<place>[{_UNCASED}]+(?: [{_UNCASED}]+){{0,2}})\s*[-–]\s*(?P<agency>[{_UNCASED}]+)\s*[-–]\s*"
    rf"|به گزارش (?:[^،\n]{{1,40}}? )?(?P<credited>[{_UNCASED}]+)"
    rf"(?: از (?P<from>[{_UNCASED}]+(?: [{_UNCASED}]+)?))?\s*،\s*"
)
# A date, then the agency's name without brackets, after a place in any case: Interfax's "Москва. 1 декабря.
# INTERFAX.RU - …" (AAP's "SYDNEY, Nov 26 AFP -" in capitals is a bare dateline's).
_DATED_AGENCY_WORD = re.compile(
    rf"(?P<place>{_PLACE})[.,]\s*{_DATE_TEXT}\.?\s+(?P<agency>[^\W\d_][\w.&'\-]{{1,20}})\s*{_DASH}+\s*",
)
# ANSA names itself first: "(ANSA) - ROMA, 1 LUG - ", "(ANSA) - Rome, October 11 - ". A place there needs
# the date after it, or the story's first words would be taken for one.
_PLACE_AFTER_AGENCY = re.compile(rf"(?P<place>{_PLACE}),\s*{_DATE_TEXT}\s*{_DASH}+\s*")
# An outlet's own dateline has no agency: "BAGHDAD —". Only all-caps places, to stay clear of prose.
_BARE_DATELINE = re.compile(rf"(?P<place>[{_UP}]{{2}}[{_UP}.'’\-]*(?: [{_UP}][{_UP}.'’\-]*){{0,3}})"
                            rf"(?:,\s*(?P<qual>[^()\n—–]{{1,30}}?))?\s+{_DASH}+\s+")
_STRUCTURED_DATELINE = re.compile(
    r"\s*(?P<place>[^,()]+?)\s*(?:,\s*(?P<qual>[^()]+?))?\s*(?:\((?P<agency>[^()]+)\))?\s*(?:--|[-–—:])?\s*",
)
# "Nov 26 AFP" after the place of a structured dateline: the agency, written without parentheses.
_TRAILING_WORD = re.compile(r"\s+(?P<word>[A-Za-z][\w&'.\-]{1,20})$")
_PLACE_DASHES = "-–—"
# The press-release wires' own forms: ACCESSWIRE's "SAN FRANCISCO, CA / ACCESSWIRE / December 1, 2026 /"
# and Newsfile's "Vancouver, British Columbia--(Newsfile Corp. - December 1, 2026) -".
_RELEASE_DATELINE = re.compile(
    rf"(?P<place>{_PLACE}(?:,\s*{_PLACE})?)\s*(?:/\s*(?P<slashed>ACCESSWIRE)\s*/\s*{_DATE_TEXT}\s*/"
    rf"|--\((?P<dashed>Newsfile)(?: Corp\.)?\s*-\s*{_DATE_TEXT}\)\s*-)\s*"
)
# Words that open copy like a bare dateline but name no place: AP's "FILE -" photo captions, "UNDATED (AP) -".
_NOT_PLACES = frozenset({"FILE", "UNDATED"})

# Reuters writes "UPDATE 2-", dpa and dpa-AFX "ROUNDUP 2:", "WDH/ROUNDUP:" (a repeat), "KORREKTUR:", and
# their urgent copy "EIL:" and "BLITZ:"; EFE and Agência Brasil "URGENTE:".
_PREFIX = re.compile(
    r"(?P<word>UPDATE|WRAPUP|REFILE|REFILED|RPT|REPEAT|CORRECTED|CORRECTION|EXCLUSIVE|BREAKINGVIEWS|FACTBOX|"
    r"ANALYSIS|INSIGHT|COLUMN|EXPLAINER|TIMELINE|GRAPHIC|FEATURE|INTERVIEW|PREVIEW|POLL|SPECIAL REPORT|FOCUS|"
    r"NEWSMAKER|SCENARIOS|QUOTEBOX|DIARY|URGENTE|URGENT|FLASH|ADVISORY|BUZZ|VIEWPOINT|OBITUARY|WITNESS|BRIEF|"
    r"ROUNDUP|WDH|KORREKTUR|ANALYSE|KOMMENTAR|PRESSESTIMMEN?|RECASTS?|BULLETIN|EILMELDUNG|EIL|BLITZ)"
    r"(?:\s*(?P<number>\d{1,3}))?(?:\s?-\s?|\s?:\s+|/)(?=\S)",
)
# dpa-AFX chains a label saying where the news is from after its prefixes: "ROUNDUP/Umfrage:",
# "WDH/ROUNDUP/Kreise:". Only these: "ROUNDUP/Merz: …" opens a quote with its speaker.
_CHAINED_LABEL = re.compile(r"(?P<label>Umfrage|Kreise|Bericht|Presse|Insider|Medien|Studie):\s+(?=\S)")
# A numbered prefix is the story's n-th update, so its (n+1)-th version.
_NUMBERED_VERSIONS = frozenset({"UPDATE", "ROUNDUP"})
# Prefixes that announce a new version of a story already sent: an update, a repeat, a correction. The
# others name a kind of story (EXCLUSIVE, FACTBOX) or its urgency; an unnumbered ROUNDUP is dpa's kind too.
_VERSION_WORDS = frozenset({"UPDATE", "REFILE", "REFILED", "RPT", "REPEAT", "CORRECTED", "CORRECTION", "RECAST",
                            "RECASTS", "WDH", "KORREKTUR"})
# A slugline's topic opening a headline: one to three words, a hyphen, then the headline, capitalised
# ("Climate-smart farming" is one word).
_SLUG_TOPIC = re.compile(r"(?P<topic>[^\W\d_][^\W_]*(?: [^\W\d_][^\W_]*){0,2})-(?=[A-Z0-9])")
# A note to the desk between asterisks, after a headline or as a paragraph of its own: STT's "*** TRANSLATED
# ***" ending a machine-translated headline, "*** DISCLAIMER: THIS IS AN AUTOMATED TRANSLATION … ***" above
# the text. The title loses it; the text keeps it, as the reader's warning.
_STARRED = r"\*{3}[^*\n]{1,100}\*{3}"
_STARRED_NOTE = re.compile(_STARRED)
_HEADLINE_NOTE = re.compile(rf"^\s*{_STARRED}\s*|\s*{_STARRED}\s*$")
_HEADLINE_WORD = re.compile(r"[^\W_]+")
_SLUG_NOTE = re.compile(r"\([^()]*\)")  # "(UPDATE 1)"
_SLUG_SEPARATOR = re.compile(r"[-/]+")
MAX_DATELINE_CHARS = 200
_DATELINE_SPAN = 2 * MAX_DATELINE_CHARS
MAX_LABEL_CHARS = 30
LEAD_PARAGRAPHS = 8  # bylines, bullets, notes and the dateline sit at the top of the copy
# A story credits a handful of people in a role; past this many, a hostile item's thousands of credit
# lines are still read, but their names left out (each new name is looked for among those kept).
MAX_CREDITED = 50
SIGN_OFF_PARAGRAPHS = 4  # an agency's sign-off or end mark, a desk's initials, a source line: under the copy
_BULLET = re.compile(r"[*•·▪]\s")
_EDITORIAL_NOTE = re.compile(
    r"\((?:adds|updates|recasts|corrects|changes|fixes|removes|rewrites|refiles|repeats|inserts|clarifies|"
    r"deletes|moves|writes through|adds byline)\b[^()]{0,200}\)", re.IGNORECASE,
)
# AAP's copy by e-mail opens with labelled fields ("Headline: …", "Abstract: …") above the byline and
# dateline: the copy's metadata, not its text.
_COPY_FIELD = re.compile(r"(?P<label>headline|abstract|slug|keywords)[ \t]*:[ \t]*(?P<value>\S.{0,600})",
                         re.IGNORECASE | re.DOTALL)


@dataclass(slots=True)
class WireText:
    """What the text of one item says about itself."""

    place: str | None = None
    dateline_agency: str | None = None
    agency: str | None = None  # dateline, then credits, then a byline line
    byline: list[str] = field(default_factory=list)
    credits: dict[str, list[str]] = field(default_factory=dict)
    drop: set[int] = field(default_factory=set)  # credit and byline paragraphs
    trims: dict[int, str] = field(default_factory=dict)  # paragraph -> its text without a trailing credit
    footer_agency: str | None = None  # named in a footer the rules removed: "© 2024 Reuters", "(With inputs from PTI)"
    fields: dict[str, str] = field(default_factory=dict)  # labelled copy fields: "headline", "abstract"


def extract(paragraphs: Sequence[str], skip: Container[int] = (), titles: Sequence[str] = ()) -> WireText:
    """Dateline, byline, credits and agency from an item's paragraphs (``skip``: already removed;
    ``titles``: the headline as the item gives it, which a paragraph may repeat above the lead)."""
    found = WireText()
    kept = [i for i in range(len(paragraphs)) if i not in skip]
    _lead(paragraphs, kept, found, titles)
    _credits(paragraphs, kept, found)
    return found


def _lead(paragraphs: Sequence[str], kept: list[int], found: WireText, titles: Sequence[str]) -> None:
    line_agency = None
    looked = 0
    labels: list[int] = []
    fields: list[int] = []
    # A CMS's <h1> above the story is not one of the paragraphs a dateline may follow.
    for index in (i for i in kept[:LEAD_PARAGRAPHS] if not _is_headline(paragraphs[i], titles)):
        text = paragraphs[index]
        if _EDITORIAL_NOTE.fullmatch(text):
            found.drop.add(index)  # "(Adds analyst comment)" is a note to editors, not story text
            continue
        if _BULLET.match(text):
            continue  # Reuters' summary bullets sit above the dateline
        if copy_field := _COPY_FIELD.fullmatch(text):
            found.fields.setdefault(copy_field["label"].lower(), copy_field["value"])
            fields.append(index)
            continue
        byline = _byline_line(text)
        if byline is not None:
            found.byline.extend(byline[0])
            line_agency = line_agency or byline[1]
            found.drop.add(index)
            continue
        dateline = _dateline(text)
        if dateline.place or dateline.agency:
            found.place, found.dateline_agency = dateline.place, dateline.agency
            found.byline.extend(dateline.reporters)
            found.agency = dateline_agency(dateline.agency) or dateline.agency
            found.drop.update(labels)
            break
        if _is_label(text):
            labels.append(index)  # a slug, a code or a kicker above the dateline: "Gol PGA", "SDA"
            continue
        looked += 1
        if looked == 2:  # a standfirst may precede the dateline, the body's second paragraph may not
            break
    found.agency = found.agency or line_agency
    # Labelled lines are the copy's header when a dateline follows them or they are several; a blog post
    # opening with one "Keywords: …" line keeps it as text.
    if found.place or found.dateline_agency or len(found.fields) > 1:
        found.drop.update(fields)
    else:
        found.fields.clear()


def _is_headline(text: str, titles: Sequence[str]) -> bool:
    """The headline again, whatever its case and punctuation (its length tells most paragraphs apart)."""
    for title in titles:
        if abs(len(text) - len(title)) <= len(title) // 5 + 10 and casefold_words(text) == casefold_words(title):
            return True
    return False


def _is_label(text: str) -> bool:
    return len(text) <= MAX_LABEL_CHARS and len(text.split()) <= 3 and not text.endswith((".", "!", "?"))


def _byline_line(text: str) -> tuple[list[str], str | None] | None:
    """A lead paragraph that only says who wrote the story: "Reuters", "By Jane Doe, AP"."""
    if len(text) < 40 and (agency := canonical_agency(text)):
        return [], agency
    return parse_byline_paragraph(text)


def _credits(paragraphs: Sequence[str], kept: list[int], found: WireText) -> None:
    under_copy = set(kept[-SIGN_OFF_PARAGRAPHS:])
    for index in kept:
        text = paragraphs[index]
        if len(text) > 400 or index in found.drop:
            continue
        credits, agency, is_credit = read_credit_paragraph(text, under_copy=index in under_copy)
        if is_credit:
            _merge(found, credits, agency)
            found.drop.add(index)
    for index in kept[-3:]:
        if index not in found.drop:
            _trailing_credits(paragraphs[index], index, found)


def _trailing_credits(text: str, index: int, found: WireText) -> None:
    """Credit lines glued to the end of a paragraph: cut off (all of them), or the paragraph dropped."""
    rest = text
    while (match := TRAILING_CREDIT.search(rest)) and (credits := parse_credit_line(match["credit"])):
        _merge(found, credits, None)
        rest = rest[:match.start()].rstrip()
    if rest == text:
        return
    if rest:
        found.trims[index] = rest
    else:
        found.drop.add(index)


def _merge(found: WireText, credits: dict[str, list[str]], agency: str | None) -> None:
    for role, names in credits.items():
        people = []
        for name in names:
            if named := canonical_agency(name):  # "Additional reporting by Reuters": an agency, not a person
                agency = agency or named
            else:
                people.append(name)
        if people:
            known = found.credits.setdefault(role, [])
            for name in people:
                if len(known) < MAX_CREDITED and name not in known:
                    known.append(name)
    found.agency = found.agency or agency


def parse_dateline(text: str) -> tuple[str | None, str | None]:
    """(place, agency as written) of a dateline opening ``text``; (None, None) when there is none."""
    found = _dateline(text)
    return found.place, found.agency


def without_dateline(text: str) -> str:
    """``text`` after the dateline opening it (all of it when there is none, or nothing after it)."""
    found = _dateline(text)
    return text[found.end:] if (found.place or found.agency) and text[found.end:].strip() else text


class _Found(NamedTuple):
    place: str | None
    agency: str | None  # as written
    end: int  # where the text after the dateline starts
    reporters: tuple[str, ...] = ()  # named in the dateline itself (Xinhua's, Yonhap's)


_NOTHING = _Found(None, None, 0)


def _dateline(text: str) -> _Found:
    text = text[:_DATELINE_SPAN]  # a paragraph's first words are all a dateline can be
    for find in (_script_dateline, _release_dateline, _bracketed_dateline, _dated_agency_word, _bare_dateline):
        if found := find(text):
            return found
    return _NOTHING


def _script_dateline(text: str) -> _Found | None:
    """Chinese, Japanese and Korean agencies' formulas; Arabic, Hebrew or Persian datelines of a known agency."""
    if not text or (text[0] not in _CJK_OPENERS and not "\u0590" <= text[0] <= "\u077f"):
        return None  # most paragraphs: three regex calls would cost more than all the other finders
    if cjk := next(filter(None, (pattern.match(text) for pattern in _CJK_DATELINES)), None):
        reporters = cjk.groupdict().get("reporters")
        return _Found(cjk.group("place"), cjk.group("agency"), cjk.end(), tuple(cjk_names(reporters or "")))
    if (uncased := _UNCASED_DATELINE.match(text)) and dateline_agency(uncased.group("agency")):
        place = _with_qualifier(uncased.group("place"), uncased.group("qual"))
        return _Found(place, uncased.group("agency").strip(), uncased.end())
    if persian := _PERSIAN_DATELINE.match(text):
        agency = persian.group("agency") or persian.group("credited")
        if dateline_agency(agency):
            return _Found(persian.group("place") or persian.group("from"), agency, persian.end())
    return None


def _release_dateline(text: str) -> _Found | None:
    """ACCESSWIRE's and Newsfile's own forms, which name the wire between slashes or dashes with the date."""
    if "ACCESSWIRE" not in text and "Newsfile" not in text:
        return None
    match = _RELEASE_DATELINE.match(text)
    return _Found(match["place"], match["slashed"] or match["dashed"], match.end()) if match else None


def _bracketed_dateline(text: str) -> _Found | None:
    match = _DATELINE.match(text)
    return _agency_dateline(text, match) if match else None


def _dated_agency_word(text: str) -> _Found | None:
    dated = _DATED_AGENCY_WORD.match(text)
    if dated and canonical_agency(dated.group("agency")):
        return _Found(dated.group("place"), dated.group("agency"), dated.end())
    return None


def _bare_dateline(text: str) -> _Found | None:
    """An outlet's own "BAGHDAD —", or an agency's name where a place would be: "ANSA - ROMA, 01 LUG -"."""
    match = _BARE_DATELINE.match(text)
    if match is None:
        return None
    if canonical_agency(match.group("place")) and not match.group("qual"):
        after = _PLACE_AFTER_AGENCY.match(text, match.end())
        return _Found((after.group("place") if after else None), match.group("place"), (after or match).end())
    qualifier, agency = _trailing_agency(match.group("qual") or "")
    return _Found(_with_qualifier(match.group("place"), qualifier), agency, match.end())


def dateline_reporters(text: str) -> list[str]:
    """The reporters a dateline opening ``text`` names: Xinhua's "（记者张三、李四）", Yonhap's "김철수 기자 ="."""
    return list(_dateline(text).reporters)


def _agency_dateline(text: str, match: re.Match[str]) -> _Found | None:
    """The dateline ``match`` found when it is one: its agency known, or its place in capitals."""
    place = match.group("place")
    agency = (match.group("agency") or match.group("slashed") or match.group("named")).strip()
    known = dateline_agency(agency) is not None
    if known and agency in PROSE_ABBREVIATIONS and not (place and place.isupper()) and not _is_dated(match):
        known = False  # "Alcoholics Anonymous (AA) - …" is prose; "ISTANBUL (AA) -" and "Ankara, 12 Ocak (AA) -" not
    # "(tca/dpa)": a partner's story sent by an agency; one known agency in it makes it a dateline.
    if not known and (place is None or place != place.upper() or match.group("named")):
        return None  # "The United Nations (UN) - ...", "BAGHDAD — Iraq's parliament." are prose
    if match.group("named") and not (place or match.group("date")):
        return None  # "— Reuters." alone is a quote's attribution
    if match.group("undashed") is not None and not (
            known and (_is_dated(match) or match["next"].isupper()) and not canonical_agency(place)):
        return None  # "Press Trust of India (PTI) reported", "Associated Press (AP) President …": a name, its acronym
    if place is None and (after := _PLACE_AFTER_AGENCY.match(text, match.end())):
        return _Found(after.group("place"), agency, after.end())
    qualifiers = ", ".join(filter(None, [match.group("country"), match.group("qual")]))
    return _Found(_with_qualifier(_capitals_ending(place), qualifiers), agency, match.end())


def _capitals_ending(place: str | None) -> str | None:
    """The place in capitals that ends what the pattern took for one: a page's "Updated BAGHDAD (Reuters)",
    "Reuters BAGHDAD (Reuters)" put words before the dateline. "Washington DC" keeps its two letters."""
    if not place or place.isupper() or not place[-1].isupper():
        return place
    words = place.split(" ")
    start = len(words)
    while start and words[start - 1].isupper():
        start -= 1
    capitals = " ".join(words[start:])
    return capitals if sum(map(str.isalpha, capitals)) >= 3 else place


def _is_dated(match: re.Match[str]) -> bool:
    qualifier = match.group("qual")
    return match.group("date") is not None or (qualifier is not None and _DATE.search(qualifier) is not None)


def parse_structured_dateline(raw: str) -> tuple[str | None, str | None]:
    """A format's dateline field ("BAGHDAD, Jan 5", "Paris (AFP)") as (place, agency)."""
    if len(raw) > MAX_DATELINE_CHARS:
        return None, None  # not a dateline, and searching a hostile megabyte for a date costs seconds
    place, agency = parse_dateline(raw)
    if place or agency:
        return place, agency
    match = _STRUCTURED_DATELINE.fullmatch(raw)
    if not match or _is_timestamp(match.group("place")) or _DATE.fullmatch(match.group("place")):
        return None, None  # some feeds put the time of filing in the dateline field: no place
    place, qualifier = _date_out_of_place(match.group("place"), match.group("qual") or "")
    agency = match.group("agency")
    if agency is None:
        qualifier, agency = _trailing_agency(qualifier)
    return _with_qualifier(place, qualifier), agency.strip() if agency else None


def _date_out_of_place(place: str, qualifier: str) -> tuple[str, str]:
    """AAP's "SYDNEY March 22 AAP", with no comma before the date: ("SYDNEY", "March 22 AAP")."""
    date = _DATE.search(place)
    if date is None or date.start() == 0 or not place[date.start() - 1].isspace():
        return place, qualifier
    return place[:date.start()], ", ".join(q for q in (place[date.start():], qualifier) if q)


def _trailing_agency(qualifier: str) -> tuple[str, str | None]:
    """"Nov 26 AFP" -> ("Nov 26", "AFP"): an agency written after the date without parentheses."""
    trailing = _TRAILING_WORD.search(qualifier)
    if trailing and canonical_agency(trailing.group("word")):
        return qualifier[:trailing.start()], trailing.group("word")
    return qualifier, None


def _is_timestamp(place: str) -> bool:
    """"4/4/2018", "2013-03-04 11:40:31 GMT+00:00": more digits than letters is a time, not a place."""
    return sum(c.isdigit() for c in place) > sum(c.isalpha() for c in place)


def _with_qualifier(place: str | None, qualifier: str | None) -> str | None:
    """Reuters' "Jan 5" after the place is a date and goes; AP's "Puerto Rico" is part of the place."""
    if not place or place.strip() in _NOT_PLACES:
        return None
    # Business Wire's "ROUND ROCK, Texas--(BUSINESS WIRE)--" ends the place in its dashes
    parts = [q.strip().rstrip(_PLACE_DASHES) for q in (qualifier or "").split(",")]
    # A part with a digit is a date or a time in any language: "1st December", "2026. december 1."
    kept = [q for q in parts if q and not _DATE.fullmatch(q) and not any(c.isdigit() for c in q)
            and q.casefold() not in _WEEKDAYS]
    return ", ".join([place.strip().rstrip(_PLACE_DASHES), *kept])


def strip_prefixes(title: str, slugline: str | None = None) -> tuple[str, list[str], int | None]:
    """("UPDATE 2-Oil rises") -> ("Oil rises", ["UPDATE 2"], 3); with the slugline "GLOBAL-OIL/", a
    topic of it opening the rest goes too: ("UPDATE 2-OIL-Prices rise") -> ("Prices rise", ["UPDATE 2", "OIL"], 3).

    The version is n+1 for ``UPDATE n``: the first story is version 1, its first update version 2.
    """
    if "***" in title:
        title = _HEADLINE_NOTE.sub("", title)
    prefixes: list[str] = []
    version = None
    position = 0
    while match := _PREFIX.match(title, position):
        number = match.group("number")
        prefixes.append(f"{match.group('word')} {number}" if number else match.group("word"))
        if match.group("word") in _NUMBERED_VERSIONS and number:
            version = max(version or 0, int(number) + 1)
        position = match.end()
    if position and title[position - 1] == "/" and (label := _CHAINED_LABEL.match(title, position)):
        prefixes.append(label.group("label"))
        position = label.end()
    if slugline and (topic := _slug_topic(title, position, _slug_topics(slugline))):
        prefixes.append(topic.group("topic"))
        position = topic.end()
    return title[position:], prefixes, version


def announces_version(prefixes: Iterable[str]) -> bool:
    """Whether headline prefixes, as :func:`strip_prefixes` gives them, announce a new version of a story:
    "REFILE", "UPDATE 2", dpa's "WDH" and "ROUNDUP 2" do; "EXCLUSIVE", "ROUNDUP" and "WRAPUP 1" do not."""
    for prefix in prefixes:
        word, _, number = prefix.partition(" ")
        if word in _VERSION_WORDS or (word in _NUMBERED_VERSIONS and number.isdigit()):
            return True
    return False


def numbers_version(prefixes: Iterable[str]) -> bool:
    """Whether headline prefixes number the story's version, as Reuters' "UPDATE 2" and dpa's "ROUNDUP 2"
    do: such a wire sends its original with no prefix at all."""
    for prefix in prefixes:
        word, _, number = prefix.partition(" ")
        if word in _NUMBERED_VERSIONS and number.isdigit():
            return True
    return False


def is_starred_note(paragraph: str) -> bool:
    """A paragraph that is only a note between asterisks ("*** DISCLAIMER: … ***")."""
    return _STARRED_NOTE.fullmatch(paragraph) is not None


def _slug_topic(title: str, position: int, topics: frozenset[str]) -> re.Match[str] | None:
    """Reuters opens a headline with a topic of its slugline ("PRECIOUS-Gold rises" under GLOBAL-PRECIOUS/,
    "Soccer-Turkish league results" under SOCCER-TURKEY/RESULTS). Not when the next word is a topic too:
    "US-Syria talks" under US-SYRIA-CRISIS is the headline's own compound."""
    match = _SLUG_TOPIC.match(title, position)
    if match is None or match.group("topic").casefold() not in topics:
        return None
    following = _HEADLINE_WORD.match(title, match.end())
    return None if following and following.group().casefold() in topics else match


def _slug_topics(slugline: str) -> frozenset[str]:
    """"GLOBAL-PRECIOUS/ (UPDATE 1)" -> {"global", "precious"}."""
    without_notes = _SLUG_NOTE.sub(" ", slugline)
    return frozenset(part.strip().casefold() for part in _SLUG_SEPARATOR.split(without_notes) if part.strip())
