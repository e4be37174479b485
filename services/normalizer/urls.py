"""Canonical URLs: one spelling per page, so the same article from two feeds compares equal."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

TRACKING_PARAMS = {
    "fbclid", "gclid", "dclid", "gbraid", "wbraid", "msclkid", "mc_cid", "mc_eid", "igshid", "yclid",
    "_hsenc", "_hsmi", "mkt_tok", "ref_src", "cmpid", "ocid", "ns_source", "ns_mchannel", "ns_campaign",
    "ito", "sr_share", "smid", "rss", "_ga", "_gl", "cmp", "icid", "xtor", "guccounter", "guce_referrer",
    "guce_referrer_sig", "soc_src", "soc_trk", "taid", "oly_enc_id", "oly_anon_id", "vero_id", "wt.mc_id",
    "s_cid", "ncid", "sref", "at_medium", "at_campaign", "at_custom1", "at_custom2", "at_custom3",
    "at_custom4", "spm", "share_id", "twclid", "ttclid", "li_fat_id", "mbid", "cid_source",
    "wt_mc", "wt_zmc", "wt_mc_o",  # Webtrekk, as heise tags every feed link ("?wt_mc=rss.developer.beitrag.atom")
}
TRACKING_PREFIXES = ("utm_", "pk_", "hsa_", "mtm_", "matomo_")
DEFAULT_PORTS = {"http": 80, "https": 443}


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
        parts = urlsplit(url)
        port = parts.port
    except ValueError:  # "http://[::1" and other URLs urllib cannot split: no canonical form
        return None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = parts.hostname.rstrip(".")  # urlsplit lowercases the host; a trailing dot is the same host
    if ":" in host:
        host = f"[{host}]"  # IPv6 literal: urlsplit took its brackets off
    netloc = host if port in (None, DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    query = urlencode(sorted(
        (key, value) for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _is_tracking(key)
    ))
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _is_tracking(key: str) -> bool:
    key = key.lower()
    return key.startswith(TRACKING_PREFIXES) or key in TRACKING_PARAMS
