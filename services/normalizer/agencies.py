"""News agencies by every name they go by, and who a feed's author or byline string names."""

from __future__ import annotations

import re

# Canonical name -> spelled-out names (matched case-insensitively) and acronyms (matched as written,
# so a reporter called "Ana" is not taken for the Athens News Agency).
_AGENCIES: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "Reuters": (("reuters", "thomson reuters", "reuters breakingviews", "رويترز", "ロイター"), ()),
    "AP": (("associated press", "the associated press"), ("AP",)),
    "AFP": (("agence france-presse", "agence france presse", "agence france-press", "أ ف ب", "ا ف ب", "أ.ف.ب"),
            ("AFP",)),
    "dpa": (("deutsche presse-agentur", "deutsche presse agentur", "د ب أ"), ("dpa", "DPA")),
    "Bloomberg": (("bloomberg", "bloomberg news"), ()),
    "UPI": (("united press international",), ("UPI",)),
    "ANSA": (("agenzia nazionale stampa associata",), ("ANSA", "Ansa")),
    "EFE": (("agencia efe",), ("EFE", "Efe")),
    "Kyodo": (("kyodo", "kyodo news", "共同通信"), ()),
    "Xinhua": (("xinhua", "xinhua news agency", "新华社", "新華社", "شينخوا"), ()),
    "China News Service": (("china news service", "中新社", "中新网"), ()),
    "PA": (("pa media", "press association"), ("PA",)),
    "AAP": (("australian associated press",), ("AAP",)),
    "ANA": (("athens news agency", "ana-mpa", "ana-mpe", "απε-μπε"), ("ANA", "ANA-MPA")),
    "Yonhap": (("yonhap", "yonhap news agency", "연합뉴스"), ()),
    "Newsis": (("newsis", "뉴시스"), ()),
    "News1": (("news1", "뉴스1"), ()),
    "CP": (("the canadian press", "canadian press"), ("CP",)),
    "PTI": (("press trust of india",), ("PTI",)),
    "IANS": (("indo-asian news service",), ("IANS",)),
    "TASS": (("itar-tass", "итар-тасс"), ("TASS", "Tass", "ТАСС")),
    "Interfax": (("interfax", "интерфакс", "interfax.ru"), ()),
    "RIA Novosti": (("ria novosti", "риа новости"), ("RIA",)),
    "Anadolu": (("anadolu", "anadolu agency"), ()),
    "Jiji": (("jiji", "jiji press", "時事通信"), ()),
    "Bernama": (("bernama",), ()),
    "Antara": (("antara",), ()),
    "KUNA": (("kuwait news agency",), ("KUNA",)),
    "WAFA": (("wafa",), ()),
    "IRNA": (("islamic republic news agency",), ("IRNA",)),
    "MENA": (("middle east news agency", "أ ش أ"), ("MENA",)),
    "Belga": (("belga",), ()),
    "ANP": (("algemeen nederlands persbureau",), ("ANP",)),
    "APA": (("austria presse agentur",), ("APA",)),
    "Lusa": (("lusa",), ()),
    "NTB": (("norsk telegrambyra",), ("NTB",)),
    "TT": (("tidningarnas telegrambyra",), ("TT",)),
    "Ritzau": (("ritzau",), ()),
    "STT": (("suomen tietotoimisto", "finnish news agency"), ("STT",)),
    "CTK": (("czech news agency",), ("CTK", "ČTK")),
    "PAP": (("polish press agency",), ("PAP",)),
    "Europa Press": (("europa press",), ()),
    "CNA": (("central news agency",), ("CNA",)),
    # Europe's national agencies beyond the big ones, and others wire desks take copy from. A name that is
    # also a word or a person's (MAP, AA, Petra, Mehr; Leta, Hina; Dow Jones, WSJ's publisher) or another
    # wire's code (AAP heads copy "SDA") is left out, or kept only as its acronym in capitals.
    "AGI": (("agenzia giornalistica italia",), ("AGI",)),
    "Adnkronos": (("adnkronos",), ()),
    "LaPresse": (("lapresse",), ()),
    "Keystone-SDA": (("keystone-sda", "keystone-ats", "schweizerische depeschenagentur"), ()),
    "KNA": (("katholische nachrichten-agentur",), ()),
    "epd": (("evangelischer pressedienst",), ("epd",)),
    "MTI": (("magyar távirati iroda", "hungarian news agency"), ("MTI",)),
    "BTA": (("bulgarian news agency",), ("BTA",)),
    "HINA": (("croatian news agency",), ("HINA",)),
    "STA": (("slovenian press agency",), ("STA",)),
    "TASR": (("news agency of the slovak republic",), ("TASR",)),
    "Agerpres": (("agerpres",), ()),
    "Tanjug": (("tanjug",), ()),
    "LETA": ((), ("LETA",)),
    "ELTA": ((), ("ELTA",)),
    "BNS": (("baltic news service",), ("BNS",)),
    "Ukrinform": (("ukrinform", "укрінформ", "укринформ"), ()),
    "UNIAN": (("unian",), ("UNIAN", "УНІАН", "УНИАН")),
    "ANI": (("asian news international",), ("ANI",)),
    "APP": (("associated press of pakistan",), ()),
    "UNI": (("united news of india",), ()),
    "BSS": (("bangladesh sangbad sangstha",), ()),
    "PNA": (("philippine news agency",), ("PNA",)),
    "VNA": (("vietnam news agency", "thông tấn xã việt nam"), ("VNA", "TTXVN")),
    "SANA": (("syrian arab news agency",), ("SANA",)),
    "WAM": (("emirates news agency",), ("WAM",)),
    "QNA": (("qatar news agency",), ("QNA",)),
    "SPA": (("saudi press agency",), ("SPA",)),
    "Prensa Latina": (("prensa latina",), ()),
    "Notimex": (("notimex",), ()),
    "Agência Brasil": (("agência brasil", "agencia brasil"), ()),
    "Dow Jones": (("dow jones newswires",), ()),
    # New Zealand's business wire, which Scoop carries: "Jan. 12 (BusinessDesk) -", "(BusinessDesk)" under its copy
    "BusinessDesk": (("businessdesk",), ()),
    # national agencies further east and south, by names no prose uses for anything else
    "KCNA": (("korean central news agency",), ("KCNA",)),
    "BelTA": (("belta", "belarusian telegraph agency"), ()),
    "Kazinform": (("kazinform",), ()),
    "AZERTAC": (("azertac",), ()),
    "Armenpress": (("armenpress",), ()),
    "Montsame": (("montsame",), ()),
    "Pajhwok": (("pajhwok", "pajhwok afghan news"), ()),
    "Télam": (("télam", "telam"), ()),
    "SAnews": (("sanews",), ()),
    "ISNA": (("iranian students' news agency", "iranian students news agency"), ("ISNA",)),
    "Tasnim": (("tasnim", "tasnim news agency"), ()),
    # the press-release wires, whose datelines carry their name as an agency's: "ROUND ROCK, Texas--(BUSINESS
    # WIRE)--", "NEW YORK, Dec. 1, 2026 /PRNewswire/ --", "(GLOBE NEWSWIRE) --", Canada's "/CNW/ -",
    # "/ ACCESSWIRE / December 1, 2026 /", "--(Newsfile Corp. - December 1, 2026) -"
    "Business Wire": (("business wire", "businesswire", "美國商業資訊", "美国商业资讯"), ()),
    "PR Newswire": (("pr newswire", "prnewswire", "美通社"), ()),
    "GlobeNewswire": (("globe newswire", "globenewswire"), ()),
    "CNW": (("canada newswire", "cnw group"), ()),
    "ACCESSWIRE": (("accesswire",), ()),
    "Newsfile": (("newsfile", "newsfile corp"), ()),
}
# Names left out above for being a word, a person's or another wire's code, yet unmistakable as the whole
# of a dateline's brackets after a place: Keystone-SDA's "Zürich (sda) -" and "Genève (ats) -",
# Anadolu's "ISTANBUL (AA) -", "Riga (Leta) -", "Zagreb (Hina) -", "Bonn (KNA) -", "ISLAMABAD, Dec 1 (APP):",
# "New Delhi, Dec 1 (UNI)", "DHAKA, Dec 1 (BSS) -", and Kyodo's and Jiji's "【ワシントン共同】", "【北京時事】".
_IN_DATELINES = {
    "sda": "Keystone-SDA", "SDA": "Keystone-SDA", "ats": "Keystone-SDA", "ATS": "Keystone-SDA", "AA": "Anadolu",
    "Leta": "LETA", "Hina": "HINA", "KNA": "KNA", "kna": "KNA", "APP": "APP", "UNI": "UNI", "BSS": "BSS",
    "CNW": "CNW",
    "共同": "Kyodo", "時事": "Jiji",
    # and the Arab, African and Asian agencies' codes, which are also words or other things' abbreviations:
    # Jordan's "Amman (Petra) -", Iran's "(Mehr)" and "(Fars)", Iraq's "(INA)", Lebanon's "(NNA)", Oman's
    # "(ONA)", Bahrain's "(BNA)", Morocco's "(MAP)", Tunisia's "(TAP)", Algeria's "(APS)", Ethiopia's "(ENA)",
    # Nigeria's "(NAN)", Bangladesh's "(UNB)", Nepal's "(RSS)", Uzbekistan's "(UzA)"
    "Petra": "Petra", "Mehr": "Mehr", "Fars": "Fars", "UzA": "UzA", "INA": "INA", "NNA": "NNA", "ONA": "ONA",
    "BNA": "BNA", "MAP": "MAP", "TAP": "TAP", "APS": "APS", "ENA": "ENA", "NAN": "NAN", "UNB": "UNB", "RSS": "RSS",
    # Arabic agencies' short names, which are also words or places: WAM's "وام", QNA's "قنا" (Qena), SANA's
    # "سانا", KUNA's "كونا", SPA's "واس", Anadolu's "الأناضول" (Anatolia)
    "وام": "WAM", "قنا": "QNA", "سانا": "SANA", "كونا": "KUNA", "واس": "SPA", "الأناضول": "Anadolu",
    # and Iran's in Persian: IRNA's "ایرنا", ISNA's "ایسنا", ILNA's "ایلنا", Mehr's "مهر" ("seal"), Tasnim's
    # "تسنیم", Fars' "فارس" (the province)
    "ایرنا": "IRNA", "ایسنا": "ISNA", "ایلنا": "ILNA", "مهر": "Mehr", "تسنیم": "Tasnim", "فارس": "Fars",
}
#: Dateline codes that are also common abbreviations in prose ("Alcoholics Anonymous (AA) - a fellowship"):
#: a dateline with one of these needs its place in capitals or a date.
PROSE_ABBREVIATIONS = frozenset({"AA", "APP", "UNI", "BSS", "INA", "NNA", "ONA", "BNA", "MAP", "TAP", "APS", "ENA",
                                 "NAN", "UNB", "RSS"})
_BY_NAME = {name: canon for canon, (names, _) in _AGENCIES.items() for name in names}
_BY_ACRONYM = {acronym: canon for canon, (_, acronyms) in _AGENCIES.items() for acronym in acronyms}
# Every word of every name and acronym but the common ones, which every name has another word beside: a
# text with none of these names no agency.
_COMMON_WORDS = frozenset({"the", "news", "press", "agency", "of", "service", "international", "national", "media"})
_AGENCY_WORDS = frozenset(word for name in [*_BY_NAME, *map(str.casefold, _BY_ACRONYM)] for word in name.split()
                          if word not in _COMMON_WORDS)
# Words around an agency's name in author fields: "By Reuters", "Reuters Staff", "AP Newsroom".
_DECORATION = re.compile(
    r"^(?:by\s+)?(?:the\s+)?|\s+(?:staff|newsroom|news desk|desk|wire|wires|editors?|reporters?)$",
    re.IGNORECASE,
)
_ANY_NAME = re.compile(
    r"\b(?:" + "|".join(re.escape(n) for n in sorted(_BY_NAME, key=len, reverse=True)) + r")\b",
    re.IGNORECASE,
)
_ANY_ACRONYM = re.compile(
    r"(?<![\w-])(?:" + "|".join(re.escape(a) for a in sorted(_BY_ACRONYM, key=len, reverse=True))
    + r")(?![\w-])",
)
NON_PERSONS = frozenset({
    "admin", "administrator", "staff", "editor", "editors", "newsroom", "news desk", "web desk", "wire",
    "wires", "wire services", "staff reporter", "staff writer", "the editors", "editorial staff", "desk",
    "staff and agencies", "agencies",
    # placeholders a CMS writes when it knows no author: Blogger's "noreply@blogger.com (Unknown)"
    "unknown", "anonymous", "author", "by", "user", "guest", "n/a", "none", "null",
})
# The Guardian's authors carry their desk after the name: "Damian Carrington Environment editor", "Dan Sabbagh
# Defence and security editor". One capitalised word starts the desk; the title ends it, in lower case.
_DESK_TITLE = re.compile(r"\s+[A-Z][\w’'-]*(?:\s+[a-z]+)*\s+(?:editor|correspondent|reporter|writer|columnist)$")
# A remark in brackets, all lower case: the Guardian's live blogs credit "Nick Ames (now) and Ed Aarons
# (earlier)". "(Reuters)" is capitalised and stays, for the agency.
_REMARK = re.compile(r"\s*\([a-z]+(?: [a-z]+){0,3}\)")
# "jdoe@example.com (Jane Doe)". The address splits at its first "@" after one character, so the pattern
# has one way to place it: "\S+@\S+" tried every "@" against every end, and an author "x@x@x@…" of 64 KB
# took 40 s.
_EMAIL_WITH_NAME = re.compile(r"\S[^\s@]*@\S+\s*\((?P<name>[^()]+)\)")
# An author field is a name or a short list of names (the corpus's longest, a paper's 17 authors, is
# about 250 characters); a longer one is hostile text, and searching it for labels, names and desks is not done.
MAX_AUTHOR_CHARS = 1_000
# A label a CMS writes before the name: "Posted by", "Written by:", "Author:", "Autor:", "by" in any case.
_AUTHOR_LABEL = re.compile(r"(?:(?:posted|written|reported|published)\s+)?by\b\s*:?\s*(?=\S)|"
                           r"(?:authors?|autor(?:in|a)?|auteur|autore)\s*:\s*(?=\S)|"
                           r"guest\s+(?:blogger|author|writer|columnist|post)\b\s*:?\s*(?=\S)", re.IGNORECASE)
# A CMS login for a name ("degenhardt.sandra" in dpa's NITF): no name to print.
_LOGIN_NAME = re.compile(r"[a-z]+(?:[._][a-z]+)+")
# An agency's service or desk for an author ("REUTERS TV", "dpa correspondents", "AFP Photo"): the agency,
# nobody by name.
_AGENCY_SERVICE = frozenset({
    "tv", "video", "photo", "photos", "pictures", "images", "graphics", "staff", "desk", "wire", "news",
    "correspondent", "correspondents", "reporter", "reporters", "writer", "writers",
})


def canonical_agency(text: str | None) -> str | None:
    """The agency ``text`` names as a whole ("Reuters Staff", "The Associated Press", "dpa"), else None."""
    if not text:
        return None
    stripped = text.strip().strip(".,:;|()")
    if _AGENCY_WORDS.isdisjoint(stripped.casefold().split()):
        return None  # most text names no agency; the decoration pattern would look at every position of it
    core = _DECORATION.sub("", stripped).strip()
    # "Business Wire" is a name whole, not "Business" with the "Wire" of "Reuters Wire"
    return _BY_ACRONYM.get(core) or _BY_NAME.get(core.casefold()) or _BY_NAME.get(stripped.casefold())


def dateline_agency(written: str | None) -> str | None:
    """The agency a dateline's brackets name: "Reuters", "The Associated Press" (AP); of "tca/dpa" (a
    partner's story dpa sent) or "dpa/lnw" (dpa's regional service) the first part that is an agency."""
    if not written:
        return None
    return next(filter(None, map(_in_dateline, [written, *written.split("/")])), None)


def _in_dateline(written: str) -> str | None:
    return canonical_agency(written) or _IN_DATELINES.get(written.strip())


def find_agency(text: str) -> str | None:
    """The first agency named anywhere in ``text`` ("AP White House correspondent" -> AP)."""
    match = _ANY_NAME.search(text)
    if match:
        return _BY_NAME[match.group(0).casefold()]
    match = _ANY_ACRONYM.search(text)
    return _BY_ACRONYM[match.group(0)] if match else None


def clean_author(author: str) -> str | None:
    """The person-or-organisation part of an author field, without e-mail addresses or a desk title; None
    for a field that names nobody, or is too long to be a name."""
    if len(author) > MAX_AUTHOR_CHARS:
        return None
    author = " ".join(author.split())  # Macworld's "Macworld Staff,\n\t\t\tGlenn Fleishman"
    for _ in range(2):  # "By Guest Blogger: …"
        if label := _AUTHOR_LABEL.match(author):
            author = author[label.end():]
    if "@" in author:
        match = _EMAIL_WITH_NAME.fullmatch(author)
        return match.group("name").strip() if match else None  # a bare address names nobody
    author = _REMARK.sub("", author)
    desk = _DESK_TITLE.search(author)
    if desk and len(author[:desk.start()].split()) >= 2:  # a name in full is left
        author = author[:desk.start()]
    return author or None


def is_non_person(name: str) -> bool:
    return name.casefold() in NON_PERSONS or _LOGIN_NAME.fullmatch(name) is not None


def agency_service(name: str) -> str | None:
    """The agency an author field names by one of its services ("REUTERS TV" -> Reuters), else None."""
    words = name.split()
    for size in range(1, min(len(words), 4)):  # "AP", "Associated Press", "The Associated Press"
        if all(word.casefold() in _AGENCY_SERVICE for word in words[size:]):
            return canonical_agency(" ".join(words[:size]))
    return None
