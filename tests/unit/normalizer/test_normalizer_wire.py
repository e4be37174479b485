"""Wire metadata from text: datelines, credit lines, bylines, agencies, headline prefixes."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from services.normalizer import agencies
from services.normalizer.agencies import canonical_agency, clean_author, dateline_agency, find_agency, is_non_person
from services.normalizer.credits import (
    parse_byline,
    parse_byline_field,
    parse_byline_paragraph,
    parse_credit_line,
    parse_credit_paragraph,
    split_names,
)
from services.normalizer.normalize import normalize
from services.normalizer.wire import (
    dateline_reporters,
    extract,
    numbers_version,
    parse_dateline,
    parse_structured_dateline,
    strip_prefixes,
    without_dateline,
)
from tests.factories import raw_item
from tests.helpers import corpus_items


@pytest.mark.parametrize(("text", "place", "agency"), [
    ("BAGHDAD (Reuters) – Baghdad and Washington have agreed", "BAGHDAD", "Reuters"),
    ("WASHINGTON, Jan 5 (Reuters) - The U.S. Senate", "WASHINGTON", "Reuters"),
    ("PARIS (AP) — French lawmakers", "PARIS", "AP"),
    ("BERLIN (dpa) - Die Bundesregierung", "BERLIN", "dpa"),
    ("LONDON, March 3 (AFP) - Britain's", "LONDON", "AFP"),
    ("SAN JUAN, Puerto Rico (AP) — A storm", "SAN JUAN, Puerto Rico", "AP"),
    ("RIO DE JANEIRO, Feb. 12, 2024 (Reuters) -- Carnival", "RIO DE JANEIRO", "Reuters"),
    ("KYIV/MOSCOW (Reuters) - Ukraine", "KYIV/MOSCOW", "Reuters"),
    ("Beijing, Jan. 5 (Xinhua) -- China's", "Beijing", "Xinhua"),
    ("(Bloomberg) -- Stocks rose", None, "Bloomberg"),
    ("TOKYO (Kyodo) - Japan's", "TOKYO", "Kyodo"),
    ("SEOUL, May 2 (Yonhap) -- South Korea", "SEOUL", "Yonhap"),
    ("BAGHDAD — Iraq's parliament", "BAGHDAD", None),
    ("FORT WASHINGTON, Pa. (AP) _ Nutrisystem Inc. reported", "FORT WASHINGTON, Pa.", "AP"),  # older AP copy
    ("SEOUL, Nov 26 AFP - Samsung has announced", "SEOUL", "AFP"),  # AAP's copy of an AFP story
    ("København /ritzau/: En 41-årig mand", "København", "ritzau"),
    # the date after the place goes in the languages wire copy arrives in (all from the corpus)
    ("MOSCOU, 24 SET (ANSA) - O líder de oposição", "MOSCOU", "ANSA"),
    ("Quito, 24 Set 2018 (AFP) - O fundador do WikiLeaks", "Quito", "AFP"),
    ("Strasbourg, 10 juil 2024 (AFP) - L'opératrice", "Strasbourg", "AFP"),
    ("MADRID, 24 de septiembre (EFE) - El Gobierno", "MADRID", "EFE"),
    ("BERLIN, 3. März (dpa) - Die Regierung", "BERLIN", "dpa"),
    ("MARSEILLE, Bouches-du-Rhône (AFP) - Un incendie", "MARSEILLE, Bouches-du-Rhône", "AFP"),
    ("UNDATED (AP) — Storms swept", None, "AP"),
    ("Jan 3 (Reuters) - Residents of flooded areas", None, "Reuters"),  # Reuters NewsML-G2, no place
    ("Nova York, 24 set (EFE).- O índice Dow Jones", "Nova York", "EFE"),  # EFE's ".-"
    ("Tegucigalpa, Jan 2 (EFE).- Test body.", "Tegucigalpa", "EFE"),
    ("San Diego (tca/dpa) - History says", "San Diego", "tca/dpa"),  # a partner's story on dpa's wire
    # ANSA names itself first, the place and date after it
    ("(ANSA) - Rome, October 11 - Italian Foreign Minister", "Rome", "ANSA"),
    ("(ANSA) - ROMA, 1 LUG - Il governo", "ROMA", "ANSA"),
    ("(Reuters) - Oil prices fell, Jan 5 - a note", None, "Reuters"),  # no place: the story's first words
    ("REUTERS - The company said", None, "REUTERS"),  # an agency, not a place
    ("Budapest (MTI) - A kormány", "Budapest", "MTI"),  # a place in lower case needs an agency known
    # a weekday is no part of the place; German places' short forms are
    ("Budapest, 2026. december 1., kedd (MTI) - A kormány", "Budapest", "MTI"),
    ("MADRID, lunes (EFE) - El Gobierno", "MADRID", "EFE"), ("WASHINGTON, Monday (AP) - The", "WASHINGTON", "AP"),
    ("Frankfurt a.M. (epd) - Die Kirche", "Frankfurt a.M.", "epd"),
    ("Freiburg i.Br. (KNA) Der", "Freiburg i.Br.", "KNA"),
    ("Mülheim a.d. Ruhr (dpa) - Die", "Mülheim a.d. Ruhr", "dpa"),
    # national agencies; codes that are also abbreviations need a date or a place in capitals
    ("Pyongyang, December 1 (KCNA) -- The", "Pyongyang", "KCNA"), ("Minsk, 1 December (BelTA) - The", "Minsk", "BelTA"),
    ("Kabul (Pajhwok): Afghan", "Kabul", "Pajhwok"), ("Amman (Petra) - Jordan", "Amman", "Petra"),
    ("Rabat, Dec 1 (MAP) - Morocco", "Rabat", "MAP"), ("TUNIS (TAP) - Tunisia", "TUNIS", "TAP"),
    ("Trans Adriatic Pipeline (TAP) - the group said", None, None),
    ("Really Simple Syndication (RSS) - a format", None, None),
    ("Kyiv (Ukrinform) - The", "Kyiv", "Ukrinform"),
    # Dutch and Turkish dates; names too ambiguous elsewhere, known inside a dateline's brackets
    ("AMSTERDAM, 12 maart (ANP) - Het kabinet", "AMSTERDAM", "ANP"),
    ("ISTANBUL, 12 Ocak (AA) - Türkiye", "ISTANBUL", "AA"),
    ("Zürich (sda) - Die Nationalbank", "Zürich", "sda"),
    ("Genf (sda/afp) - Die Verhandlungen", "Genf", "sda/afp"),
    # Russia's wires: TASS between slashes, Interfax after a full stop, RIA Novosti after the dash
    ("MOSCOW, December 1. /TASS/. Russian President Vladimir Putin", "MOSCOW", "TASS"),
    ("МОСКВА, 1 декабря. /ТАСС/. Президент России", "МОСКВА", "ТАСС"),
    ("MOSCOW. Dec 1 (Interfax) - Russia's central bank", "MOSCOW", "Interfax"),
    ("МОСКВА, 1 дек — РИА Новости. Президент России", "МОСКВА", "РИА Новости"),
    ("Москва. 1 декабря. INTERFAX.RU - Президент России", "Москва", "INTERFAX.RU"),
    ("Sydney, Nov 26 AAP - The", "Sydney", "AAP"),  # a date and the agency's bare name after a place in any case
    # South Asia's wires: PTI and IANS write no dash, ANI and APP a colon, ANI the country in brackets
    ("New Delhi, Dec 1 (PTI) The government on Monday", "New Delhi", "PTI"),
    ("NEW DELHI, Dec 1 (IANS) The Centre", "NEW DELHI", "IANS"),
    ("Mumbai, Dec 1 (PTI): The Sensex rose", "Mumbai", "PTI"),
    ("New Delhi [India], December 1 (ANI): Prime Minister", "New Delhi, India", "ANI"),
    ("ISLAMABAD, Dec 1 (APP): Prime Minister", "ISLAMABAD", "APP"),
    ("ΑΘΗΝΑ, 1 Δεκ (ΑΠΕ-ΜΠΕ) - Ο πρωθυπουργός", "ΑΘΗΝΑ", "ΑΠΕ-ΜΠΕ"),  # Greek capitals make a place too
    ("Hà Nội (TTXVN) - Chính phủ", "Hà Nội", "TTXVN"),  # VNA in Vietnamese
    ("New Delhi (PTI) The government", "New Delhi", "PTI"),
    ("New Delhi, Dec 1 (UNI) The Centre", "New Delhi", "UNI"),
    ("DHAKA, Dec 1 (BSS) - The government", "DHAKA", "BSS"),
    # Germany's church wires write no dash; Agerpres writes its name between slashes before one
    ("Bonn (KNA) Der Vatikan hat", "Bonn", "KNA"),
    ("Frankfurt/Main (epd). Die Diakonie", "Frankfurt/Main", "epd"),
    ("Bucharest, Dec 1 /Agerpres/ - The government", "Bucharest", "Agerpres"),
    # a date in any language goes from the place: what has a digit is no part of it
    ("ABU DHABI, 1st December, 2026 (WAM) -- The", "ABU DHABI", "WAM"),
    ("UNITED NATIONS, Dec 1 2026 (IPS) - The", "UNITED NATIONS", "IPS"),
    # the press-release wires: Business Wire's dashes end the place, not part of it
    ("ROUND ROCK, Texas--(BUSINESS WIRE)--Dell today announced", "ROUND ROCK, Texas", "BUSINESS WIRE"),
    ("LONDON--(BUSINESS WIRE)--Acme today announced", "LONDON", "BUSINESS WIRE"),
    ("NEW YORK, Dec. 1, 2026 /PRNewswire/ -- Acme Corp. today", "NEW YORK", "PRNewswire"),
    ("NEW YORK, Dec. 01, 2026 (GLOBE NEWSWIRE) -- Acme Corp. today", "NEW YORK", "GLOBE NEWSWIRE"),
    ("SAN FRANCISCO, CA / ACCESSWIRE / December 1, 2026 / Acme Corp. today", "SAN FRANCISCO, CA", "ACCESSWIRE"),
    ("Vancouver, British Columbia--(Newsfile Corp. - December 1, 2026) - Acme Corp. today",
     "Vancouver, British Columbia", "Newsfile"),
    # a page's words before the dateline are no part of the place; a place's own short capitals are
    ("Updated BAGHDAD (Reuters) – Baghdad and Washington", "BAGHDAD", "Reuters"),
    ("Reuters BAGHDAD (Reuters) – Baghdad and Washington", "BAGHDAD", "Reuters"),
    ("Share NEW YORK (AP) — Stocks rose", "NEW YORK", "AP"),
    ("Washington DC (Reuters) - Lawmakers", "Washington DC", "Reuters"),
])
def test_datelines_give_place_and_agency(text: str, place: str | None, agency: str) -> None:
    assert parse_dateline(text) == (place, agency)


@pytest.mark.parametrize(("written", "agency"), [
    ("sda", "Keystone-SDA"), ("ats", "Keystone-SDA"), ("sda/afp", "Keystone-SDA"), ("AA", "Anadolu"),
    ("Hina", "HINA"), ("KNA", "KNA"), ("APP", "APP"), ("ТАСС", "TASS"), ("dpa/lnw", "dpa"), ("tca/dpa", "dpa"),
    ("BUSINESS WIRE", "Business Wire"), ("PRNewswire", "PR Newswire"), ("GLOBE NEWSWIRE", "GlobeNewswire"),
    ("CNW", "CNW"), ("美國商業資訊", "Business Wire"), ("ACCESSWIRE", "ACCESSWIRE"), ("Newsfile", "Newsfile"),
    ("UN", None), ("aa", None),
])
def test_a_datelines_brackets_name_agencies_free_text_would_not(written: str, agency: str | None) -> None:
    assert dateline_agency(written) == agency
    if written in ("sda", "AA"):
        assert find_agency(f"Members of {written} met") is None  # a word or another code in running text


@pytest.mark.parametrize("text", [
    "The United Nations (UN) - a body of 193 states - met.",
    "Officials said on Monday that talks would resume.",
    "NATO",
    "(Adds quote)",
    "The files /usr/bin/: were replaced.",
    "FILE - In this Monday, Nov. 11, 2019 file photo, a man stands",  # AP's caption of an archive photo
    "Sales (units/year) - up again",
    "Press Trust of India (PTI) reported on Monday",  # without a dash, a name and its acronym
    "Associated Press (AP) President Gary Pruitt said",
    "Officials (AP) said on Monday",
    "Washington, Dec 1 Senate - a vote",  # a bare name after the date must be an agency's
    "Alcoholics Anonymous (AA) - a fellowship of people who share their experience",  # not Anadolu's
    "Mobile Application (APP) - the one to install",
    "The newspaper (Mint) The editors wrote",
    "— Reuters. Text after a quote's attribution",
])
def test_prose_is_not_a_dateline(text: str) -> None:
    assert parse_dateline(text) == (None, None)


@pytest.mark.parametrize(("text", "is_date"), [
    ("Jan 5", True), ("January 5", True), ("5 janv.", True), ("5 DIC", True), ("12 Ağustos", True),
    ("1 дек", True), ("1 декабря", True), ("3. März", True), ("Sept. 30", True),
    ("Ja 5", False), ("Janx 5", False), ("Marseille 5", False), ("5 decembers", False),
])
def test_a_month_is_any_prefix_of_three_letters_or_more_of_its_name(text: str, is_date: bool) -> None:
    # a dateline field holding a date alone names no place
    assert parse_structured_dateline(text) == ((None, None) if is_date else (text, None))


@pytest.mark.parametrize(("text", "place", "agency", "reporters", "rest"), [
    ("新华社北京12月1日电（记者张三、李四）国家统计局1日发布数据", "北京", "新华社", ["张三", "李四"],
     "国家统计局1日发布数据"),
    ("新华社华盛顿11月30日电 美国总统30日表示", "华盛顿", "新华社", [], "美国总统30日表示"),
    ("【ワシントン共同】バイデン米大統領は30日", "ワシントン", "共同", [], "バイデン米大統領は30日"),
    ("【北京時事】中国国家統計局は1日", "北京", "時事", [], "中国国家統計局は1日"),
    ("［東京　１日　ロイター］ - 日本政府は1日", "東京", "ロイター", [], "日本政府は1日"),  # Reuters Japan
    ("【12月1日 AFP】フランスの", None, "AFP", [], "フランスの"),  # AFPBB News
    ("(서울=연합뉴스) 김철수 기자 = 정부는 1일", "서울", "연합뉴스", ["김철수"], "정부는 1일"),
    ("(워싱턴=연합뉴스) 김철수 이영희 특파원 = 미국", "워싱턴", "연합뉴스", ["김철수", "이영희"], "미국"),
    ("[서울=뉴시스]김철수 기자 = 정부는", "서울", "뉴시스", ["김철수"], "정부는"),
    ("【ワシントン＝田中】記者", None, None, [], "【ワシントン＝田中】記者"),  # a paper's own correspondent
])
def test_chinese_japanese_and_korean_wire_datelines(
    text: str, place: str | None, agency: str | None, reporters: list[str], rest: str,
) -> None:
    assert parse_dateline(text) == (place, agency)
    assert dateline_reporters(text) == reporters
    assert without_dateline(text) == rest


@pytest.mark.parametrize(("text", "place", "agency"), [
    ("دبي (رويترز) - قالت وزارة الطاقة", "دبي", "رويترز"),  # Reuters Arabic
    ("بيروت (أ ف ب) - أعلن الجيش", "بيروت", "أ ف ب"),  # AFP Arabic
    ("الكويت، 1 ديسمبر (كونا) -- قال وزير", "الكويت", "كونا"),
    ("قالت الحكومة (اليوم) - إن", None, None),  # Arabic has no capitals: only a known agency makes a dateline
    # Persian: IRNA's dateline, and the credit Iran's outlets open with ("as IRNA's political reporter reports")
    ("تهران- ایرنا- رئیس جمهوری گفت", "تهران", "ایرنا"),
    ("به گزارش خبرنگار سیاسی ایرنا، رئیس جمهوری گفت", None, "ایرنا"),
    ("به گزارش خبرگزاری مهر از تهران، وزیر گفت", "تهران", "مهر"),
    ("به گزارش روزنامه کیهان، وزیر گفت", None, None), ("تهران- روزنامه- رئیس", None, None),
])
def test_arabic_and_persian_wire_datelines(text: str, place: str | None, agency: str | None) -> None:
    assert parse_dateline(text) == (place, agency)


@pytest.mark.parametrize(("written", "agency"), [
    ("رويترز", "Reuters"), ("أ ف ب", "AFP"), ("كونا", "KUNA"), ("وام", "WAM"),
    ("新华社", "Xinhua"), ("中新网", "China News Service"), ("共同", "Kyodo"), ("時事", "Jiji"), ("연합뉴스", "Yonhap"),
    ("뉴시스", "Newsis"), ("ایرنا", "IRNA"), ("مهر", "Mehr"),
])
def test_agencies_in_datelines_in_other_scripts(written: str, agency: str) -> None:
    assert dateline_agency(written) == agency


def test_every_name_of_every_agency_is_known_by_it() -> None:
    # canonical_agency skips text with no word of any agency's name; a name of common words only would be lost
    names = {name: canon for canon, (spelled, acronyms) in agencies._AGENCIES.items() for name in (*spelled, *acronyms)}
    assert {name: canonical_agency(name) for name in names} == names


def test_an_outlets_own_dateline_is_not_a_named_agency() -> None:
    assert parse_dateline("BAGHDAD — Iraq's parliament voted. The vote") == ("BAGHDAD", None)
    assert parse_dateline("МОСКВА — Президент России") == ("МОСКВА", None)


def test_a_dateline_leaves_the_story_text() -> None:
    assert without_dateline("МОСКВА, 1 дек — РИА Новости. Президент России") == "Президент России"
    assert without_dateline("New Delhi, Dec 1 (PTI) The government") == "The government"


@pytest.mark.parametrize(("raw", "expected"), [
    ("BAGHDAD, Jan 5", ("BAGHDAD", None)),
    ("Paris (AFP)", ("Paris", "AFP")),
    ("Berlin", ("Berlin", None)),
    ("JACKSON, Miss.", ("JACKSON, Miss.", None)),
    ("SEOUL, Nov 26 AFP", ("SEOUL", "AFP")),
    ("10 Downing Street", ("10 Downing Street", None)),
    ("4/4/2018", (None, None)),  # ANA's dateline field holds the date
    ("2013-03-04 11:40:31 GMT+00:00", (None, None)),  # as does Reuters' in some NewsML-G2
    ("MARCH 04, 2013", (None, None)),  # and Reuters' video NewsML-G2 the date alone
    ("SYDNEY March 22 AAP -", ("SYDNEY", "AAP")),  # AAP writes no comma before the date
    ("Strasbourg, 10 juil 2024 (AFP)", ("Strasbourg", "AFP")),
    ("Marseille 13e", ("Marseille 13e", None)),
    ("ANSA - ROMA, 01 LUG -", ("ROMA", "ANSA")),  # ANSA's NewsML-G2, the agency first
])
def test_structured_datelines(raw: str, expected: tuple[str | None, str | None]) -> None:
    assert parse_structured_dateline(raw) == expected


def test_a_dateline_field_too_long_to_be_one_is_not_searched() -> None:
    assert parse_structured_dateline("BAGHDAD " * 100_000) == (None, None)  # a hostile feed's megabyte


@pytest.mark.parametrize(("line", "credits"), [
    ("(Reporting by Timour Azhari; Editing by Alison Williams)",
     {"reporting": ["Timour Azhari"], "editing": ["Alison Williams"]}),
    ("(Reporting by Jane Porter in London; Additional reporting by Lin Wei in Singapore and Kenji Sato in "
     "Tokyo; Editing by Mark Ellis and Susan Grant)",
     {"reporting": ["Jane Porter"], "additional_reporting": ["Lin Wei", "Kenji Sato"],
      "editing": ["Mark Ellis", "Susan Grant"]}),
    ("(Writing by Ed Bell; Compiled by Ann Lee, Bo Chan and Cy Diaz)",
     {"writing": ["Ed Bell"], "compiling": ["Ann Lee", "Bo Chan", "Cy Diaz"]}),
    ("Reporting by Ann Lee in Beirut and Dubai, editing by Ed Bell",
     {"reporting": ["Ann Lee"], "editing": ["Ed Bell"]}),
    ("(Reporting by Ann Lee in Washington, Bo Chan and Cy Diaz in London; Editing by Ed Bell)",
     {"reporting": ["Ann Lee", "Bo Chan", "Cy Diaz"], "editing": ["Ed Bell"]}),
    ("(Reporting and writing by Mohammed al-Sudani; editing by Ursula von der Leyen)",
     {"reporting": ["Mohammed al-Sudani"], "writing": ["Mohammed al-Sudani"],
      "editing": ["Ursula von der Leyen"]}),
    ("(Writing and reporting by Ann Lee)", {"reporting": ["Ann Lee"], "writing": ["Ann Lee"]}),
    ("(Reporting by Ann Lee in The Hague, Netherlands; Editing by Ed Bell.)",
     {"reporting": ["Ann Lee"], "editing": ["Ed Bell"]}),
    # Reuters' German, French and Spanish services; Germany's credit line ends with where to send questions
    ("(Bericht von Christian Krämer, redigiert von Sabine Wollrab. Bei Rückfragen wenden Sie sich an unsere "
     "Redaktion unter berlin.newsroom@thomsonreuters.com (für Politik und Konjunktur).)",
     {"reporting": ["Christian Krämer"], "editing": ["Sabine Wollrab"]}),
    ("(Reportage Elizabeth Pineau, avec Michel Rose; édité par Blandine Hénault)",
     {"reporting": ["Elizabeth Pineau", "Michel Rose"], "editing": ["Blandine Hénault"]}),
    ("(Reportage Jean Dupont à Paris; version française Marc Leroy, édité par Sophie Louet)",
     {"reporting": ["Jean Dupont"], "translation": ["Marc Leroy"], "editing": ["Sophie Louet"]}),
    ("(Reporte de Juan Pérez en Madrid; Editado en español por María López)",
     {"reporting": ["Juan Pérez"], "editing": ["María López"]}),
    # Brazil's and Italy's
    ("(Reportagem de Rodrigo Viga Gaier; Reportagem adicional de Marcela Ayres em Brasília; "
     "Edição de Pedro Fonseca)", {"reporting": ["Rodrigo Viga Gaier"], "additional_reporting": ["Marcela Ayres"],
                                  "editing": ["Pedro Fonseca"]}),
    ("(Tradotto da Alessia Pè, editing Francesca Piscioneri)",
     {"translation": ["Alessia Pè"], "editing": ["Francesca Piscioneri"]}),
])
def test_credit_lines_map_roles_to_people(line: str, credits: dict[str, list[str]]) -> None:
    assert parse_credit_line(line) == credits


@pytest.mark.parametrize("text", [
    "Reporting by the newspaper showed that the company lost money.",
    "(Reporting by; Editing by)",
    "Editing by hand is slow, the researchers said.",
    "Reportage exclusif dans les camps de réfugiés", "Bericht von der Front", "Información de la policía",
    "Editing software is getting cheaper", "Texto de lei aprovado pelo Senado", "Reportagem de capa da revista",
])
def test_prose_that_starts_like_a_credit_line_is_not_one(text: str) -> None:
    assert parse_credit_paragraph(text) == ({}, None)


def test_agency_contributor_lines_are_credits_naming_the_agency() -> None:
    assert parse_credit_paragraph("Associated Press writers Ann Lee and Bo Chan in New York contributed "
                                  "to this report.") == ({"contributing": ["Ann Lee", "Bo Chan"]}, "AP")
    assert parse_credit_paragraph("The Associated Press contributed to this report.") == ({}, "AP")
    assert parse_credit_paragraph("bur-sah/rl") == ({}, "AFP")
    assert parse_credit_paragraph("burs-dk/sn") == ({}, "AFP")


@pytest.mark.parametrize(("text", "credits", "agency"), [
    ("Jane Doe and John Roe contributed reporting from London.", {"contributing": ["Jane Doe", "John Roe"]}, None),
    ("Kitty Bennett contributed research.", {"contributing": ["Kitty Bennett"]}, None),
    ("CNN’s Jane Doe contributed to this report.", {"contributing": ["Jane Doe"]}, None),
    ("Staff writer Jane Doe in Paris contributed to this report.", {"contributing": ["Jane Doe"]}, None),
    ("Contributing: Jane Doe and John Roe, USA TODAY; The Associated Press",
     {"contributing": ["Jane Doe", "John Roe"]}, "AP"),
    ("Contributing: The Associated Press", {}, "AP"),
    ("APTN contributor Kacey Cherry in Buenos Aires helped with this story.", {"contributing": ["Kacey Cherry"]}, None),
    # AP's note of where the byline's reporter worked, sharing the paragraph with the contributors
    ("Gillum reported from Washington. Associated Press writers Dina Cappiello and Matt Apuzzo contributed to this "
     "report from Washington.", {"contributing": ["Dina Cappiello", "Matt Apuzzo"]}, "AP"),
    # prose
    ("Gillum reported from Washington. He said the vote was close.", {}, None),
    ("The company contributed to this report.", {}, None),
    ("Many residents contributed reporting to the inquiry.", {}, None),
    ("Contributing factors included the weather.", {}, None), ("Contributing: rising costs", {}, None),
])
def test_other_outlets_contributor_lines_are_credits(text: str, credits: dict[str, list[str]],
                                                     agency: str | None) -> None:
    assert parse_credit_paragraph(text) == (credits, agency)


@pytest.mark.parametrize(("initials", "agency"), [
    ("bur-sah/rl", "AFP"), ("bur-dar-gl/fz", "AFP"), ("gr/bp", None), ("ia/jj", None),
    # other marks under the copy that name nobody: Yonhap's and PA's end marks, a source line for agencies in
    # general
    ("(END)", None), ("ends", None), ("- ends -", None), ("ENDS", None),
    ("Source: Al Jazeera and news agencies", None), ("Quelle: Agenturen", None),
    ("(avec agences)", None), ("(Con información de agencias)", None),
])
def test_desk_initials_under_the_copy_go_and_name_afp_only_by_its_bureau_mark(initials: str,
                                                                               agency: str | None) -> None:
    # EFE, ANSA and others sign with bare initials too: "gr/bp" says nothing about who wrote the story.
    found = extract(["Madrid officials met on Monday.", "They agreed.", initials])
    assert found.drop == {2}
    assert found.agency == agency


@pytest.mark.parametrize("line", ["Source: World Bank", "Sources: officials", "(END OF STORY) the film's title"])
def test_source_lines_naming_no_agency_stay(line: str) -> None:
    assert extract(["Madrid officials met on Monday.", "They agreed.", line]).drop == set()


@pytest.mark.parametrize(("text", "agency"), [
    ("--IANS", "IANS"), ("— AP", "AP"), ("PTI ABC DEF", "PTI"), ("PTI SKU RT RT", "PTI"),
    ("sri/rc (AFP, AP, Reuters)", "AFP"), ("kle/wa (dpa, afp, rtr)", "dpa"),  # Deutsche Welle's editors and sources
    ("ANC // SR", "Lusa"), ("JYE/ACL // JMR", "Lusa"),
    ("==Kyodo", "Kyodo"), ("Enditem", "Xinhua"), ("EFE gr/bp", "EFE"), ("Source: Reuters", "Reuters"),
    # AAP's wire: the agency and its desk's initials; Ritzau's "/ritzau/"
    ("AAP RTV", "AAP"), ("AAP RTV ar", "AAP"), ("AAP gfr", "AAP"), ("AFP sn", "AFP"), ("/ritzau/", "Ritzau"),
    ("AAP be/", "AAP"), ("AAP be/sr", "AAP"),  # the reporter's initials, and the subeditor's after the slash
    ("(AFP)", "AFP"), ("Reuters Top News", None), ("AP Photo", None), ("The end", None),
    ("Sources: Al Jazeera, AFP", "AFP"),
    # European sites' notes that the story is the wires' copy
    ("Avec AFP", "AFP"), ("(Avec AFP et Reuters)", "AFP"), ("(mit Material von dpa)", "dpa"), ("(dpa/AFP)", "dpa"),
    ("Con información de EFE", "EFE"), ("Com Agência Brasil", "Agência Brasil"), ("Met informatie van ANP", "ANP"),
    ("Bron: ANP", "ANP"), ("(ANSA).", "ANSA"),
    ("— With files from The Canadian Press", "CP"), ("-- With reporting from AFP", "AFP"),
    ("EFE", "EFE"), ("- dpa", "dpa"), ("— Agence France-Presse", "AFP"), ("Reuters.", "Reuters"),
    ("(Quelle: dpa)", "dpa"),
    ("Avec Marie Dupont", None), ("(Reuters/Ipsos)", None), ("Con Air", None),
    ("-- NATO", None), ("PTI", None), ("PTI said on Monday", None), ("he/she (they)", None),
])
def test_an_agencys_sign_off_under_its_copy_names_it(text: str, agency: str | None) -> None:
    assert parse_credit_paragraph(text) == ({}, agency)


@pytest.mark.parametrize("line", ["Reuters", "Source: Reuters", "(dpa/AFP)", "Enditem"])
def test_a_sign_off_counts_only_under_the_copy(line: str) -> None:
    # Higher up (past the lead, whose bylines may be an agency's name), "Reuters" alone is an item of a list
    # and "Source: Reuters" the source of a chart.
    story = [f"Wire services sold news to {n} more outlets in year {n}." for n in range(1, 10)]
    story += ["The largest are:", line, "Their rates rose.", "Outlets pay more each year.", "Some have stopped buying.",
              "Others share the cost."]
    found = extract(story)
    assert (found.drop, found.agency) == (set(), None)
    found = extract([*story, line])
    assert found.drop == {len(story)} and found.agency is not None


@pytest.mark.parametrize(("text", "credits"), [
    ("To contact the reporter on this story: Jane Doe in London at jdoe@bloomberg.net", {"reporting": ["Jane Doe"]}),
    ("To contact the reporters on this story: Jane Doe in London at jdoe@bloomberg.net; John Roe in New York at "
     "jroe@bloomberg.net", {"reporting": ["Jane Doe", "John Roe"]}),
    ("To contact the editors responsible for this story: Sam Lee at slee@bloomberg.net Ann Kay, Mark Ellis",
     {"editing": ["Sam Lee", "Ann Kay", "Mark Ellis"]}),
    ("--With assistance from Jane Doe and John Roe.", {"additional_reporting": ["Jane Doe", "John Roe"]}),
    ("To contact the author of this story: Jane Doe at jdoe@bloomberg.net", {"writing": ["Jane Doe"]}),
    ("To contact the producer of this story: Sam Lee at slee@bloomberg.net", {"production": ["Sam Lee"]}),
])
def test_bloombergs_contact_lines_are_its_credits(text: str, credits: dict[str, list[str]]) -> None:
    assert parse_credit_paragraph(text) == (credits, "Bloomberg")


@pytest.mark.parametrize("text", [
    "With assistance from the government, the town rebuilt.", "To contact the reporter on this story: call us.",
])
def test_prose_like_bloombergs_contact_lines_is_no_credit(text: str) -> None:
    assert parse_credit_paragraph(text) == ({}, None)


@pytest.mark.parametrize(("text", "editors"), [
    ("责任编辑：王五", ["王五"]), ("【编辑：张三】", ["张三"]), ("编辑：张三、李四", ["张三", "李四"]),
    ("编辑们说", None),
])
def test_a_chinese_sites_editors_are_credits(text: str, editors: list[str] | None) -> None:
    assert parse_credit_paragraph(text) == (({"editing": editors}, None) if editors else ({}, None))


@pytest.mark.parametrize(("text", "expected"), [
    ("By ZEKE MILLER and JOSH BOAK Associated Press", (["Zeke Miller", "Josh Boak"], "AP")),
    ("By Jane Doe, Reuters", (["Jane Doe"], "Reuters")),
    ("By JILL COLVIN, AP White House Correspondent", (["Jill Colvin"], "AP")),
    ("By The Associated Press", ([], "AP")),
    ("By John Q. Public", (["John Q. Public"], None)),
    ("By: Patrik Höglund", (["Patrik Höglund"], None)),  # the Google Testing Blog
    ("By Ann Lee, Staff Writer", (["Ann Lee"], None)),
    ("By Tuesday, the storm had weakened.", None),
    ("By late afternoon the crowd had gone.", None),
    # an outlet or the page's date after the names; "Story by"
    ("By Jane Doe, CNN", (["Jane Doe"], None)), ("By Jane Doe, Washington Post", (["Jane Doe"], None)),
    ("By Jane Doe | Dec 1, 2026", (["Jane Doe"], None)), ("By Jane Doe • Published 10:30 GMT", (["Jane Doe"], None)),
    ("Story by Jane Doe", (["Jane Doe"], None)), ("By The Sports Network, Inc.", None),
    ("By Tuesday, 2026 had begun.", None),
    # a reporter and a known agency without "By"; not before a quote, and not a place
    ("Jane Doe | Reuters", (["Jane Doe"], "Reuters")), ("Jane Doe, Bloomberg News", (["Jane Doe"], "Bloomberg")),
    ("Jane Doe for AFP", (["Jane Doe"], "AFP")), ("Jane Doe, The Associated Press", (["Jane Doe"], "AP")),
    ("Mark Gurman, Bloomberg:", None), ("Jane Doe, Washington", None), ("Officials in Baghdad, Reuters", None),
])
def test_byline_paragraphs(text: str, expected: tuple[list[str], str | None] | None) -> None:
    assert parse_byline_paragraph(text) == expected


@pytest.mark.parametrize(("text", "expected"), [
    ("Por Matt Spetalnick e Jason Szep", (["Matt Spetalnick", "Jason Szep"], None)),  # UOL, real
    ("Von Anna Schmidt und Peter Müller, dpa", (["Anna Schmidt", "Peter Müller"], "dpa")),
    ("Par Jean Dupont et Marie Curie", (["Jean Dupont", "Marie Curie"], None)),
    ("Por Juan Pérez y Ana García, EFE", (["Juan Pérez", "Ana García"], "EFE")),
    ("Door Jan de Vries en Piet Jansen", (["Jan de Vries", "Piet Jansen"], None)),
    ("Di Mario Rossi e Luca Bianchi", (["Mario Rossi", "Luca Bianchi"], None)),
    ("Por José Ortega y Gasset", (["José Ortega y Gasset"], None)),  # "y" inside one name
    ("Von Berlin aus fuhr der Zug weiter nach Hamburg.", None),
    ("Par ailleurs, le gouvernement a annoncé une hausse.", None),
    ("Di fronte alla crisi, il governo ha deciso di intervenire.", None),
    ("Door de storm vielen er twee doden.", None),
])
def test_byline_paragraphs_in_other_languages(text: str, expected: tuple[list[str], str | None] | None) -> None:
    assert parse_byline_paragraph(text) == expected


def test_bylines_in_other_languages_and_author_fields() -> None:
    assert parse_byline("Von Anna Schmidt, dpa") == (["Anna Schmidt"], "dpa")
    assert parse_byline("Par Marie Curie | AFP") == (["Marie Curie"], "AFP")
    assert parse_byline("Reuters Staff") == ([], "Reuters")


@pytest.mark.parametrize(("author", "expected"), [
    # real author fields from the corpus (the Guardian, an iTunes feed, the Google Testing blog)
    ("Associated Press in Palm Beach, Florida", ([], "AP")),
    ("Reuters in New York", ([], "Reuters")),
    ("Klaas Heufer-Umlauf, Thomas Schmitt und Jakob Lundt", (["Klaas Heufer-Umlauf", "Thomas Schmitt", "Jakob Lundt"],
                                                             None)),
    ("By Matt Lowrie, Manjusha Parvathaneni, Benjamin Pick, and Jochen Wuttke",
     (["Matt Lowrie", "Manjusha Parvathaneni", "Benjamin Pick", "Jochen Wuttke"], None)),
    # a comma without "and" may name an outlet or a job: not read as a list of people
    ("Jane Doe, Washington Post", None),
    ("Jane Doe, Chief Economist", None),
    # ... but a list joined by "and" is, without the outlet after it
    ("By Jane Doe and John Roe, New York Times", (["Jane Doe", "John Roe"], None)),
    ("Jane Doe, John Roe and Ann Poe", (["Jane Doe", "John Roe", "Ann Poe"], None)),
    # the Guardian's located byline, whose place has a comma of its own; AFP's "with"
    ("Ashifa Kassam in Stanstead, Quebec", (["Ashifa Kassam"], None)),
    ("Jane Doe in London, Reuters", (["Jane Doe"], "Reuters")),
    ("Adel Zaanoun with Guillaume Lavallee in Jerusalem", (["Adel Zaanoun", "Guillaume Lavallee"], None)),
    # journals' "Surname, Initials" lists (Science, bioRxiv)
    ("Ash, C., Mueller, K. L.", (["Ash, C.", "Mueller, K. L."], None)),
    ("Martin, K., de Jager, M., Dallery, J.-F., Pino del Carpio, D.",
     (["Martin, K.", "de Jager, M.", "Dallery, J.-F.", "Pino del Carpio, D."], None)),
])
def test_author_fields_listing_people_or_naming_an_agency(author: str, expected: object) -> None:
    assert parse_byline(author) == expected


def test_staff_and_agencies_is_nobody() -> None:
    assert is_non_person("Staff and agencies")


@pytest.mark.parametrize("author", ["noreply@blogger.com (Unknown)", "Anonymous", "By", "Author", "user"])
def test_a_cms_placeholder_for_no_author_is_nobody(author: str) -> None:
    article = normalize(raw_item(1, body="<p>Oil rose on Monday.</p>").model_copy(update={"authors": [author]}),
                        datetime(2024, 1, 12, tzinfo=UTC))
    assert article.byline == []


def test_names_after_a_located_name_are_places_only_at_the_end() -> None:
    assert split_names("Ann Lee in Beirut and Dubai") == ["Ann Lee"]
    assert split_names("Ann Lee in Beirut, Bo Chan and Cy Diaz in Paris") == ["Ann Lee", "Bo Chan", "Cy Diaz"]
    assert split_names("ANN O'LEE & BO CHAN") == ["Ann O'Lee", "Bo Chan"]
    assert split_names("the desk") is None


@pytest.mark.parametrize(("name", "agency"), [
    ("Reuters", "Reuters"), ("Thomson Reuters", "Reuters"), ("The Associated Press", "AP"), ("AP", "AP"),
    ("Agence France-Presse", "AFP"), ("dpa", "dpa"), ("DPA", "dpa"), ("Bloomberg News", "Bloomberg"),
    ("UPI", "UPI"), ("ANSA", "ANSA"), ("EFE", "EFE"), ("Kyodo News", "Kyodo"), ("Xinhua", "Xinhua"),
    ("PA Media", "PA"), ("AAP", "AAP"), ("ANA-MPA", "ANA"), ("Yonhap News Agency", "Yonhap"),
    ("By Reuters Staff", "Reuters"), ("AP Newsroom", "AP"),
    ("Ana", None), ("ap", None), ("Reuters Breakingviews", "Reuters"), ("Daily Ledger", None),
    ("MTI", "MTI"), ("Hungarian News Agency", "MTI"), ("Keystone-ATS", "Keystone-SDA"), ("SDA", None),
    ("Syrian Arab News Agency", "SANA"), ("Dow Jones Newswires", "Dow Jones"), ("Agência Brasil", "Agência Brasil"),
    ("LETA", "LETA"), ("Leta", None), ("Hina", None), ("Petra", None), ("Dow Jones", None),
    ("ТАСС", "TASS"), ("РИА Новости", "RIA Novosti"), ("Интерфакс", "Interfax"),
    ("Associated Press of Pakistan", "APP"), ("APP", None),  # an app, except inside a dateline's brackets
])
def test_agencies_by_all_their_names(name: str, agency: str | None) -> None:
    assert canonical_agency(name) == agency


def test_agencies_named_inside_text() -> None:
    assert find_agency("AP White House Correspondent") == "AP"
    assert find_agency("for the Associated Press") == "AP"
    assert find_agency("a staff writer") is None
    assert find_agency("Leta Hong Fincher") is None  # a name, not Latvia's LETA
    assert find_agency("مدينة قنا في صعيد مصر") is None  # Qena, a city, not Qatar's QNA


def test_author_fields_lose_email_addresses() -> None:
    assert clean_author("jdoe@example.com (Jane Doe)") == "Jane Doe"
    assert clean_author("jdoe@example.com") is None
    assert clean_author("  Jane Doe ") == "Jane Doe"


@pytest.mark.parametrize(("author", "name"), [
    ("jdoe@example.com (Jane Doe)", "Jane Doe"),
    ("a@b@c (Jane Doe)", "Jane Doe"),
    ("@a@b (Jane Doe)", "Jane Doe"),
    ("@@b(Jane Doe)", "Jane Doe"),
    ("a@((Jane Doe)", "Jane Doe"),
    ("a@b (x) (Jane Doe)", None),  # a space inside the address: not one
    ("@b (Jane Doe)", None),
    ("a@ (Jane Doe)", None),
    ("a@b (Jane (Doe))", None),
])
def test_an_address_with_a_name_in_brackets_gives_the_name(author: str, name: str | None) -> None:
    assert clean_author(author) == name


class _Recording:
    """A pattern's stand-in that remembers the length of every text it was asked to match."""

    def __init__(self, pattern: re.Pattern[str]) -> None:
        self.pattern = pattern
        self.lengths: list[int] = []

    def fullmatch(self, text: str) -> re.Match[str] | None:
        self.lengths.append(len(text))
        return self.pattern.fullmatch(text)


def test_an_author_field_too_long_to_be_a_name_is_not_searched(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hostile "x@x@x@…" author or credit reaches no pattern, and names nobody."""
    recording = _Recording(agencies._EMAIL_WITH_NAME)
    monkeypatch.setattr(agencies, "_EMAIL_WITH_NAME", recording)
    hostile = "x@" * 4_000 + "(Jane Doe)"
    item = raw_item(1, body="<p>Oil rose on Monday.</p>").model_copy(
        update={"authors": [hostile, "jdoe@example.com (Ann Lee)"], "credits": {"editing": [hostile]}})
    article = normalize(item, datetime(2024, 1, 12, tzinfo=UTC))
    assert article.byline == ["Ann Lee"]
    assert "editing" not in article.credits
    assert recording.lengths and max(recording.lengths) <= agencies.MAX_AUTHOR_CHARS
    assert clean_author("Jane Doe, " * 200) is None


@pytest.mark.parametrize(("author", "name"), [
    ("Damian Carrington Environment editor", "Damian Carrington"),  # the Guardian's authors
    ("Jason Burke Africa correspondent", "Jason Burke"),
    ("Dan Sabbagh Defence and security editor", "Dan Sabbagh"),
    ("Alex Hern UK technology editor", "Alex Hern"),
    ("Mary Jane Smith Science writer", "Mary Jane Smith"),
    ("Jane Doe editor", "Jane Doe editor"),  # no name in full would be left
    ("Macworld Staff", "Macworld Staff"),
    ("First Dog on the Moon", "First Dog on the Moon"),
    ("Nick Ames (now), Ed Aarons and Ben Fisher (earlier)", "Nick Ames, Ed Aarons and Ben Fisher"),  # live blogs
    ("Jane Doe (Reuters)", "Jane Doe (Reuters)"),  # the agency stays for the byline reader
    # a CMS's label before the name
    ("Posted by Jane Doe", "Jane Doe"), ("Written by: Jane Doe", "Jane Doe"), ("Author: Luke", "Luke"),
    ("Autor: Hans Müller", "Hans Müller"), ("by jane doe", "jane doe"), ("Byron Smith", "Byron Smith"),
])
def test_an_authors_desk_title_is_not_part_of_the_name(author: str, name: str) -> None:
    assert clean_author(author) == name


@pytest.mark.parametrize(("title", "expected"), [
    ("UPDATE 2-Oil rises", ("Oil rises", ["UPDATE 2"], 3)),
    ("REFILE-UPDATE 1-Oil rises", ("Oil rises", ["REFILE", "UPDATE 1"], 2)),
    ("CORRECTED-Oil rises", ("Oil rises", ["CORRECTED"], None)),
    ("EXCLUSIVE-WRAPUP 1-Oil rises", ("Oil rises", ["EXCLUSIVE", "WRAPUP 1"], None)),
    ("RPT-BREAKINGVIEWS-Oil rises", ("Oil rises", ["RPT", "BREAKINGVIEWS"], None)),
    ("FACTBOX-What is OPEC+?", ("What is OPEC+?", ["FACTBOX"], None)),
    ("ANALYSIS-Oil rises", ("Oil rises", ["ANALYSIS"], None)),
    ("UPDATE 2 - Oil rises", ("Oil rises", ["UPDATE 2"], 3)),
    ("UPDATE\n   2-Oil rises", ("Oil rises", ["UPDATE 2"], 3)),
    ("RECASTS-Oil rises", ("Oil rises", ["RECASTS"], None)),
    ("BULLETIN-Quake hits", ("Quake hits", ["BULLETIN"], None)),
    ("UPDATE 2026-Oil rises", ("UPDATE 2026-Oil rises", [], None)),
    ("Update: oil rises", ("Update: oil rises", [], None)),
    ("UPDATE-", ("UPDATE-", [], None)),
    ("US-China talks resume", ("US-China talks resume", [], None)),
    # dpa's and dpa-AFX's prefixes end in a colon and chain with a slash
    ("ROUNDUP 2: Merz will Reform", ("Merz will Reform", ["ROUNDUP 2"], 3)),
    ("WDH/ROUNDUP: Merz will Reform", ("Merz will Reform", ["WDH", "ROUNDUP"], None)),
    ("KORREKTUR: Merz will Reform", ("Merz will Reform", ["KORREKTUR"], None)),
    ("ROUNDUP/Umfrage: Mehrheit für Reform", ("Mehrheit für Reform", ["ROUNDUP", "Umfrage"], None)),
    ("WDH/ROUNDUP 2/Kreise: Siemens prüft Verkauf", ("Siemens prüft Verkauf", ["WDH", "ROUNDUP 2", "Kreise"], 3)),
    ("ROUNDUP/Merz: Wir brauchen Reformen", ("Merz: Wir brauchen Reformen", ["ROUNDUP"], None)),  # a speaker
    ("ANALYSE: Warum die Zinsen steigen", ("Warum die Zinsen steigen", ["ANALYSE"], None)),
    ("EIL: Bundestag wählt Merz zum Kanzler", ("Bundestag wählt Merz zum Kanzler", ["EIL"], None)),
    ("Eil: Bundestag wählt Merz", ("Eil: Bundestag wählt Merz", [], None)),  # dpa writes its prefixes in capitals
    ("URGENTE: Terremoto sacude el sur de México", ("Terremoto sacude el sur de México", ["URGENTE"], None)),
    ("UPDATE: Police name the driver", ("Police name the driver", ["UPDATE"], None)),
    ("US/China talks resume", ("US/China talks resume", [], None)),
    # STT's machine translations end their headline with a note to the desk
    ("Parliament passed the Alcohol Act*** TRANSLATED ***", ("Parliament passed the Alcohol Act", [], None)),
    ("*** TRANSLATED *** UPDATE 1-Oil rises", ("Oil rises", ["UPDATE 1"], 2)),
    ("*** TRANSLATED ***", ("", [], None)),
    ("Stars ***** for the show", ("Stars ***** for the show", [], None)),
])
def test_headline_prefixes_are_stripped_and_listed(
    title: str, expected: tuple[str, list[str], int | None],
) -> None:
    assert strip_prefixes(title) == expected


@pytest.mark.parametrize(("title", "slugline", "expected"), [
    ("PRECIOUS-Gold rises", "GLOBAL-PRECIOUS/ (UPDATE 1)", ("Gold rises", ["PRECIOUS"], None)),
    ("Soccer-Turkish championship results", "SOCCER-TURKEY/RESULTS", ("Turkish championship results", ["Soccer"],
                                                                      None)),
    ("UPDATE 2-OIL-Prices rise", "GLOBAL-OIL/", ("Prices rise", ["UPDATE 2", "OIL"], 3)),
    ("US STOCKS-Wall St rallies", "USA-STOCKS/US STOCKS", ("Wall St rallies", ["US STOCKS"], None)),
    # The headline's own compound, whose next word is a topic as well:
    ("US-Syria talks resume", "US-SYRIA-CRISIS", ("US-Syria talks resume", [], None)),
    ("EU-China trade deal", "CHINA-EU/TRADE (UPDATE 1)", ("EU-China trade deal", [], None)),
    ("Climate-smart farming spreads", "Climate-smart food", ("Climate-smart farming spreads", [], None)),
    # A prefix the slugline does not name, or no slugline at all, stays:
    ("PRECIOUS-Gold rises", "USA-ECONOMY/", ("PRECIOUS-Gold rises", [], None)),
    ("OSS-Fuzz: five months later", None, ("OSS-Fuzz: five months later", [], None)),
    ("Gold rises", "GLOBAL-PRECIOUS/", ("Gold rises", [], None)),
])
def test_a_topic_of_the_slugline_opening_the_headline_is_stripped(
    title: str, slugline: str | None, expected: tuple[str, list[str], int | None],
) -> None:
    assert strip_prefixes(title, slugline) == expected


def test_extract_reads_lead_byline_dateline_and_final_credits() -> None:
    paragraphs = [
        "Reuters",
        "BAGHDAD (Reuters) – Baghdad and Washington agreed.",
        "More text.",
        "(Reporting by Timour Azhari; Editing by Alison Williams)",
    ]
    found = extract(paragraphs)
    assert (found.place, found.dateline_agency, found.agency) == ("BAGHDAD", "Reuters", "Reuters")
    assert found.credits == {"reporting": ["Timour Azhari"], "editing": ["Alison Williams"]}
    assert found.drop == {0, 3}


def test_extract_skips_bullets_and_drops_editors_notes_before_the_dateline() -> None:
    paragraphs = ["* Brent up 1%", "(Adds quote in paragraph 4)", "LONDON (Reuters) - Oil rose.", "Text."]
    found = extract(paragraphs)
    assert found.place == "LONDON"
    assert found.drop == {1}


@pytest.mark.parametrize(("line", "credits"), [
    ("(Reporting by Ann Lee; additional reporting by Reuters and AFP)", {"reporting": ["Ann Lee"]}),
    ("Reporting by Reuters; Editing by Bo Chan", {"editing": ["Bo Chan"]}),
    ("Reuters and AFP contributed to this report.", {}),
])
def test_an_agency_in_a_credit_line_is_the_agency_not_a_person(line: str, credits: dict[str, list[str]]) -> None:
    found = extract(["Officials met on Monday to discuss the budget.", line])
    assert (found.credits, found.agency, found.drop) == (credits, "Reuters", {1})


def test_a_credit_line_at_the_end_of_the_last_paragraph_is_trimmed() -> None:
    last = "It fell later. (Reporting by Ann Lee; Editing by Bo Chan)"
    found = extract(["LONDON (Reuters) - Oil rose.", last])
    assert found.trims == {1: "It fell later."}
    assert found.credits == {"reporting": ["Ann Lee"], "editing": ["Bo Chan"]}


def test_a_dateline_deep_in_the_story_is_not_the_dateline() -> None:
    found = extract(["First paragraph.", "Second paragraph.", "PARIS (AP) — Third."])
    assert found.place is None


def test_labelled_fields_and_slugs_above_the_dateline_are_the_copys_header() -> None:
    paragraphs = [  # AAP's copy by e-mail (superdesk-core's odd_charset_email.txt)
        "SDA",
        "Headline: Senden defends but Scott favourite",
        "Abstract: John Senden defends his Valspar Championship this week.",
        "Gol PGA",
        "By Ben Everill",
        "LOS ANGELES, March 10 AAP – Adam Scott is hoping to live up to his favourite tag.",
        "Scott lines up this week.",
    ]
    found = extract(paragraphs)
    assert (found.place, found.agency, found.byline) == ("LOS ANGELES", "AAP", ["Ben Everill"])
    assert found.fields == {"headline": "Senden defends but Scott favourite",
                            "abstract": "John Senden defends his Valspar Championship this week."}
    assert found.drop == {0, 1, 2, 3, 4}


def test_short_lines_stay_in_the_story_when_no_dateline_follows() -> None:
    paragraphs = ["Analysis", "First paragraph.", "Second paragraph.", "PARIS (AP) — Third."]
    found = extract(paragraphs)
    assert (found.place, found.drop) == (None, set())


@pytest.mark.parametrize(("paragraphs", "fields", "drop"), [
    # one label and nothing after it that a header would have: a blog post's own first line
    (["Keywords: kafka, streams", "Today I moved our pipeline to Kafka.", "It went well."], {}, set()),
    # one label above a dateline: the copy's header
    (["Headline: Oil rises", "LONDON (Reuters) - Oil rose."], {"headline": "Oil rises"}, {0}),
    # two labels with no dateline: a header still
    (["Headline: Oil rises", "Abstract: Oil rose on Monday.", "Oil rose."],
     {"headline": "Oil rises", "abstract": "Oil rose on Monday."}, {0, 1}),
])
def test_labelled_lines_are_a_header_only_above_a_dateline_or_together(
    paragraphs: list[str], fields: dict[str, str], drop: set[int],
) -> None:
    found = extract(paragraphs)
    assert (found.fields, found.drop) == (fields, drop)


def test_a_labelled_field_deep_in_the_story_is_story_text() -> None:
    paragraphs = ["LONDON (Reuters) - Oil rose.", "Headline: a word the story quotes."]
    assert extract(paragraphs).drop == set()


def test_the_copys_headline_and_abstract_fill_a_missing_title_and_summary() -> None:
    raw = raw_item(1, body="<p>Headline: UPDATE 1-Senden defends</p><p>Abstract: Senden defends his title.</p>"
                           "<p>LOS ANGELES, March 10 AAP – Adam Scott is the favourite.</p>")
    raw = raw.model_copy(update={"title": None})
    article = normalize(raw, datetime(2024, 1, 12, tzinfo=UTC))
    assert (article.title, article.summary) == ("Senden defends", "Senden defends his title.")
    assert (article.wire_prefixes, article.version) == (["UPDATE 1"], 2)  # the headline's prefix, as a title's
    assert article.body_text == "LOS ANGELES, March 10 AAP – Adam Scott is the favourite."


@pytest.mark.parametrize(("fixture", "place", "agency"), [
    ("ap.xml", "FORT WASHINGTON, Pa.", "AP"),  # "(AP) _"
    ("aap-finance.xml", "SEOUL", "AFP"),  # "SEOUL, Nov 26 AFP -"
    ("mapping_test.xml", "København", "Ritzau"),  # "/ritzau/:"
    # the dateline field holds a time of filing; the place comes from the text
    ("tag_reuters.com_2014_newsml_KBN0FL0NN_version_5", "DAMASCUS", "Reuters"),
    ("ana1.xml", None, None),  # the dateline field holds "4/4/2018" and the text has none
    ("ansa-newsmlg2-text.xml", "Rome", "ANSA"),  # "(ANSA) - Rome, October 11 -"
    ("dpa_two_by_line.txt", "San Diego", "dpa"),  # "San Diego (tca/dpa) -": dpa sent a partner's story
    ("odd_charset_email.txt", "LOS ANGELES", "AAP"),  # below "SDA", "Headline:", "Abstract:", a slug, a byline
    ("scoop.xml", None, "BusinessDesk"),  # "Jan. 12 (BusinessDesk) -": dated, no place
])
def test_real_wire_copy_gives_its_dateline(fixture: str, place: str | None, agency: str | None) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    raw = corpus_items(f"superdesk-core/tests/io/fixtures/{fixture}", now)[0]
    article = normalize(raw, now)
    assert (article.dateline.place, article.dateline.agency) == (place, agency)


@pytest.mark.parametrize(("fixture", "providers", "agency"), [
    # NewsML-G2: creditline, infoSource, provider, copyright holder; no dateline in the text
    ("superdesk-core/tests/io/fixtures/tag_reuters.com_2014_newsml_KBN0FL0NM_version_10",
     ["Reuters", "reuters.com", "Thomson Reuters"], "Reuters"),
    ("superdesk-core/tests/io/fixtures/stt_newsml_location_rich.xml", ["STT–AFP", "STT"], "AFP"),  # STT sends AFP
    ("superdesk-core/tests/io/fixtures/stt1.xml", ["STT–", "STT"], "STT"),
    ("iptc-newsml-g2/examples/LISTING_1_A_NewsML-G2_News_Item.xml", ["REUTERS", "Example Enews LLP"],
     "Reuters"),  # a provider by QCode: nprov:REUTERS
    # ninjs: Superdesk's "source" is where the copy came from; AAP holds the copyright of what it sends
    ("superdesk-core/tests/io/fixtures/ninjs2.json", ["Reuters", "Australian Associated Press"], "Reuters"),
    ("iptc-ninjs/examples/3.0/ap_audio.json", ["ASSOCIATED PRESS"], "AP"),  # 3.x "infoSources"
    ("iptc-ninjs/examples/2.1/tt_text_image_2.json", ["TT"], "TT"),
    # NITF: distributor, copyright holder
    ("superdesk-core/tests/io/fixtures/pa3.xml", ["Press Association"], "PA"),
    ("superdesk-core/tests/io/fixtures/handle_invalid_fields.xml",
     ["THE CANADIAN PRESS", "The Canadian Press. All rights reserved."], "CP"),
    # NewsML 1: Provider party, provider id
    ("superdesk-core/tests/io/fixtures/ana1.xml", ["ΑΠΕ-ΜΠΕ", "ana-mpe.gr"], "ANA"),
    ("superdesk-core/tests/io/fixtures/ninjs_embargoed.json", ["360info"], None),  # not an agency
])
def test_wire_formats_name_their_providers_and_the_agency_is_read_from_them(
        fixture: str, providers: list[str], agency: str | None) -> None:
    now = datetime(2024, 1, 1, tzinfo=UTC)
    raw = corpus_items(fixture, now)[0]
    assert raw.providers == providers
    assert normalize(raw, now).agency == agency


@pytest.mark.parametrize(("field", "expected"), [
    # byline fields of real wire items (superdesk fixtures: NITF, NewsML-G2)
    ("By Alan Karben, NITF Network News Online", (["Alan Karben"], None)),  # the outlet is not a person
    ("By Staff Reporter, BusinessDesk", ([], "BusinessDesk")),  # New Zealand's business wire, by nobody
    ("Reuters, MAR 04", ([], "Reuters")),
    ("Mia Rabson and Jordan Press", (["Mia Rabson", "Jordan Press"], None)),
    ("degenhardt.sandra", ([], None)),  # dpa's CMS login: no name to print
    ("REUTERS TV", ([], "Reuters")), ("dpa correspondents", ([], "dpa")),  # an agency's service
    ("Associated Press Writer", ([], "AP")),
    ("Bob Staff", (["Bob Staff"], None)),
    ("gr/bp", ([], None)),  # EFE's desk initials
    ("Alan Karben,\n\t\tNITF Network News Online", (["Alan Karben"], None)),
    ("ANTTI AUTIO, HETA HASSINEN", (["Antti Autio", "Heta Hassinen"], None)),  # STT's NewsML-G2
    ("Trond Husø, The Anti-Doping Database", (["Trond Husø"], None)),
    ("Geir Molnes / Faktisk.no", (["Geir Molnes"], None)),  # NTB's NewsML-G2: the outlet after a slash
    ("A3576/_Maurizio Gambarini", (["Maurizio Gambarini"], None)),  # AAP's ninjs: a photographer's staff code
    ("AAP Image/Dan Himbrechts", (["Dan Himbrechts"], "AAP")),  # an agency's picture service is no person
    ("AP, Jane Doe", (["Jane Doe"], "AP")),  # the agency first: the person still named
    ("Jane Doe/Getty Images", (["Jane Doe"], None)),
])
def test_a_formats_byline_field_is_read_or_kept_as_given(field: str, expected: object) -> None:
    assert parse_byline_field(field) == expected


@pytest.mark.parametrize(("prefixes", "numbered"), [(["UPDATE 1"], True), (["REFILE", "ROUNDUP 2"], True),
                                                    (["REFILE"], False), (["ROUNDUP"], False), ([], False)])
def test_only_a_numbered_update_or_roundup_numbers_a_storys_version(prefixes: list[str], numbered: bool) -> None:
    assert numbers_version(prefixes) is numbered
