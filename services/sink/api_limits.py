"""Bounds of the read API, shared by the handlers and the OpenAPI document that describes them."""

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
MAX_QUERY_CHARS = 500
MAX_CURSOR_CHARS = 1000
STORY_MAX_ARTICLES = 1000
#: A language filter's value: a two-letter ISO 639-1 code, as the normalizer stores an article's language.
LANGUAGE_PATTERN = "[A-Za-z]{2}"
#: An agency filter's value: a name as articles give it (Reuters, AP, AFP, dpa, ANSA, Kyodo, ANA-MPA, ...).
AGENCY_PATTERN = "[A-Za-z][A-Za-z0-9 .&-]{0,49}"
