"""Bounds of the read API, shared by the handlers and the OpenAPI document that describes them."""

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_QUERY_CHARS = 500
MAX_CURSOR_CHARS = 1000
STORY_MAX_ARTICLES = 1000
#: The stored JSON an answer carries at most (at least one article): ``limit`` articles of typical size
#: fit many times over, but an article may be up to a Kafka message (1 MB), and 500 of them would be an
#: answer of half a gigabyte, held in the sink's memory while it is sent.
MAX_ANSWER_BYTES = 8 * 1024 * 1024
#: The answers all clients are being sent at once hold at most this much by default
#: (``WIREFEED_READ_API_MAX_ANSWER_BYTES_IN_FLIGHT``): each is held until its client has taken it (64 KiB
#: per 10 s keeps a connection), and 256 slow clients of 8 MiB answers would hold 2 GiB, four times the
#: sink's Kubernetes memory limit. Past it a request is answered 503 at once.
MAX_ANSWERS_BYTES_IN_FLIGHT = 64 * 1024 * 1024
#: The ``Retry-After`` of that 503: answers are given back as their clients take them, within seconds
#: for any client reading at a normal pace.
ANSWERS_FULL_RETRY_AFTER_SECONDS = 2
#: A language filter's value: a two-letter ISO 639-1 code, as the normalizer stores an article's language.
LANGUAGE_PATTERN = "[A-Za-z]{2}"
#: An agency filter's value: any name of an agency (Reuters, AP, Associated Press, ANA-MPA, Agência Brasil,
#: ČTK, ТАСС, 新华社, رويترز, 연합뉴스). Letters are spelled out as ranges (Latin with its accents, Greek,
#: Cyrillic, Hebrew, Arabic and Persian, kana, CJK ideographs, Hangul) rather than ``\w``: the OpenAPI
#: document gives the same pattern to clients whose regular expressions read ``\w`` as ASCII only.
_LETTER = ("A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u0370-\u03ff\u0400-\u04ff\u05d0-\u05ea"
           "\u0620-\u064a\u066e-\u06d3\u3040-\u30ff\u4e00-\u9fff\uac00-\ud7af")
AGENCY_PATTERN = f"[{_LETTER}][{_LETTER}0-9 .&-]{{0,49}}"
