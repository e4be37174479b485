import gzip
import os
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable

import brotli
import httpx
import pytest

from services.core.compression import zstd
from services.poller.addresses import is_private
from services.poller.decoding import MAX_ZSTD_FRAMES
from services.poller.fetch import (
    BlockedAddressError,
    Fetcher,
    FetchError,
    FetchLimits,
    HTTPStatusError,
    InvalidURLError,
    ResponseTooLargeError,
    TooManyRedirectsError,
    TransportError,
    as_sent,
    same_origin,
)

OPEN = FetchLimits(allow_private_networks=True)


def fetcher(handler: object, limits: FetchLimits = OPEN) -> Fetcher:
    return Fetcher(limits, transport=httpx.MockTransport(handler))  # type: ignore[arg-type]


async def test_conditional_headers_are_sent_and_304_is_reported() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(304, headers={"ETag": '"v1"'})

    result = await fetcher(handler).fetch("http://feeds.test/a", etag='"v1"', last_modified="Mon, 01 Jan 2024")
    assert result.not_modified
    assert seen[0].headers["If-None-Match"] == '"v1"'
    assert seen[0].headers["If-Modified-Since"] == "Mon, 01 Jan 2024"
    assert "wirefeed" in seen[0].headers["User-Agent"]


async def test_validators_are_sent_back_byte_for_byte() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, headers=[(b"ETag", b'"caf\xc3\xa9"'), (b"Last-Modified", b"1 D\xe9c 2025")])

    first = await fetcher(handler).fetch("http://feeds.test/a")
    assert first.etag is not None and first.last_modified is not None
    await fetcher(handler).fetch("http://feeds.test/a", etag=first.etag, last_modified=first.last_modified)
    assert seen[1].headers.raw[-2:] == [(b"If-None-Match", b'"caf\xc3\xa9"'), (b"If-Modified-Since", b"1 D\xe9c 2025")]


def test_a_validator_stored_before_with_any_character_can_be_sent() -> None:
    # as httpx decoded it (UTF-8) before validators were kept byte for byte: sent as those bytes
    assert as_sent('"\u20ac-1"').encode("latin-1") == '"\u20ac-1"'.encode()
    assert as_sent('"v1"') == '"v1"'


async def test_per_feed_headers_are_sent() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=request.headers.get("X-Api-Key", "").encode())

    result = await fetcher(handler).fetch("http://feeds.test/a", headers={"X-Api-Key": "k1"})
    assert result.body == b"k1"


async def test_a_body_larger_than_the_limit_is_cut_off_while_streaming() -> None:
    async def endless() -> AsyncIterator[bytes]:
        for _ in range(100):
            yield b"x" * 1024

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=endless())  # streamed, no Content-Length

    with pytest.raises(ResponseTooLargeError):
        await fetcher(handler, FetchLimits(max_body_bytes=10_000, allow_private_networks=True)).fetch("http://f.test/")


async def test_a_gzip_bomb_is_stopped_by_the_decompressed_size_cap() -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=bomb, headers={"Content-Encoding": "gzip"})

    limits = FetchLimits(max_decompressed_bytes=1_000_000, allow_private_networks=True)
    with pytest.raises(ResponseTooLargeError, match="decompressed"):
        await fetcher(handler, limits).fetch("http://f.test/")


def _zeros_gzipped(megabytes: int) -> bytes:
    compressor = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
    return b"".join([*(compressor.compress(bytes(2**20)) for _ in range(megabytes)), compressor.flush()])


def _zeros(encoding: str, megabytes: int) -> bytes:
    if encoding == "br":
        return bytes(brotli.compress(bytes(megabytes * 2**20)))
    if encoding == "zstd":
        return zstd.compress(bytes(megabytes * 2**20))
    bomb = _zeros_gzipped(megabytes)
    return gzip.compress(bomb) if encoding == "gzip, gzip" else bomb


@pytest.mark.parametrize("encoding", ["gzip", "gzip, gzip", "br", "zstd"])
async def test_a_bomb_is_decoded_a_bounded_piece_at_a_time(encoding: str) -> None:
    # 100 MB of zeros in about 100 kB, gzipped once more to 1 kB: httpx decoded each layer's chunk whole,
    # so the second layer took 100 MB at once before any size check ran (a 2 GB one exhausted memory).
    bomb = _zeros(encoding, 100)

    def handler(_: httpx.Request) -> httpx.Response:  # streamed, as from the network
        return httpx.Response(200, stream=httpx.ByteStream(bomb), headers={"Content-Encoding": encoding})

    limits = FetchLimits(max_decompressed_bytes=1_000_000, allow_private_networks=True)
    tracemalloc.start()
    try:
        with pytest.raises(ResponseTooLargeError, match="decompressed"):
            await fetcher(handler, limits).fetch("http://f.test/")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2**20


@pytest.mark.parametrize(("encoding", "encode"), [
    ("gzip", gzip.compress), ("x-gzip", gzip.compress), ("deflate", zlib.compress),
    ("deflate", lambda body: zlib.compress(body)[2:-4]),  # raw deflate, without zlib's header: as browsers read it
    ("gzip, gzip", lambda body: gzip.compress(gzip.compress(body))), ("br", brotli.compress),
    ("zstd", zstd.compress), ("zstd", lambda body: zstd.compress(body[:9_999]) + zstd.compress(body[9_999:])),
    ("br, gzip", lambda body: gzip.compress(brotli.compress(body))),
    ("compress", lambda body: body), ("identity", lambda body: body),  # not ours (nor asked for): left as is
])
async def test_encoded_bodies_are_decoded(encoding: str, encode: Callable[[bytes], bytes]) -> None:
    body = b"<rss><channel><title>Coast</title></channel></rss>" * 1000

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(encode(body)), headers={"Content-Encoding": encoding})

    assert (await fetcher(handler).fetch("http://f.test/")).body == body


async def test_the_encodings_it_can_undo_are_asked_for() -> None:
    asked: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers["Accept-Encoding"])
        return httpx.Response(200, content=b"<rss/>")

    await fetcher(handler).fetch("http://f.test/")
    assert asked == ["gzip, deflate, br, zstd"]


async def test_a_zstd_frame_asking_for_a_window_over_8_mib_is_refused() -> None:
    # RFC 9659: 8 MiB at most; a frame may otherwise make its reader reserve up to 2 GiB.
    wide = zstd.compress(os.urandom(2**20) * 20, options={zstd.CompressionParameter.window_log: 27})

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(wide), headers={"Content-Encoding": "zstd"})

    with pytest.raises(TransportError, match="DecodingError: zstd"):
        await fetcher(handler).fetch("http://f.test/")


async def test_a_zstd_body_of_countless_empty_frames_is_refused_at_the_frame_bound() -> None:
    # Each frame cost a decompressor and a copy of the rest of its chunk: 4 MiB of empty frames, 30 s.
    empty = zstd.compress(b"")
    countless = empty * (4 * 2**20 // len(empty))

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(countless), headers={"Content-Encoding": "zstd"})

    with pytest.raises(TransportError, match=f"DecodingError: zstd: more than {MAX_ZSTD_FRAMES} frames"):
        await fetcher(handler).fetch("http://f.test/")


async def test_a_zstd_body_of_as_many_frames_as_the_bound_is_read() -> None:
    body = b"<rss><channel><title>Coast</title></channel></rss>" * 1000
    step = -(-len(body) // MAX_ZSTD_FRAMES)
    frames = b"".join(zstd.compress(body[start:start + step]) for start in range(0, len(body), step))

    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, stream=httpx.ByteStream(frames), headers={"Content-Encoding": "zstd"})

    assert (await fetcher(handler).fetch("http://f.test/")).body == body


async def test_too_many_layers_of_encoding_or_a_broken_one_is_a_transport_error() -> None:
    for encoding, content in [("gzip, gzip, gzip, gzip", b"x"), ("gzip", b"not gzip at all"),
                              ("br", b"not brotli at all"), ("zstd", b"not zstd at all")]:
        def handler(_: httpx.Request, content: bytes = content, encoding: str = encoding) -> httpx.Response:
            return httpx.Response(200, stream=httpx.ByteStream(content), headers={"Content-Encoding": encoding})

        with pytest.raises(TransportError, match="DecodingError"):
            await fetcher(handler).fetch("http://f.test/")


async def test_a_permanent_redirect_reports_the_new_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "/new"})
        return httpx.Response(200, content=b"<rss/>")

    result = await fetcher(handler).fetch("http://f.test/old")
    assert result.permanent_url == "http://f.test/new"
    assert result.body == b"<rss/>"


async def test_credentials_a_redirect_puts_in_the_url_stay_out_of_the_urls_reported() -> None:
    # The final URL becomes every item's feed_url, published to Kafka and stored.
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(301, headers={"Location": "https://wire:hunter2@f.test/new"})
        return httpx.Response(200, content=b"<rss/>")

    result = await fetcher(handler).fetch("http://f.test/old")
    assert result.final_url == "https://f.test/new"
    assert "hunter2" not in str(result.permanent_url)


async def test_a_temporary_redirect_keeps_the_old_url() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/old":
            return httpx.Response(302, headers={"Location": "/new"})
        return httpx.Response(200, content=b"ok")

    assert (await fetcher(handler).fetch("http://f.test/old")).permanent_url is None


async def test_a_redirect_loop_is_a_clear_error() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "/loop"})

    with pytest.raises(TooManyRedirectsError):
        await fetcher(handler).fetch("http://f.test/loop")


async def test_a_redirect_to_a_url_that_cannot_be_read_is_a_fetch_error() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://[::1/feed"})

    with pytest.raises(FetchError, match="Invalid URL in location header"):  # a failed poll, not a crash
        await fetcher(handler).fetch("http://f.test/old")


CANNOT_BE_FETCHED = [
    "http://f.test:99999/feed",  # urllib's ValueError: Port out of range 0-65535
    "http://f.test:9x/feed",  # ... Port could not be cast to integer value
    "http://xn--a.test/feed",  # httpx's IDNA decoding: its label is U+0080
    f"http://{'x' * 64}.test/feed",  # the IDNA codec getaddrinfo uses: label empty or too long
    "http://a..b.test/feed",
]


@pytest.mark.parametrize("url", CANNOT_BE_FETCHED)
async def test_a_url_that_cannot_be_fetched_as_written_fails_before_any_request(url: str) -> None:
    requested: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(request)
        return httpx.Response(202)

    looked_up: list[str] = []

    async def resolver(host: str, port: int) -> list[str]:
        looked_up.append(host)
        return ["93.184.216.34"]

    for checked in (fetcher(handler), Fetcher(FetchLimits(), transport=httpx.MockTransport(handler),
                                              resolver=resolver)):
        with pytest.raises(InvalidURLError):
            await checked.fetch(url)
        with pytest.raises(InvalidURLError):  # a WebSub hub, an OAuth token endpoint
            await checked.post_form(url, {"hub.mode": "subscribe"})
    assert requested == [] and looked_up == []


@pytest.mark.parametrize("location", CANNOT_BE_FETCHED)
async def test_a_redirect_to_a_url_that_cannot_be_fetched_is_a_fetch_error_not_a_crash(location: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": location})

    with pytest.raises(FetchError):  # httpx refuses "9x" itself, reading the Location: a TransportError
        await fetcher(handler).fetch("http://f.test/old")


def test_a_url_whose_port_cannot_be_read_is_no_origin() -> None:
    assert not same_origin("http://f.test/feed", "http://f.test:99999/feed")
    assert not same_origin("http://f.test:9x/feed", "http://f.test:9x/feed")


async def test_gone_is_an_answer_and_server_errors_raise_with_retry_after() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/gone":
            return httpx.Response(410)
        return httpx.Response(429, headers={"Retry-After": "120"})

    assert (await fetcher(handler).fetch("http://f.test/gone")).status == 410
    with pytest.raises(HTTPStatusError) as error:
        await fetcher(handler).fetch("http://f.test/busy")
    assert error.value.status == 429
    assert error.value.retry_after == 120


async def test_a_retry_after_that_is_no_number_or_date_is_ignored() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers=[(b"Retry-After", "²".encode())])  # isdigit() is true; float() refused

    with pytest.raises(HTTPStatusError) as error:
        await fetcher(handler).fetch("http://f.test/busy")
    assert (error.value.status, error.value.retry_after) == (503, None)


@pytest.mark.parametrize(("value", "seconds"), [
    ("Mon, 01 Jan 2024 10:00:00 GMT\\", 0.0),  # a zone email.utils does not know: a naive time, which
    ("Mon, 01 Jan 2024 10:00:00 GMThttp://x.example/", 0.0),  # raised TypeError out of the poll
])
async def test_a_retry_after_date_with_junk_after_it_is_read_as_gmt(value: str, seconds: float) -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(503, headers={"Retry-After": value})

    with pytest.raises(HTTPStatusError) as error:
        await fetcher(handler).fetch("http://f.test/")
    assert (error.value.status, error.value.retry_after) == (503, seconds)


async def test_private_addresses_are_refused_unless_allowed() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"secret")

    closed = fetcher(handler, FetchLimits(allow_private_networks=False))
    for url in ("http://127.0.0.1/feed", "http://localhost/feed", "http://169.254.169.254/latest",
                "http://[::1]/feed", "http://10.0.0.8/feed"):
        with pytest.raises(BlockedAddressError):
            await closed.fetch(url)


async def test_a_redirect_to_a_private_address_is_refused() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        return httpx.Response(302, headers={"Location": "http://127.0.0.1/admin"})

    closed = Fetcher(FetchLimits(), transport=httpx.MockTransport(handler))
    closed._check_target = _public_first(closed._check_target)  # type: ignore[method-assign]
    with pytest.raises(BlockedAddressError):
        await closed.fetch("http://public.example/feed")


def _public_first(check):  # type: ignore[no-untyped-def]
    """Treat the first (public, unresolvable here) hop as allowed; check every later hop for real."""
    calls = []

    async def wrapped(url: str) -> None:
        calls.append(url)
        if len(calls) > 1:
            await check(url)

    return wrapped


def test_address_classification() -> None:
    assert is_private("127.0.0.1") and is_private("10.1.2.3") and is_private("192.168.0.1")
    assert is_private("169.254.169.254") and is_private("::1") and is_private("fd00::1")
    assert is_private("::ffff:127.0.0.1")
    assert not is_private("93.184.216.34") and not is_private("2606:2800:220:1::1")


@pytest.mark.parametrize("address", [
    "2002:7f00:1::1",  # 6to4 around 127.0.0.1
    "2002:a9fe:a9fe::",  # 6to4 around 169.254.169.254, the cloud metadata address
    "64:ff9b::a00:1",  # NAT64 (with DNS64) to 10.0.0.1
    "64:ff9b:1::5",  # a network's own NAT64 prefix
    "::ffff:0:7f00:1",  # SIIT's IPv4-translated form of 127.0.0.1
    "::7f00:1",  # IPv4-compatible 127.0.0.1
])
def test_an_ipv6_address_around_a_private_ipv4_one_is_private(address: str) -> None:
    assert is_private(address)


@pytest.mark.parametrize("address", [
    "fec0::1", "feff:ffff::1",  # IPv6 site-local (fec0::/10), which ipaddress counts as global
    "168.63.129.16",  # Azure's WireServer, reachable from every VM like a metadata address
    "::ffff:168.63.129.16", "2002:a83f:8110::1",  # the same inside IPv4-mapped and 6to4 forms
])
def test_addresses_ipaddress_calls_global_that_lead_inside_are_private(address: str) -> None:
    assert is_private(address)


def test_the_neighbours_of_those_addresses_stay_public() -> None:
    assert not is_private("168.63.129.15") and not is_private("168.63.129.17")
    assert not is_private("2001:4860::1")  # fec0::/10 ends before the global unicast space


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822"])  # 93.184.216.34 inside
def test_an_ipv6_address_around_a_public_ipv4_one_is_public(address: str) -> None:
    assert not is_private(address)


async def test_credentials_in_headers_never_reach_the_error_message() -> None:
    def handler(_: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    with pytest.raises(Exception) as error:
        await fetcher(handler).fetch("http://f.test/", headers={"Authorization": "Bearer s3cr3t-token"})
    assert "s3cr3t" not in str(error.value)
