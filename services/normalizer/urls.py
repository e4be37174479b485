"""Canonical URLs: one spelling per page, so the same article from two feeds compares equal."""

from __future__ import annotations

import re
import string
from collections.abc import Iterable
from urllib.parse import SplitResult, parse_qsl, quote, urlencode, urljoin, urlsplit, urlunsplit

import idna

TRACKING_PARAMS = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
    "_hsenc", "_hsmi", "mkt_tok", "ref_src", "cmpid", "ocid", "ns_source", "ns_mchannel", "ns_campaign",
    "ito", "sr_share", "smid", "rss", "_ga", "_gl", "cmp", "icid", "xtor", "guccounter", "guce_referrer",
    "guce_referrer_sig", "soc_src", "soc_trk", "taid", "oly_enc_id", "oly_anon_id", "vero_id", "wt.mc_id",
    "s_cid", "ncid", "sref", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "spm", "share_id", "twclid", "ttclid", "li_fat_id", "mbid", "cid_source",
    "wt_mc", "wt_zmc", "wt_mc_o",  # Webtrekk, as heise tags every feed link ("?wt_mc=rss.developer.beitrag.atom")
    "mwrsm",  # The New York Times' share channel ("mwrsm=Email")
    "_r", "unlocked_article_code",  # the New York Times' registration counter and gift links
    "postshare",  # the Washington Post's share tag
}
# Parameters that are tracking on one site and may address content elsewhere.
_YOUTUBE_SHARE = frozenset({"si", "pp", "feature"})  # share id, player parameters, "feature=share"
HOST_TRACKING_PARAMS = {
    **dict.fromkeys(("youtube.com", "www.youtube.com", "m.youtube.com", "music.youtube.com", "youtu.be"),
                    _YOUTUBE_SHARE),
    "open.spotify.com": frozenset({"si"}),
    "www.theatlantic.com": frozenset({"gift"}),
    "www.washingtonpost.com": frozenset({"tid", "itid"}),  # "tid=ss_tw": shared on Twitter
}
# Parameters that name the feed a click came from when their value says so: Medium's
# "?source=rss-b1f3d322dadf------2", Medscape's "?src=rss". Elsewhere these keys can address content.
FEED_ATTRIBUTION_KEYS = frozenset({"source", "src", "ref", "from", "via", "feed", "channel"})
_FEED_ATTRIBUTION_VALUE = re.compile(r"(?:rss|feeds?|atom)(?:$|[-_.:/])", re.IGNORECASE)
# Redirectors whose target is a parameter: Google Alerts links every item through www.google.com/url.
REDIRECTORS = {"www.google.com": ("/url", ("url", "q")), "google.com": ("/url", ("url", "q"))}
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_", "matomo_")
DEFAULT_PORTS = {"http": 80, "https": 443}
# A Java servlet's session in the path ("/story.html;jsessionid=0A1B"): one per visitor, not per page.
_SESSION_ID = re.compile(r";jsessionid=[^/]*", re.IGNORECASE)
_PERCENT_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset(string.ascii_letters + string.digits + "-._~")
# What a path keeps as it is (RFC 3986's pchar and "/"); "%" too, so that what is encoded stays encoded.
_PATH_SAFE = "/:@!$&'()*+,;=-._~%"


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """Lowercased scheme and host, no default port, no fragment, no tracking parameters, sorted query.

    A relative ``url`` (some feeds give ``/news/1`` as the canonical link) is resolved against ``base``.
    None for anything that is not an absolute http(s) URL.
    """
    if not url or not url.strip():
        return None
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)
        parts = _unwrapped(urlsplit(url))
        port = parts.port
    except ValueError:  # "http://[::1" and other URLs urllib cannot split: no canonical form
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = _ascii_host(parts.hostname.rstrip("."))  # a trailing dot is the same host
    if not host:
        return None  # "https://./a": dots alone name no host
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal: urlsplit took its brackets off
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(sorted(
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(key, value, HOST_TRACKING_PARAMS.get(host, frozenset()))
    ))
    return urlunsplit((scheme, netloc, _normal_path(parts.path) or "/", query, ""))


def _ascii_host(host: str) -> str:
    """The host as DNS and HTTP clients write it: "bücher.example" as "xn--bcher-kva.example" (IDNA 2008
    with UTS 46 mapping, as the poller's HTTP client encodes it); a name IDNA refuses stays as it is."""
    if host.isascii():
        return host  # urlsplit lowercased it
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except idna.IDNAError:
        return host


def _normal_path(path: str) -> str:
    """RFC 3986's normal form of a path (section 6.2.2): characters beyond ASCII percent-encoded as UTF-8,
    percent-encodings in upper case, unreserved characters ("%7E") decoded, "." and ".." segments
    resolved; a servlet's session id dropped. "/ä/./x" and "/%c3%a4/x" are one path."""
    # surrogatepass: a lone surrogate (a raw item built in process; a topic's are replaced) raised here
    path = _SESSION_ID.sub("", quote(path, safe=_PATH_SAFE, errors="surrogatepass"))
    path = _PERCENT_ENCODED.sub(_normal_percent_encoding, path)
    return _without_dot_segments(path) if "/." in path else path


def _normal_percent_encoding(encoded: re.Match[str]) -> str:
    character = chr(int(encoded[0][1:], 16))
    return character if character in _UNRESERVED else encoded[0].upper()


def _without_dot_segments(path: str) -> str:
    """RFC 3986's remove_dot_segments for a path that starts with "/"."""
    segments = path.split("/")[1:]
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if kept:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in (".", ".."):
        kept.append("")  # "/a/b/.." names the directory "/a/"
    return "/" + "/".join(kept)


def page_key(canonical: str, link: str | None) -> str:
    """What two links to one page share, for telling repeats: the canonical URL as https (a page served
    over both schemes is one page), and the link's fragment when it names a part of the page: a live
    blog's entries ("#block-3") are one page's parts, each its own item. A fragment that tracks or
    jumps ("#xtor=RSS-3", "#comments", WordPress' "#more-123") names no part."""
    key = "https://" + canonical.removeprefix("http://") if canonical.startswith("http://") else canonical
    fragment = urlsplit(link).fragment if link else ""
    if not fragment or "=" in fragment or _NOT_A_PART.match(fragment):
        return key
    return f"{key}#{fragment}"


_NOT_A_PART = re.compile(r"(?:more|comments?|respond|reply|disqus_thread|top|main|content|continue|read-?more"
                         r"|ref|rss|feed|xtor)(?:$|[-_:.\d])", re.IGNORECASE)


def web_url(url: str | None, base: str | None = None) -> str | None:
    """The URL when it is an absolute http(s) URL with a host, as given (resolved against ``base`` when
    relative: ninjs and JSON Feed may give a media file's path); None for anything else.

    An article's links are followed by whoever shows them: a feed's ``javascript:alert(1)`` would run in
    a downstream page's link, a ``file:`` URL names a path on the ingesting machine.
    """
    if not url:
        return None
    url = url.strip()
    try:
        if base:
            url = urljoin(base, url)
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- raises for a port that is no number or out of range ("x.example:99999")
    except ValueError:
        return None
    return url if parts.scheme.lower() in DEFAULT_PORTS and parts.hostname else None


def on_domain(host: str, domains: Iterable[str]) -> bool:
    """Whether ``host`` is one of ``domains`` or below one ("x.doubleclick.net" is on doubleclick.net)."""
    return any(host == domain or host.endswith("." + domain) for domain in domains)


def _unwrapped(parts: SplitResult) -> SplitResult:
    """The target of a known redirector's link (once: a redirect to a redirect stays as it is)."""
    path, keys = REDIRECTORS.get(parts.hostname or "", ("", ()))
    if not keys or parts.path != path:
        return parts
    params = dict(parse_qsl(parts.query))
    for key in keys:
        target = params.get(key, "")
        if target.startswith(("https://", "http://")):
            return urlsplit(target)
    return parts


def _is_tracking(key: str, value: str, site_tracking: frozenset[str]) -> bool:
    key = key.lower()
    if key in FEED_ATTRIBUTION_KEYS:
        return _FEED_ATTRIBUTION_VALUE.match(value) is not None
    return key.startswith(TRACKING_PREFIXES) or key in TRACKING_PARAMS or key in site_tracking
