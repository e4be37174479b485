"""Who wrote and edited a story: bylines ("By JANE DOE Associated Press") and credit lines
("(Reporting by A in X; Editing by B and C)", "Associated Press writer A contributed to this report.").

Clean text in, names out; nothing parses HTML.
"""

from __future__ import annotations

import re
from typing import NamedTuple

from services.normalizer.agencies import agency_service, canonical_agency, find_agency, is_non_person

_UP = "A-ZÀ-ÖØ-Þ"
_ROLE = (r"(?:additional reporting|reporting and writing|writing and reporting|reporting|writing|written|"
         r"editing|edited|compiled|"
         r"compiling|graphics|photos?|photography|production|produced|research|translation|translated|"
         r"fact[- ]checking|video|design|data)")
ROLE_KEYS = {
    "reporting and writing": ("reporting", "writing"), "writing and reporting": ("reporting", "writing"),
    "additional reporting": ("additional_reporting",),
    "written": ("writing",), "edited": ("editing",), "compiled": ("compiling",), "photo": ("photos",),
    "photography": ("photos",), "produced": ("production",), "translated": ("translation",),
    "fact checking": ("fact_checking",), "fact-checking": ("fact_checking",),
}
#: Credit roles whose people are the story's authors.
BYLINE_ROLES = ("reporting", "writing", "compiling")
# Reuters' other language services credit in their own words: "(Bericht von A, redigiert von B)",
# "(Reportage A, avec B; édité par C)", "(Reporte de A; Editado en español por B)", "(Reportagem de A;
# Edição de B)", "(Tradotto da A, editing B)": Italian keeps the English word, without "by".
_FOREIGN_ROLES = {
    "reporting": r"berichte?\s+von|reportage(?:\s+de)?|reporte\s+de|reporteo\s+de|informaci[óo]n\s+de|"
                 r"reportagem\s+de",
    "additional_reporting": r"reportagem\s+adicional\s+de|reporte\s+adicional\s+de",
    "editing": r"redigiert\s+von|bearbeitet\s+von|[ée]dit[ée]\s+par|editado(?:\s+en\s+espa[ñn]ol)?\s+por|"
               r"edi[çc][ãa]o\s+de|editing(?!\s+by\b)(?=\s+[^\W\d_])",
    "writing": r"geschrieben\s+von|r[ée]dig[ée]\s+par|escrito\s+por|redactado\s+por|texto\s+de",
    "translation": r"übersetzt\s+von|version\s+fran[çc]aise(?:\s+par)?|traducido\s+por|traducci[óo]n\s+de|"
                   r"tradu[çc][ãa]o\s+de|traduzido\s+por|tradott[oa]\s+da",
}
_FOREIGN_ROLE = "|".join(f"(?P<{role}>{words})" for role, words in _FOREIGN_ROLES.items())
_ANY_ROLE = rf"(?:{_ROLE}\s+by|{'|'.join(_FOREIGN_ROLES.values())})"
_CREDIT_START = re.compile(rf"\(?\s*{_ANY_ROLE}\b", re.IGNORECASE)
_CREDIT_SPLIT = re.compile(rf"\s*;\s*|,\s*(?={_ANY_ROLE}\b)|\s+(?:and|und|et|y)\s+(?={_ANY_ROLE}\b)", re.IGNORECASE)
_BARE_ROLE = re.compile(_ROLE, re.IGNORECASE)
_CREDIT_SEGMENT = re.compile(rf"(?:(?P<role>{_ROLE})\s+by|{_FOREIGN_ROLE})\s*:?\s+(?P<names>[^;()]+?)\s*[.;]?",
                             re.IGNORECASE)
# Reuters Germany's credit line ends with where to send questions: "… Bei Rückfragen wenden Sie sich an …".
_CONTACT_NOTE = re.compile(r"[.;]?\s*Bei Rückfragen\b.*$", re.DOTALL)
#: A credit line in parentheses at the very end of a paragraph.
TRAILING_CREDIT = re.compile(rf"\s*\((?P<credit>{_ANY_ROLE}\s+[^()]+)\)\s*$", re.IGNORECASE)
_CONTRIBUTED = re.compile(
    r"(?P<agency>(?:The )?Associated Press|AP|Reuters|AFP|Bloomberg)(?: (?:staff )?(?:writers?|reporters?|"
    r"journalists?|correspondents?|photographers?|video ?journalists?|researchers?) (?P<names>.+?))?,? "
    r"contributed(?: to this (?:report|story|article))?(?: from [^.]+)?\.?",
)
# Other outlets' contributor lines: the NYT's "A and B contributed reporting from London.", "CNN’s A
# contributed to this report.", "Staff writer A in Paris contributed to this report."; USA Today's
# "Contributing: A, USA TODAY; The Associated Press" (the outlet's own name in capitals is no person).
_NAMED_CONTRIBUTORS = re.compile(
    r"(?:(?P<outlet>[A-Z][\w&.\-]*(?: [A-Z][\w&.\-]*){0,3})(?:[’']s?| contributors?) |(?i:staff )?"
    r"(?i:writers?|reporters?|correspondents?) )?(?P<names>[^.;:()]{3,200}?) (?:contributed (?:additional )?"
    r"(?:reporting|research|to this (?:report|story|article))|helped with this (?:report|story|article))"
    r"(?: from [^.]+)?\.?",
)
# AP's note of where a reporter named in the byline worked: "Gillum reported from Washington."
_REPORTED_FROM = re.compile(r"[A-Z][\w'’\-]+(?:(?:,| and) [A-Z][\w'’\-]+){0,3} (?:reported|wrote) (?:this "
                            r"(?:story|report) )?from [A-Z][^.;()]{1,60}\.?")
# Sentences of a paragraph under the copy: a credit line may share its paragraph with another.
_SENTENCES = re.compile(r"(?<=[a-z]\.)\s+(?=[A-Z])")
_CONTRIBUTING_LIST = re.compile(r"contributing\s*:\s*(?P<parts>[^()]{2,300}?)\.?", re.IGNORECASE)
_CONTRIBUTING_SPLIT = re.compile(r"\s*(?:[,;]|\band\b)\s*")
# Desk initials that sign wire copy: AFP's "bur-sah/rl", "bur-dar-gl/fz", EFE's "gr/bp". Only AFP's mark
# for its bureau ("bur-", "burs-") names the agency: EFE, ANSA and others sign with bare initials too.
_DESK_SIGNATURE = re.compile(r"[a-z]{2,5}(?:-[a-z]{2,5}){0,3}(?:/[a-z]{2,5})+")
_AFP_BUREAU_MARK = re.compile(r"burs?-")
# Bloomberg's copy ends with whom to write to: "To contact the reporter on this story: A in London at
# a@bloomberg.net", "To contact the editors responsible for this story: B at b@bloomberg.net, C" (its
# Opinion columns' "To contact the author of this story: …"), and
# credits help: "--With assistance from D and E."
_BLOOMBERG_CONTACT = re.compile(r"to contact the (?P<role>reporters?|editors?|authors?|producers?)(?: responsible)? "
                                r"(?:on|for|of) this story\s*:\s*(?P<names>.{1,400})", re.IGNORECASE | re.DOTALL)
_BLOOMBERG_ROLES = {"reporter": "reporting", "editor": "editing", "author": "writing", "producer": "production"}
_CONTACT_ADDRESS = re.compile(r"\s+at\s+\S+@\S+?(?=[,;]|\s|$)|\s*\S+@\S+?(?=[,;]|\s|$)")
_ASSISTANCE = re.compile(r"(?:--|[-–—])?\s*with assistance from\s+(?P<names>[^()]{1,300}?)\.?", re.IGNORECASE)
# A Chinese site's editor under the story: "责任编辑：王五", "【编辑：张三】".
_CJK_EDITORS = re.compile(r"[【\[（(]?\s*(?:责任编辑|責任編輯|编辑|編輯)\s*[:：]\s*"
                          r"(?P<names>[^【】\[\]（）()]{1,30}?)\s*[】\]）)]?")
_CJK_NAME_SEPARATOR = re.compile(r"\s*[、，,\s]\s*")
# Deutsche Welle's editors' initials and the agencies the story drew on: "sri/rc (AFP, AP, Reuters)",
# "kle/wa (dpa, afp, rtr)", with the German desks' short codes for agencies.
_DESK_AGENCIES = re.compile(r"[a-z]{2,5}(?:/[a-z]{2,5})+\s*\((?P<agencies>[^()]{2,60})\)")
_AGENCY_LIST = re.compile(r"[,/]")
_DESK_CODES = {"rtr": "Reuters", "afp": "AFP", "ap": "AP", "kna": "KNA", "efe": "EFE", "ansa": "ANSA"}
# An agency's sign-off under its copy: IANS' "--IANS", Kyodo's "==Kyodo", PTI's name and its desk's
# initials "PTI ABC DEF", Lusa's journalists' and editors' initials either side of "//" ("ANC // SR"), EFE's
# name and its desk's "EFE gr/bp", Xinhua's end mark "Enditem".
_SIGN_OFF = re.compile(r"(?:--|==|[-–—])\s*(?P<agency>[A-Z]{2,6}|Kyodo)|(?P<pti>PTI)(?:\s+[A-Z]{2,5}){1,6}|"
                       r"(?P<lusa>[A-Z]{2,4}(?:/[A-Z]{2,4})*\s*//\s*[A-Z]{2,4}(?:/[A-Z]{2,4})*)|"
                       r"(?P<efe>EFE)\s+[a-z]{2,5}(?:/[a-z]{2,5})+|(?P<xinhua>Enditem)")
_SIGNING_AGENCIES = {"pti": "PTI", "lusa": "Lusa", "efe": "EFE", "xinhua": "Xinhua"}
# Any agency's name and its desk's initials, in capitals or in lower case: AAP's "AAP RTV ar", "AAP gfr",
# "AFP sn" on AAP's wire, and the reporter's and subeditor's either side of a slash, "AAP be/", "AAP be/sr".
_INITIALS = r"(?:[A-Z]{2,5}|[a-z]{2,5})"
_INITIALLED_SIGN_OFF = re.compile(rf"(?P<agency>[A-Za-z]{{2,12}})(?:\s+{_INITIALS}(?:/{_INITIALS}?)?){{1,3}}")
# Around an agency's name alone: "- dpa", "==Kyodo", Ritzau's "/ritzau/", "(AFP)".
_MARK_PUNCTUATION = " -–—=.·/()"
# Agency codes that alone name something else as often: "PTI" is also Pakistan's party (its sign-off has
# the desk's initials after it).
_NOT_ALONE = frozenset({"PTI"})
# A line under the copy that is a mark and no text, naming nobody: Yonhap's end mark "(END)", or a source
# line that credits agencies in general ("Source: Al Jazeera and news agencies"; "Source: Reuters" names one).
_END_MARK = re.compile(r"\(END\)|(?:[-–—]+\s*)?ends(?:\s*[-–—]+)?", re.IGNORECASE)  # PA's "ends", "ENDS"
_SOURCE_LINE = re.compile(
    r"\(?(?:sources?|quellen?|fuentes?|fontes?|bron|kaynak|źródło)\s*:\s*(?P<parts>[^()]{2,80}?)\)?\.?", re.IGNORECASE,
)
_SOURCE_PARTS = re.compile(r"\s*(?:[,;/&+]|\band\b|\bund\b|\bet\b|\by\b|\be\b|\ben\b)\s*")
_AGENCIES_IN_GENERAL = re.compile(r"(?:news |wire )?(?:agencies|agency|wires|services)|agenturen|agences|agencias|"
                                  r"agências|agenzie|persbureaus", re.IGNORECASE)
# A site's note that a story is the wires' copy, under it: Canada's "With files from The Canadian Press",
# "— With reporting from AFP", and in Europe "Avec AFP", "(mit Material von dpa)",
# "Con información de EFE", "Com Agência Brasil", "Met informatie van ANP", "(dpa/AFP)". Every part must
# be an agency or the word for agencies in general: "Avec Marie Dupont" is someone's credit, not this.
_WIRE_CREDIT = re.compile(
    r"(?:\(?\s*(?:[-–—]+\s*)?(?:with(?: files| reporting)? from|avec|with|mit material (?:von|der|des)(?: der)?|mit|"
    r"con informaci[óo]n de|con|com|met informatie van)\s+(?P<parts>[^()]{2,60}?)\s*\)?"
    r"|\((?P<listed>[^()]{2,40})\))\.?",
    re.IGNORECASE,
)
# "By", and its German, French, Spanish/Portuguese, Dutch and Italian forms (capitalised and followed by
# a capital, so "von der Leyen" stays whole and "Par ailleurs" is no byline).
_FOREIGN_BY = r"(?:Von|Par|Por|Door|Di)\s+(?=[A-ZÀ-ÖØ-Þ])"
_BY = rf"(?:(?:Story|Words|Text) by\s+|[Bb][Yy]:?\s+|{_FOREIGN_BY})"
_BYLINE = re.compile(rf"{_BY}(?P<rest>[^!?]{{2,150}}?)\.?")
_BY_WORD = re.compile(rf"^{_BY}")
# A lead line naming the reporter and the agency without "By": "Jane Doe | Reuters", "Jane Doe, Bloomberg
# News", "Jane Doe for AFP". Only with an agency wirefeed knows: "Jane Doe, Washington" is a place; and not
# before a colon: a link blog's "Mark Gurman, Bloomberg:" introduces the quote that follows.
MAX_NAMES_AND_AGENCY_CHARS, MAX_LABEL_CHARS = 125, 40
_NAMES_AND_AGENCY = re.compile(r"[|,/•·]| [-–—] | for ")
# What may follow the names in a "By" line besides an agency: an outlet ("CNN", "Washington Post") or the
# page's date ("By Jane Doe | Dec 1, 2026", "By Jane Doe • Published 10:30 GMT").
_ACRONYM = re.compile(r"[A-Z]{2,6}")
_DATE_AFTER_BYLINE = re.compile(r"\d{1,2}:\d{2}|\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.?\s+\d|"
                                r"\b\d{1,2}\s+(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)|\b\d{4}\b|"
                                r"\b(?:published|updated|ago)\b", re.IGNORECASE)
# A part of an author list that names an outlet, not a person ("Jane Doe, Washington Post").
_ORGANISATION = re.compile(r"^the\s|\b(?:staff|news|post|times|press|media|network|online|university|college|"
                           r"institute|database|magazine|journal|daily|herald|tribune|gazette|radio|television|"
                           r"inc|ltd|llc|corp|company|group|team|blog|agency|service|images|pictures)\b", re.IGNORECASE)
_JOB_TITLE = re.compile(r"correspondent|writer|reporter|editor|staff|bureau|contributor|columnist|journalist",
                        re.IGNORECASE)
_BYLINE_SEPARATOR = re.compile(r"\s*(?:,|\||\s[-–—]\s|/|•|·)\s*")
_FIELD_SEPARATOR = re.compile(r"\s*(?:[,;|/]|\s[-–—]\s)\s*")
# An author field's part that says whom the author wrote for ("Jane Doe, for The Guardian").
_FOR_OUTLET = re.compile(r"(?:for|special to|exclusive to|courtesy of|via)\s", re.IGNORECASE)
_NAME_SUFFIX = re.compile(r"(?:Jr|Sr|[IV]{2,3})\.?")
_STAFF_CODE = re.compile(r"[A-Z]{1,3}\d{2,6}")  # AAP's photographers: "A3576/_Maurizio Gambarini"
# AFP: "Ann Lee with Bo Chan in Gaza"; Reuters France: "A, avec B"
_NAME_SPLIT = re.compile(r"\s*(?:,|&|\band\b|\bwith\b|\bavec\b|\bmit\b)\s*")
# "and" in German, French, Spanish, Portuguese/Italian and Dutch. "y" and "e" also join surnames
# ("José Ortega y Gasset"), so a part is split on them only when every piece is a full name.
_OTHER_AND = re.compile(r"\s+(?:und|et|y|e|en)\s+")
_LIST_AND = re.compile(r"\s(?:and|with|&|und|et|y|e|en)\s")
_IN_PLACE = re.compile(r"\s+(?:in|from|aus|à|en|em)\s+\S.*")
# Capitalised words, allowing particles ("Ursula von der Leyen") and prefixes ("Mohammed al-Sudani").
_NAME_WORD = rf"(?:[a-z]{{1,3}}[-'’])?[{_UP}][\w.'’\-]*"
_NAME_PARTICLE = r"(?:de|da|do|dos|das|del|della|di|du|van|von|der|den|ter|la|le|al|el|bin|ibn|bint|y)"
_NAME = re.compile(rf"{_NAME_WORD}(?:\s+(?:{_NAME_PARTICLE}\s+)*{_NAME_WORD}){{0,4}}")
# Journals list authors as "Surname, Initials": "Ash, C., Mueller, K. L., de Jager, M., Dallery, J.-F.".
_INITIALLED = (rf"(?:{_NAME_PARTICLE}\s+)?[{_UP}][\w'’\-]*(?:\s+(?:{_NAME_PARTICLE}\s+)?[{_UP}][\w'’\-]*){{0,3}},"
               rf"\s+[{_UP}]\.(?:[\s\-]?[{_UP}]\.)*")
_INITIALLED_LIST = re.compile(rf"{_INITIALLED}(?:,\s+{_INITIALLED})+")
_INITIALLED_NAME = re.compile(_INITIALLED)


def _is_desk_initials(text: str) -> bool:
    """A paragraph that is only the desk's initials signing the copy ("gr/bp"): no text, and no names."""
    return len(text) < 24 and _DESK_SIGNATURE.fullmatch(text) is not None


class CreditParagraph(NamedTuple):
    """What a paragraph that is wholly a credit line or a mark under the copy says. ``is_credit``: it is one,
    and leaves the text, even when it names nobody (desk initials "gr/bp", an end mark "(END)", "(avec
    agences)")."""

    credits: dict[str, list[str]]
    agency: str | None
    is_credit: bool


_NO_CREDIT = CreditParagraph({}, None, False)


def _naming(credits: dict[str, list[str]], agency: str | None) -> CreditParagraph:
    """A credit paragraph when it names someone or an agency."""
    return CreditParagraph(credits, agency, bool(credits or agency))


def read_credit_paragraph(text: str, *, under_copy: bool = True) -> CreditParagraph:
    """What a paragraph says when it is entirely a credit line or a mark under the copy. A short sign-off
    ("EFE", "Source: Reuters", "Enditem") counts only ``under_copy``, among the story's last paragraphs:
    higher up, "Reuters" alone is an item of a list and "Source: Reuters" a chart's source."""
    if _CREDIT_START.match(text):
        return _naming(parse_credit_line(text) or {}, None)
    if "ontribut" in text and (contributors := _contributors(text)):  # "contributed", "Contributing:"
        return _naming(*contributors)
    if bloomberg := _bloomberg_credits(text):
        return CreditParagraph(bloomberg, "Bloomberg", True)
    if under_copy and len(text) < 60:
        return _sign_off(text)
    return _credit_sentences(text) if under_copy and len(text) < 400 else _NO_CREDIT


def _credit_sentences(text: str) -> CreditParagraph:
    """A paragraph under the copy made only of credit sentences: "Gillum reported from Washington. Associated
    Press writers A and B contributed to this report." """
    sentences = _SENTENCES.split(text)
    if len(sentences) < 2:
        return _NO_CREDIT
    credits: dict[str, list[str]] = {}
    agency = None
    for sentence in sentences:
        if _REPORTED_FROM.fullmatch(sentence):
            continue
        found = read_credit_paragraph(sentence)
        if not found.is_credit:
            return _NO_CREDIT
        for role, names in found.credits.items():
            credits.setdefault(role, []).extend(names)
        agency = agency or found.agency
    return CreditParagraph(credits, agency, True)


def parse_credit_paragraph(text: str) -> tuple[dict[str, list[str]], str | None]:
    """Credits of a paragraph that is entirely a credit line, and an agency it names."""
    credits, agency, _ = read_credit_paragraph(text)
    return credits, agency


def _contributors(text: str) -> tuple[dict[str, list[str]], str | None] | None:
    """A line naming who else worked on the story: "Associated Press writer A contributed to this report.",
    "A contributed reporting from London.", "CNN’s A contributed …", "Contributing: A, USA TODAY; The
    Associated Press"."""
    if match := _CONTRIBUTED.fullmatch(text):
        names = split_names(match.group("names") or "")
        return ({"contributing": names} if names else {}), canonical_agency(match.group("agency"))
    if (match := _NAMED_CONTRIBUTORS.fullmatch(text)) and (names := split_names(match.group("names"))):
        return {"contributing": names}, canonical_agency(match.group("outlet") or "")
    if match := _CONTRIBUTING_LIST.fullmatch(text):
        agencies, names = [], []
        for part in filter(None, _CONTRIBUTING_SPLIT.split(match.group("parts"))):
            if agency := canonical_agency(part):
                agencies.append(agency)
            elif not part.isupper() and _NAME.fullmatch(part):  # "USA TODAY" is the outlet's name
                names.append(part)
        if names or agencies:
            return ({"contributing": names} if names else {}), next(iter(agencies), None)
    return None


def _sign_off(text: str) -> CreditParagraph:
    """A short line under the copy: AFP's desk initials "bur-sah/rl", Deutsche Welle's "sri/rc (AFP, AP)",
    a Chinese site's "责任编辑：王五", an agency's sign-off or end mark, a source line, a wire note."""
    if _is_desk_initials(text):
        return CreditParagraph({}, "AFP" if _AFP_BUREAU_MARK.match(text) else None, True)
    if desk := _DESK_AGENCIES.fullmatch(text):
        codes = _AGENCY_LIST.split(desk["agencies"])
        agencies = [_DESK_CODES.get(code.strip()) or canonical_agency(code) for code in codes]
        return _naming({}, agencies[0] if all(agencies) else None)
    if editors := _CJK_EDITORS.fullmatch(text):
        return CreditParagraph({"editing": cjk_names(editors["names"])}, None, True)
    if _END_MARK.fullmatch(text):
        return CreditParagraph({}, None, True)
    return _agency_mark(text)


def _agency_mark(text: str) -> CreditParagraph:
    """A line naming the agency the story came from, or agencies in general: "--IANS", "Enditem", "Source:
    Reuters", "EFE" alone, "Avec AFP", "(avec agences)"."""
    if sign_off := _SIGN_OFF.fullmatch(text):
        named = sign_off["agency"]
        return _naming({}, canonical_agency(named) if named else _SIGNING_AGENCIES[str(sign_off.lastgroup)])
    if source := _SOURCE_LINE.fullmatch(text):
        parts = _SOURCE_PARTS.split(source["parts"])
        agency = next((agency for part in parts if (agency := canonical_agency(part))), None)
        return CreditParagraph({}, agency, agency is not None or any(map(_AGENCIES_IN_GENERAL.fullmatch, parts)))
    name = text.strip(_MARK_PUNCTUATION)
    if len(text) <= MAX_LABEL_CHARS and name not in _NOT_ALONE and (named := canonical_agency(name)):
        return CreditParagraph({}, named, True)  # the agency's name alone under its copy: "EFE", "- dpa"
    if (initialled := _INITIALLED_SIGN_OFF.fullmatch(text)) and (named := canonical_agency(initialled["agency"])):
        return CreditParagraph({}, named, True)
    if (agencies := _wire_credit(text)) is not None:
        return CreditParagraph({}, next(iter(agencies), None), True)
    return _NO_CREDIT


def _wire_credit(text: str) -> list[str] | None:
    """The agencies a note that the story is the wires' copy names ("Avec AFP et Reuters" -> [AFP, Reuters];
    "(avec agences)" -> []); None when ``text`` is no such note."""
    if not (match := _WIRE_CREDIT.fullmatch(text)):
        return None
    agencies = []
    for part in _SOURCE_PARTS.split(match["parts"] or match["listed"]):
        if not part:
            continue
        if agency := canonical_agency(part):
            agencies.append(agency)
        elif not _AGENCIES_IN_GENERAL.fullmatch(part):
            return None
    return agencies


def cjk_names(text: str) -> list[str]:
    """Chinese, Japanese or Korean names as a wire lists them: "张三、李四", "김철수 이영희"."""
    return [name for name in _CJK_NAME_SEPARATOR.split(text.strip()) if name]


def _bloomberg_credits(text: str) -> dict[str, list[str]] | None:
    if "this story" in text and (contact := _BLOOMBERG_CONTACT.fullmatch(text)):
        names = split_names(_CONTACT_ADDRESS.sub(",", contact["names"]).replace(";", ","))
        return {_BLOOMBERG_ROLES[contact["role"].lower().rstrip("s")]: names} if names else None
    if "assistance" in text and (assistance := _ASSISTANCE.fullmatch(text)):
        names = split_names(assistance["names"])
        return {"additional_reporting": names} if names else None
    return None


def parse_credit_line(text: str) -> dict[str, list[str]] | None:
    """``(Reporting by A in X; Editing by B and C)`` -> {"reporting": [A], "editing": [B, C]}."""
    body = text.strip()
    if body.startswith("(") and body.endswith(")"):
        body = body[1:-1]
    credits: dict[str, list[str]] = {}
    body = _CONTACT_NOTE.sub("", body)
    for segment in _credit_segments(body.strip().rstrip(".")):
        match = _CREDIT_SEGMENT.fullmatch(segment)
        names = split_names(match.group("names")) if match else None
        if not match or not names:
            return None
        roles = _role_keys(match.group("role")) if match.group("role") else (_foreign_role(match),)
        for role in roles:
            credits.setdefault(role, []).extend(n for n in names if n not in credits.get(role, ()))
    return credits or None


def _credit_segments(text: str) -> list[str]:
    """Split at ";" and before each "<role> by"; "Reporting and writing by" stays one segment."""
    segments: list[str] = []
    for part in (p.strip() for p in _CREDIT_SPLIT.split(text)):
        if segments and _BARE_ROLE.fullmatch(segments[-1]):
            segments[-1] = f"{segments[-1]} and {part}"
        else:
            segments.append(part)
    return segments


def _foreign_role(match: re.Match[str]) -> str:
    return next(role for role in _FOREIGN_ROLES if match.group(role))


def _role_keys(role: str) -> tuple[str, ...]:
    role = " ".join(role.lower().split())
    return ROLE_KEYS.get(role, (role.replace(" ", "_").replace("-", "_"),))


def split_names(text: str) -> list[str] | None:
    """People in a credit or byline; places after "in" are dropped. None when a part is not a name."""
    parts = [p.strip() for p in _NAME_SPLIT.split(text.strip().rstrip(".,;"))]
    parts = [piece for p in parts if p for piece in _split_other_and(p)]
    located = [bool(_IN_PLACE.search(p)) for p in parts]
    names: list[str] = []
    for number, part in enumerate(parts):
        # "A in Baghdad and Dubai": after the last located name, bare parts continue the place.
        if not located[number] and any(located[:number]) and not any(located[number:]):
            continue
        name = _IN_PLACE.sub("", part)
        if not _NAME.fullmatch(name):
            return None
        names.append(_name_case(name))
    return names


def _name_case(name: str) -> str:
    """"JOSH BOAK" as "Josh Boak"; a short all-capitals word ("AP", "BBC") stays."""
    return name.title() if name.isupper() and len(name) > 3 else name


def _split_other_and(part: str) -> list[str]:
    pieces = _OTHER_AND.split(part)
    return pieces if len(pieces) > 1 and all(" " in piece for piece in pieces) else [part]


def parse_byline_paragraph(text: str) -> tuple[list[str], str | None] | None:
    """A "By ..." line, or a reporter's name and a known agency: (people, agency); None when ``text`` is
    not a byline."""
    text = text.strip()
    if match := _BYLINE.fullmatch(text):
        return parse_byline(match.group("rest")) or _people_before_outlet(match.group("rest"))
    parts = _NAMES_AND_AGENCY.split(text) if len(text) <= MAX_NAMES_AND_AGENCY_CHARS else ()
    if len(parts) != 2 or len(parts[1]) > MAX_LABEL_CHARS or ":" in parts[1] \
            or not (agency := canonical_agency(parts[1].strip().rstrip("."))):
        return None
    names = split_names(parts[0])
    return (names, agency) if names and all(" " in name for name in names) else None


def _people_before_outlet(text: str) -> tuple[list[str], str | None] | None:
    """The people of a "By" line that go on with their outlet or the page's date: "Jane Doe, CNN", "Jane Doe
    | Dec 1, 2026". (An author field's "Jane Doe, Washington Post" is left to :func:`listed_people`.)"""
    names_part, rest = _split_byline(text)
    if not rest or not (_ORGANISATION.search(rest) or _ACRONYM.fullmatch(rest) or _DATE_AFTER_BYLINE.search(rest)):
        return None
    names = split_names(names_part)
    if names and all(" " in name and not _ORGANISATION.search(name) for name in names):
        return names, None
    return None


def parse_byline(text: str) -> tuple[list[str], str | None] | None:
    """A byline or author field ("By JOSH BOAK and ZEKE MILLER Associated Press", "Jane Doe | Reuters")."""
    text = _BY_WORD.sub("", text.strip(), count=1)
    if _INITIALLED_LIST.fullmatch(text):
        return [name.group() for name in _INITIALLED_NAME.finditer(text)], None
    agency = canonical_agency(_IN_PLACE.sub("", text))  # "Associated Press in Palm Beach, Florida"
    if agency:
        return [], agency
    names_part, rest = _split_byline(text)
    if rest and _IN_PLACE.search(names_part):
        names_part, rest = text, ""  # "Ann Lee in Stanstead, Quebec": the place goes on past the comma
    agency = find_agency(rest) if rest else None
    if rest and agency is None and not _JOB_TITLE.search(rest):
        # "Jane Doe, John Roe and Ann Poe" lists people in full; "By Tuesday, the storm had weakened" is
        # prose, and "Jane Doe, Washington Post" names an outlet: only a list joined by "and" is read, and
        # without the outlet it may end in ("Jane Doe and John Roe, New York Times").
        names = split_names(text) if _LIST_AND.search(text) else None
        people = [name for name in names or () if not _ORGANISATION.search(name)]
        return (people, None) if people and all(" " in name for name in people) else None
    if not rest:
        names_part, agency = _strip_agency_suffix(names_part)
    names = split_names(names_part)
    if names is None or any(" " not in name for name in names):
        return None  # bylines name people in full; "By Tuesday" names nobody
    # "By Staff Reporter, BusinessDesk": the agency's, by nobody
    return [name for name in names if not is_non_person(name)], agency


def listed_people(text: str) -> tuple[list[str], str | None] | None:
    """People in a list of names in full, as author and byline fields give them ("Scott Hanselman, Rob
    Caron", "ANTTI AUTIO, HETA HASSINEN", "Jane Doe; John Roe"), without the outlets among them or after
    them ("Alan Karben, NITF Network News Online", "Jane Doe, CNN", "Jane Doe | for The Guardian",
    "Metaebene Personal Media - Tim Pritlove"), and the first agency among those ("AP, Jane Doe"). None
    unless one part is a person, the first part a person or an outlet, and every other part a person or
    what stands after a byline (an outlet, a one-word name, a date); "Smith, John" is a person written
    surname first, and stays for the caller to keep as given.

    Only for fields: in running text "Jane Doe, Washington" is a byline with a place.
    """
    parts = [part.lstrip("_") for part in _FIELD_SEPARATOR.split(text.strip()) if part.lstrip("_")]
    # Capitals among names written otherwise are an outlet's ("Jane Doe, USA TODAY").
    outlet_capitals = not all(part.isupper() for part in parts)
    people: list[str] = []
    agency = None
    for number, part in enumerate(parts):
        outlet = _is_outlet(part, outlet_capitals)
        if people and _NAME_SUFFIX.fullmatch(part):
            people[-1] = f"{people[-1]}, {part}"  # "Martin Luther King, Jr."
        elif not outlet and " " in part and _NAME.fullmatch(part):
            people.append(_name_case(part))
        elif outlet or (number and _after_byline(part)):
            agency = agency or find_agency(part)
        else:
            return None
    return (people, agency) if len(parts) > 1 and people else None


def _is_outlet(part: str, outlet_capitals: bool) -> bool:
    """An outlet, an agency's service ("AAP Image", "Reuters Pictures") or a staff code."""
    return (bool(_ORGANISATION.search(part) or _FOR_OUTLET.match(part) or _STAFF_CODE.fullmatch(part))
            or (outlet_capitals and part.isupper()) or find_agency(part) is not None)


def _after_byline(part: str) -> bool:
    """A part that follows a byline and names no one: a one-word outlet ("CNN", "Axios") or place, or a
    time ("Updated 3:45 PM")."""
    return " " not in part or any(character.isdigit() for character in part)


def parse_byline_field(text: str) -> tuple[list[str], str | None]:
    """A wire format's byline field as (people, agency): a shape :func:`parse_byline` knows, a list of
    people, an agency ("Reuters, MAR 04") or nobody ("By Staff Reporter, BusinessDesk"), else the field as
    one name without its "By": the format's word, as given."""
    text = " ".join(text.split())
    if service := agency_service(_BY_WORD.sub("", text, count=1)):
        return [], service
    parsed = parse_byline(text)
    if parsed is not None:
        return parsed
    text = _BY_WORD.sub("", text, count=1)
    if _DESK_SIGNATURE.fullmatch(text):
        return [], None  # desk initials ("gr/bp" in EFE's NITF): nobody by name, and not only AFP signs so
    listed = listed_people(text)
    if listed is not None:
        return listed
    lead = text.split(",", 1)[0].strip()
    agency = canonical_agency(text) or canonical_agency(lead)
    if agency or is_non_person(text) or is_non_person(lead):
        return [], agency
    return [text], None


def _split_byline(text: str) -> tuple[str, str]:
    parts = _BYLINE_SEPARATOR.split(text, maxsplit=1)
    return (parts[0], parts[1]) if len(parts) == 2 else (text, "")


def _strip_agency_suffix(text: str) -> tuple[str, str | None]:
    words = text.split()
    for size in (3, 2, 1):
        if len(words) > size and (agency := canonical_agency(" ".join(words[-size:]))):
            return " ".join(words[:-size]), agency
    return text, None
