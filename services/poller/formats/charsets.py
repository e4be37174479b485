"""Feeds in a legacy encoding that declare none (EUC-KR, KOI8-R, TIS-620, Shift_JIS, windows-1250, ...).

XML that declares no encoding is UTF-8 by definition, yet older sites serve their own encoding with no
declaration and no HTTP charset. feedparser (which has no detector installed) and the fast reading then
fall back to windows-1252: right for undeclared Western European text, the common case, but mojibake for
everything else ("ëÁË ÐÅÒÅÖÉÔØ" for Russian, "pøíští" for Czech). Such a document is detected here and
handed on as UTF-8.

Detectors misjudge Latin text (charset-normalizer calls Portuguese cp1257, Baltic, and Spanish
windows-1250, which turns "señor" into "seńor"), so a detected encoding is only taken when it yields
letters of a non-Latin script. Central European, Turkish and Baltic text is recognised by its language
instead: CLD2 names Czech, Turkish or Lithuanian even through the windows-1252 misreading, and then the
reading CLD2 scores highest among windows-1252 and that language's legacy encodings is taken.
"""

from __future__ import annotations

import re

import charset_normalizer
import pycld2

# Legacy multi-byte and non-Latin single-byte text shows as runs of bytes above 0x7f; Latin text has
# its accented letters one or two at a time ("prisão"). Without such a run the detector is not asked.
# Bytes are mapped to "." (ASCII) or "x" (high) and the run searched as a substring: a regex over the
# body cost 8 ns a byte.
_HIGH_BYTES = bytes(46 if byte < 0x80 else 120 for byte in range(256))
_HIGH_BYTE_RUN = b"xxxx"
# Letters of non-Latin scripts: Greek to Arabic, Indic to Thai, Hangul, kana, CJK, fullwidth forms.
_NON_LATIN = re.compile("[\u0370-\u06ff\u0900-\u0e7f\u1100-\u11ff\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af"
                        "\uf900-\ufaff\uff00-\uffef]")
_NON_ASCII = re.compile("[^\x00-\x7f]")
_HIGH_BYTE = re.compile(rb"[\x80-\xff]")
_HTTP_CHARSET = re.compile(r"charset\s*=", re.IGNORECASE)
_BOMS = (b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff", b"\x00\x00\xfe\xff")  # UTF-8, -16 (and -32 LE), -32 BE
MAX_DECLARATION_BYTES = 1024
# The detector reads this much (its cost grows with the input; a feed may be 16 MiB); the whole body is
# then decoded with what it found.
DETECTION_SAMPLE_BYTES = 64 * 1024
# A detected decoding is taken when at least this share of its non-ASCII characters are non-Latin letters.
MIN_NON_LATIN_SHARE = 0.5
# Languages whose sites wrote a legacy Latin encoding other than windows-1252 (ISO 639-1, as CLD2 names them),
# and those encodings, in the order a tie between their readings is settled (ISO 8859-13 reads as windows-1257
# but for its quotation marks). Estonian is told apart otherwise (below).
LEGACY_LATIN_ENCODINGS: dict[str, tuple[str, ...]] = {
    **dict.fromkeys(("cs", "sk", "pl", "hu", "sl", "hr", "bs", "sr", "ro"), ("cp1250", "iso8859_2")),
    "tr": ("cp1254",),  # ISO 8859-9 is windows-1254 without its 0x80-0x9f
    **dict.fromkeys(("lt", "lv"), ("cp1257", "iso8859_13", "iso8859_4")),
}
_LEGACY_LATIN = tuple(dict.fromkeys(encoding for options in LEGACY_LATIN_ENCODINGS.values() for encoding in options))
# Estonian writes every letter where windows-1252 has it but š and ž, so CLD2 scores its readings alike.
# Each legacy encoding puts those two where windows-1252 has signs Estonian never writes: the bytes of
# š, ž, Š, Ž (ISO 8859-4's capitals, © and ® in windows-1252, left out), and the encodings that read them.
_ESTONIAN_SH_ZH: tuple[tuple[bytes, tuple[str, ...]], ...] = (
    (b"\xf0\xfe\xd0\xde", ("cp1257", "iso8859_13")),  # ð þ Ð Þ in windows-1252
    (b"\xa8\xb8\xa6\xb4", ("iso8859_15",)),  # ¨ ¸ ¦ ´
    (b"\xb9\xbe", ("iso8859_4",)),  # ¹ ¾
)
_WINDOWS_1252_SH_ZH = re.compile(b"[\x8a\x8e\x9a\x9e]")
# CLD2 reads this much around the first byte above 0x7f (~50 µs a document; a 64 KiB sample, ~1 ms).
LANGUAGE_SAMPLE_BYTES = 2048


def as_utf8_if_legacy(body: bytes, content_type: str | None) -> bytes:
    """The body in UTF-8 when it declares no encoding, is not UTF-8, and is detected to be in a legacy
    encoding of a non-Latin script or of a language in ``LEGACY_LATIN_ENCODINGS``; otherwise the body
    unchanged."""
    if body.isascii() or not _undeclared(body, content_type):
        return body
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        pass
    else:
        return body
    encoding = _non_latin_encoding(body) if has_high_byte_run(body) else None
    text = _decoded(body, encoding) if encoding else _legacy_latin_text(body)
    return text.encode("utf-8") if text is not None else body


def _non_latin_encoding(body: bytes) -> str | None:
    best = charset_normalizer.from_bytes(body[:DETECTION_SAMPLE_BYTES]).best()
    return best.encoding if best is not None and _mostly_non_latin(str(best)) else None


def _legacy_latin_text(body: bytes) -> str | None:
    """The body read in the legacy Latin encoding whose reading CLD2 scores highest, and higher than
    windows-1252's, in a language written in it; one that cannot decode the whole body is passed over."""
    first_high = _HIGH_BYTE.search(body)
    start = max(0, first_high.start() - LANGUAGE_SAMPLE_BYTES // 4) if first_high else 0
    sample = body[start:start + LANGUAGE_SAMPLE_BYTES]
    language, best_score = _cld2(sample.decode("cp1252", "replace"))
    if language == "et":
        return _estonian_text(body, sample)
    # Western text is named at once and asked no more. Text with many letters outside windows-1252
    # (Lithuanian) can be too garbled in its reading for CLD2 to name: then every reading is asked.
    candidates = LEGACY_LATIN_ENCODINGS.get(language, ()) if language else _LEGACY_LATIN
    best = None
    for encoding in candidates:
        reading, score = _cld2(sample.decode(encoding, "replace"))
        if score > best_score and encoding in LEGACY_LATIN_ENCODINGS.get(reading or "", ()):
            text = _decoded(body, encoding)
            if text is not None:
                best, best_score = text, score
    return best


def _estonian_text(body: bytes, sample: bytes) -> str | None:
    """The body in the encoding whose š and ž the sample holds most of; None (windows-1252) when it
    holds windows-1252's own or none."""
    if _WINDOWS_1252_SH_ZH.search(sample):
        return None
    count, encodings = max((sum(sample.count(byte) for byte in marks), encodings)
                           for marks, encodings in _ESTONIAN_SH_ZH)
    if not count:
        return None
    return next(filter(None, (_decoded(body, encoding) for encoding in encodings)), None)


def _decoded(body: bytes, encoding: str) -> str | None:
    """The whole body in ``encoding``; None when it cannot be (a detector's sample was not the whole story)."""
    try:
        return body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None


def _cld2(text: str) -> tuple[str | None, float]:
    """CLD2's language of a text with markup, and its score (higher where the text reads more like it)."""
    try:
        reliable, _, details = pycld2.detect(text, isPlainText=False)
    except pycld2.error:  # control characters (ISO 8859-2's reading of windows-1250 bytes 0x80-0x9f)
        return None, 0.0
    name, code, _, score = details[0]
    return (code if reliable and name != "Unknown" else None), score


def _mostly_non_latin(text: str) -> bool:
    non_ascii = len(_NON_ASCII.findall(text))
    return non_ascii > 0 and len(_NON_LATIN.findall(text)) >= MIN_NON_LATIN_SHARE * non_ascii


def has_high_byte_run(body: bytes) -> bool:
    return _HIGH_BYTE_RUN in body.translate(_HIGH_BYTES)


def _undeclared(body: bytes, content_type: str | None) -> bool:
    if body.startswith(_BOMS) or _HTTP_CHARSET.search(content_type or ""):
        return False
    if not body.startswith(b"<?xml"):
        return True
    end = body.find(b"?>", 0, MAX_DECLARATION_BYTES)
    return end < 0 or b"encoding" not in body[:end]
