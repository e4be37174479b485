"""The feeds file: which feeds to poll and how (``WIREFEED_FEEDS_FILE``, YAML).

Credentials never live in the file itself: ``auth`` names an environment variable or a file, read
when the feeds file is loaded (at start-up, and when the running poller reads the file again) into a
``SecretStr`` (masked in ``str``/``repr``, never logged).
"""

from __future__ import annotations

import base64
import ipaddress
import os
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import unquote
from zoneinfo import available_timezones

import yaml
from pydantic import (
    AfterValidator,
    AnyUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from schemas import FeedFormat, PubStatus, RawItem
from services.core.timestamps import zone_named
from services.poller.addresses import IPNetwork, reaches_beyond_an_intranet

# libyaml's safe loader where PyYAML was built with it (its wheels are): the same documents, read about five
# times faster than the pure-Python one (10,000 feeds: 0.9 s against 4.5 s, at start-up and at each reload).
_SAFE_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_MERGE = "tag:yaml.org,2002:merge"


class _UniqueKeysLoader(_SAFE_LOADER):  # type: ignore[misc,valid-type]
    """The safe loader, refusing a key given twice in one mapping: PyYAML keeps the last silently, so a
    second ``interval:`` in a feed, or a feed's second ``url:``, would change it unseen."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:  # a key from a merged anchor (<<: *defaults) may be overridden
                continue
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError("while reading a mapping", node.start_mark,
                                                        f"found the key {key!r} a second time", key_node.start_mark)
            seen.add(key)
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


class FeedsFileError(Exception):
    """The feeds file is missing, not YAML, or does not describe valid feeds."""


class _SecretSource(BaseModel, ABC):
    """Where a login's secrets come from: each from exactly one of an environment variable or a file."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    _optional: ClassVar[frozenset[str]] = frozenset()  # secrets a login may go without
    _secrets: dict[str, SecretStr] = PrivateAttr(default_factory=dict)

    @abstractmethod
    def _sources(self) -> dict[str, tuple[str | None, Path | None]]:
        """Each secret's name (``password``: ``password_env``, ``password_file``) and where it is read from."""

    @model_validator(mode="after")
    def _one_source_each(self) -> _SecretSource:
        for name, (env, file) in self._sources().items():
            if (env is not None and file is not None) or (env is None and file is None and name not in self._optional):
                raise ValueError(f"give exactly one of {name}_env or {name}_file")
        return self

    @property
    def secret_files(self) -> list[Path]:
        return [file for _, file in self._sources().values() if file is not None]

    def load_secret(self, environ: Mapping[str, str]) -> None:
        """Read the secrets now (the feeds file is being loaded); an error names where a secret was looked
        for, never a value."""
        for name, (env, file) in self._sources().items():
            if env is not None:
                if not environ.get(env):
                    raise FeedsFileError(f"environment variable {env} is not set")
                self._secrets[name] = SecretStr(environ[env])
            elif file is not None:
                try:
                    self._secrets[name] = SecretStr(file.read_text(encoding="utf-8").rstrip("\r\n"))
                except OSError as error:
                    raise FeedsFileError(f"cannot read secret file {file}: {error.strerror or error}") from error

    @abstractmethod
    def authorization(self) -> SecretStr:
        """The ``Authorization`` header value."""

    def _loaded(self, name: str) -> str:
        if name not in self._secrets:
            raise FeedsFileError("the feed's secret was not loaded at start-up")
        return self._secrets[name].get_secret_value()

    def _has(self, name: str) -> bool:
        return name in self._secrets


class BasicAuth(_SecretSource):
    type: Literal["basic"]
    username: str = Field(min_length=1)
    password_env: str | None = None
    password_file: Path | None = None

    def _sources(self) -> dict[str, tuple[str | None, Path | None]]:
        return {"password": (self.password_env, self.password_file)}

    def password(self) -> str:
        return self._loaded("password")

    def authorization(self) -> SecretStr:
        pair = f"{self.username}:{self.password()}".encode()
        return SecretStr("Basic " + base64.b64encode(pair).decode("ascii"))


class BearerAuth(_SecretSource):
    type: Literal["bearer"]
    token_env: str | None = None
    token_file: Path | None = None

    def _sources(self) -> dict[str, tuple[str | None, Path | None]]:
        return {"token": (self.token_env, self.token_file)}

    def token(self) -> str:
        return self._loaded("token")

    def load_secret(self, environ: Mapping[str, str]) -> None:
        super().load_secret(environ)
        if not _HEADER_VALUE.fullmatch(self.token()):  # else each request fails (the token is never shown)
            where = self.token_env or self.token_file
            raise FeedsFileError(f"the token from {where} is not one line of Latin-1 text, as HTTP headers are")

    def authorization(self) -> SecretStr:
        return SecretStr("Bearer " + self.token())


class SshKeyAuth(_SecretSource):
    """An SFTP feed's login by key: the private key (OpenSSH or PEM) is the secret, and its passphrase when
    it has one."""

    type: Literal["ssh_key"]
    username: str = Field(min_length=1)
    key_env: str | None = None
    key_file: Path | None = None
    passphrase_env: str | None = None
    passphrase_file: Path | None = None
    _optional: ClassVar[frozenset[str]] = frozenset({"passphrase"})

    def _sources(self) -> dict[str, tuple[str | None, Path | None]]:
        return {"key": (self.key_env, self.key_file), "passphrase": (self.passphrase_env, self.passphrase_file)}

    def passphrase(self) -> str | None:
        return self._loaded("passphrase") if self._has("passphrase") else None

    def authorization(self) -> SecretStr:
        raise FeedsFileError("an SSH key signs in to SFTP servers; it is no HTTP authorization")

    def private_key(self) -> str:
        return self._loaded("key")


class OAuth2Auth(_SecretSource):
    """A login by OAuth 2.0: an access token from the provider's token endpoint (``oauth.py``), sent as a
    bearer token to an HTTP feed and by SASL XOAUTH2 to a mailbox (Gmail and Microsoft 365 take nothing
    else). The refresh-token grant when a refresh token is given (a user's consent, as Google grants it),
    else the client-credentials grant (an application's own access: Microsoft 365, wire APIs)."""

    type: Literal["oauth2"]
    username: str | None = Field(None, min_length=1, description="A mailbox's login (the URL's user)")
    token_url: AnyUrl
    client_id: str = Field(min_length=1)
    scope: str | None = None
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    refresh_token_env: str | None = None
    refresh_token_file: Path | None = None
    _optional: ClassVar[frozenset[str]] = frozenset({"client_secret", "refresh_token"})
    # The access token in use, and when to stop using it (time.monotonic()); a rotated refresh token.
    _access: tuple[SecretStr, float] | None = PrivateAttr(None)
    _rotated_refresh_token: SecretStr | None = PrivateAttr(None)

    @field_validator("token_url")
    @classmethod
    def _https(cls, url: AnyUrl) -> AnyUrl:
        if url.scheme != "https":  # the client's secret and the refresh token travel in the request
            raise ValueError("the token endpoint must be https")
        return _a_real_port(url)

    @model_validator(mode="after")
    def _some_grant(self) -> OAuth2Auth:
        if not any(self._sources()[name] != (None, None) for name in self._optional):
            raise ValueError("give a client secret (client_secret_env or _file), a refresh token "
                             "(refresh_token_env or _file), or both")
        return self

    def _sources(self) -> dict[str, tuple[str | None, Path | None]]:
        return {"client_secret": (self.client_secret_env, self.client_secret_file),
                "refresh_token": (self.refresh_token_env, self.refresh_token_file)}

    def authorization(self) -> SecretStr:
        raise FeedsFileError("an OAuth 2.0 login's access token is asked for when it is needed (oauth.py)")

    def token_request(self) -> dict[str, str]:
        """The token endpoint's form (RFC 6749 4.4 or 6; the client authenticated in the body)."""
        form = {"client_id": self.client_id}
        refresh_token = self._rotated_refresh_token or self._secrets.get("refresh_token")
        if refresh_token is not None:
            form |= {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        else:
            form["grant_type"] = "client_credentials"
        if self._has("client_secret"):
            form["client_secret"] = self._loaded("client_secret")
        if self.scope:
            form["scope"] = self.scope
        return form

    def held_token(self, now: float) -> str | None:
        if self._access is None or now >= self._access[1]:
            return None
        return self._access[0].get_secret_value()

    def hold_token(self, token: str, until: float, refresh_token: str | None) -> None:
        self._access = SecretStr(token), until
        if refresh_token:
            self._rotated_refresh_token = SecretStr(refresh_token)

    def drop_token(self) -> None:
        """The server refused the token: the next login asks for a new one."""
        self._access = None


FeedAuth = Annotated[BasicAuth | BearerAuth | SshKeyAuth | OAuth2Auth, Field(discriminator="type")]


class ItemRule(BaseModel):
    """A condition on an item: regular expressions searched in its fields (case-sensitive; ``(?i)`` for
    not), all of those given matching. ``category`` and ``author`` match when any one value does."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    title: re.Pattern[str] | None = None
    url: re.Pattern[str] | None = None
    category: re.Pattern[str] | None = None
    author: re.Pattern[str] | None = None
    content: re.Pattern[str] | None = Field(None, description="The summary and body, as HTML")

    @model_validator(mode="after")
    def _some_condition(self) -> ItemRule:
        if not self._conditions():
            raise ValueError("an item rule needs at least one of title, url, category, author, content")
        return self

    def matches(self, item: RawItem) -> bool:
        return all(any(value and pattern.search(value) for value in _ITEM_FIELDS[name](item))
                   for name, pattern in self._conditions())

    def _conditions(self) -> list[tuple[str, re.Pattern[str]]]:
        return [(name, pattern) for name in _ITEM_FIELDS if (pattern := getattr(self, name)) is not None]


# What each condition of an item rule is searched in; only the fields a rule names are read.
_ITEM_FIELDS: dict[str, Callable[[RawItem], list[str | None]]] = {
    "title": lambda item: [item.title],
    "url": lambda item: [item.link, item.canonical_link],
    "category": lambda item: list(item.categories),
    "author": lambda item: [*item.authors, item.byline],
    "content": lambda item: [item.summary_html, item.content_html],
}


#: As pydantic's HttpUrl, and browsers before it, allow.
MAX_URL_CHARS = 2083
_FTP_SCHEMES = ("ftp", "ftps")
_IMAP_SCHEMES = ("imap", "imaps")
_REMOTE_SCHEMES = ("sftp", *_FTP_SCHEMES, *_IMAP_SCHEMES)
FEED_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")  # RFC 9110's token
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\xa0-\xff]*")
#: A feed polled less than once a year is none; a longer interval (".inf") overflowed the next poll's date.
MAX_INTERVAL_SECONDS = 366 * 24 * 3600
#: The longest name a feed may give its agency: agencies' full names are far shorter.
MAX_AGENCY_CHARS = 100
#: The shortest interval (and min_interval, max_interval) a feed may have: the README's most eager example (a
#: spool directory, whose files settle for 5 s anyway); a server polled more often is being hammered.
MIN_INTERVAL_SECONDS = 5.0


def _not_a_boolean(value: object) -> object:
    if isinstance(value, bool):  # YAML's true, yes and on, which pydantic would take for 1 second
        raise ValueError("must be a number of seconds, not true or false")
    return value


def _not_too_often(seconds: float) -> float:
    if seconds < MIN_INTERVAL_SECONDS:
        raise ValueError(f"must be at least {MIN_INTERVAL_SECONDS:g} seconds: polling more often hammers the server")
    return seconds


#: Seconds between polls, or a bound on them.
PollSeconds = Annotated[float, BeforeValidator(_not_a_boolean), Field(le=MAX_INTERVAL_SECONDS),
                        AfterValidator(_not_too_often)]


def _a_network(value: object) -> object:
    # Read strictly: 10.1.2.3/16 is more likely a slip for 10.1.0.0/16 or 10.1.2.3/32 than either; widened
    # silently it would open a whole /16 to the feed.
    if isinstance(value, IPNetwork):
        return value
    if not isinstance(value, str):  # YAML reads 10 as a number and yes as true
        raise ValueError("a network is written as text: 10.1.0.0/16, fd00:1::/64, or one address, 10.1.2.3")
    try:
        return ipaddress.ip_network(value.strip())
    except ValueError:
        pass
    try:
        widened = ipaddress.ip_network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is no network: write 10.1.0.0/16, fd00:1::/64, or one address, 10.1.2.3") \
            from None
    raise ValueError(f"{value!r} has bits set past its prefix length: {widened} for the network, or "
                     f"{value.strip().partition('/')[0]} for the one address")


#: A private network a feed's own requests may reach (``private_networks``).
PrivateNetwork = Annotated[IPNetwork, BeforeValidator(_a_network)]


def _a_time_zone_name(name: str) -> str:
    """``name`` (trimmed) when it is an IANA time zone this machine's zone data knows; else ValueError saying
    what to write instead."""
    name = name.strip()
    if not name:
        raise ValueError("must name the feed's time zone (Europe/Berlin), or be left out")
    if name in _MACHINE_ZONES:  # the poller's and the normalizer's machines may be set differently
        raise ValueError(f"{name!r} is this machine's own zone, not the feed's: name the feed's zone, "
                         "Europe/Berlin or America/New_York")
    if zone_named(name) is not None:
        return name
    meant = [known for known in available_timezones() if known.casefold() == name.casefold()]
    hint = f": {meant[0]}?" if meant else (": write an IANA name, Europe/Berlin or America/New_York (not an "
                                           "abbreviation, CEST, or an offset, +02:00, which summer time would "
                                           "leave an hour off half the year)")
    raise ValueError(f"{name[:100]!r} is no time zone{hint}")


#: Zone names that mean the machine's own setting rather than a place.
_MACHINE_ZONES = frozenset({"localtime", "posixrules"})


def _a_real_port(url: AnyUrl) -> AnyUrl:
    if url.port == 0:  # a URL may say :0, but no server listens there
        raise ValueError("port 0 is no port a server listens on: give 1 to 65535, or none for the default")
    return url


class FeedConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    id: str = Field(pattern=FEED_ID.pattern)
    # file:///path/ names a spool directory that wire copy is delivered into (see spool.py), and
    # sftp://user@host/path/ or ftp(s)://user@host/path/ a directory an agency's server keeps it in, and
    # imap(s)://user@host/MAILBOX a mailbox (see remote.py).
    url: AnyUrl
    format: FeedFormat | None = None
    title: str | None = Field(None, description="The source's name on its articles (default: the feed's own title)")
    agency: str | None = Field(None, description="The news agency whose own wire this feed is (Reuters, AP, dpa): "
                               "its kill or hold of that agency's story holds for the whole story, whichever "
                               "outlet's copy of it came first")
    timezone: str | None = Field(None, description="The IANA time zone the feed writes its local times in "
                                 "(Europe/Berlin): an item's date written without a zone or offset is read in it, "
                                 "summer time included")
    interval: PollSeconds = Field(300.0, description="Seconds between polls")
    min_interval: PollSeconds | None = None
    max_interval: PollSeconds | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    auth: FeedAuth | None = None
    private_networks: list[PrivateNetwork] = Field(
        default_factory=list, description="Non-public networks this feed's own requests may reach (its URL, "
        "redirects, next pages, OAuth token endpoint, SFTP, FTP or IMAP server; not a WebSub hub): an intranet "
        "feed's, while every other non-public address stays refused, and every other feed stays kept off them")
    adaptive: bool = Field(False, description="Learn the interval from how often the feed carries new items")
    category: str | None = Field(None, description="Folder path, '/'-separated (OPML outline nesting)")
    skip_items: list[ItemRule] = Field(default_factory=list, description="Items matching any of these are "
                                       "not published")
    keep_items: list[ItemRule] = Field(default_factory=list, description="When given, only items matching "
                                       "one of these are published")

    def wants(self, item: RawItem) -> bool:
        """Whether the feed's item rules let this item through. A kill always goes through: its notice may lack
        the story's categories, or the story went out before the rules changed, and must still be withdrawn."""
        if item.pubstatus is PubStatus.CANCELED:
            return True
        if self.keep_items and not any(rule.matches(item) for rule in self.keep_items):
            return False
        return not any(rule.matches(item) for rule in self.skip_items)

    def private_network_warnings(self) -> list[str]:
        """A line for each listed network that lets the feed reach more than a feed on your own network is
        served from (``reaches_beyond_an_intranet``: loopback, a cloud metadata address, more than a /8 or a
        /32). Said by ``feeds check`` and logged by the poller, not refused: a feed on the poller's own
        machine needs loopback all the same."""
        return [f"private_networks: {network} takes in {'; '.join(found)}: list only the networks the feed's own "
                "servers are on" for network in self.private_networks if (found := reaches_beyond_an_intranet(network))]

    @property
    def directory(self) -> Path | None:
        """The spool directory of a directory feed; None for a feed fetched over HTTP."""
        return Path(unquote(self.url.path or "/")) if self.url.scheme == "file" else None

    @property
    def url_user(self) -> str | None:
        """The URL's user, decoded (``desk%40example.com``: an e-mail address)."""
        return unquote(self.url.username) if self.url.username else None

    @property
    def login(self) -> str | None:
        """The user a server feed signs in as: the auth's, or the URL's for a token login."""
        return getattr(self.auth, "username", None) or self.url_user

    @property
    def is_sftp(self) -> bool:
        return self.url.scheme == "sftp"

    @property
    def is_ftp(self) -> bool:
        return self.url.scheme in _FTP_SCHEMES

    @property
    def is_imap(self) -> bool:
        return self.url.scheme in _IMAP_SCHEMES

    @property
    def is_remote_directory(self) -> bool:
        """Whether the feed is a directory (or mailbox) on a server (SFTP, FTP, IMAP), read without moving
        anything there."""
        return self.url.scheme in _REMOTE_SCHEMES

    @property
    def is_spool(self) -> bool:
        """Whether the feed is a directory of files, one document each, rather than a feed fetched over HTTP."""
        return self.url.scheme == "file" or self.is_remote_directory

    @field_validator("url")
    @classmethod
    def _http_or_directory(cls, url: AnyUrl) -> AnyUrl:
        _a_real_port(url)
        if url.scheme == "file":
            if url.host not in (None, "", "localhost"):
                raise ValueError("a spool directory must be on this machine: file:///path/")
            return url
        if url.scheme in _REMOTE_SCHEMES:
            if not url.host:
                raise ValueError(f"a {url.scheme} feed names its server: {url.scheme}://user@host/path/")
            if url.password is not None:  # the feeds file is no place for a secret: auth reads it
                raise ValueError(f"a {url.scheme} feed's password goes in its auth (password_env or "
                                 "password_file), not in the URL")
        elif url.scheme not in ("http", "https"):
            raise ValueError("feed URLs must be http or https (or file:///path/ for a spool directory, "
                             "sftp://, ftps:// or ftp://user@host/path/ for a directory on a server, "
                             "imaps:// or imap://user@host/MAILBOX for a mailbox)")
        elif url.password is not None:  # it would travel with every item's feed_url, to Kafka and storage
            raise ValueError("a feed's password goes in its auth (type basic, with password_env or "
                             "password_file), not in the URL")
        if len(str(url)) > MAX_URL_CHARS:
            raise ValueError(f"a feed URL may have at most {MAX_URL_CHARS} characters")
        return url

    @field_validator("agency")
    @classmethod
    def _an_agency_name(cls, name: str | None) -> str | None:
        # It decides whose kills cancel stories: a blank or garbled name would mark the feed for nothing.
        if name is None:
            return None
        name = name.strip()
        if not name:
            raise ValueError("must name the agency whose own wire the feed is (Reuters, AP, dpa), or be left out")
        if len(name) > MAX_AGENCY_CHARS or not name.isprintable():
            raise ValueError(f"an agency's name is one line of at most {MAX_AGENCY_CHARS} characters")
        return name

    @field_validator("timezone")
    @classmethod
    def _a_time_zone(cls, name: str | None) -> str | None:
        # Checked here: a name the normalizer cannot find would leave the feed's dates read as before, unseen.
        return None if name is None else _a_time_zone_name(name)

    @field_validator("headers")
    @classmethod
    def _sendable_headers(cls, headers: dict[str, str]) -> dict[str, str]:
        # Checked here, not at every poll: a header HTTP cannot carry failed each of the feed's requests.
        for name, value in headers.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"header name {name!r} is not an HTTP token (letters, digits, -, _ and the like)")
            if not _HEADER_VALUE.fullmatch(value):
                raise ValueError(f"header {name}: HTTP header values are Latin-1 text on one line, "
                                 "without control characters")
        return headers

    @model_validator(mode="after")
    def _bounds(self) -> FeedConfig:
        if self.min_interval and self.max_interval and self.min_interval > self.max_interval:
            raise ValueError("min_interval must not exceed max_interval")
        if self.is_spool and self.headers:
            raise ValueError("headers are for HTTP; a spool feed (a directory, a server's, a mailbox) takes none")
        if self.directory is not None and self.auth:
            raise ValueError("auth is for HTTP, SFTP, FTP and IMAP; a spool directory feed takes none")
        if self.directory is not None and self.private_networks:
            raise ValueError("private_networks are for feeds read over the network; a spool directory feed "
                             "connects nowhere")
        return self

    @model_validator(mode="after")
    def _server_login(self) -> FeedConfig:
        if self.is_sftp and not isinstance(self.auth, BasicAuth | SshKeyAuth):
            raise ValueError("an SFTP feed signs in with auth of type basic (a password) or ssh_key")
        if self.is_ftp and self.auth is not None and not isinstance(self.auth, BasicAuth):
            raise ValueError("an FTP feed signs in with auth of type basic, or anonymously without auth")
        if self.is_imap and not isinstance(self.auth, BasicAuth | OAuth2Auth | BearerAuth):
            raise ValueError("an IMAP feed signs in with auth of type basic, oauth2 or bearer")
        if self.is_imap and not self.login:
            raise ValueError("an IMAP feed names its login: imaps://user@host/MAILBOX")
        login = getattr(self.auth, "username", None)
        token_login = login is None and isinstance(self.auth, BearerAuth | OAuth2Auth)  # the URL's user signs in
        if self.is_remote_directory and self.url_user and self.url_user != login and not token_login:
            raise ValueError("the URL's user and the auth's username differ")
        if not self.is_sftp and isinstance(self.auth, SshKeyAuth):
            raise ValueError("auth of type ssh_key is for SFTP feeds (sftp://user@host/path/)")
        return self


class FeedsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    feeds: list[FeedConfig]

    @model_validator(mode="after")
    def _unique_ids(self) -> FeedsFile:
        seen: set[str] = set()
        for feed in self.feeds:
            if feed.id in seen:
                raise ValueError(f"feed id {feed.id!r} appears more than once")
            seen.add(feed.id)
        return self


def load_feeds(path: str | Path, *, secrets: bool = True, environ: Mapping[str, str] | None = None) -> FeedsFile:
    """Load and validate a feeds file; with ``secrets``, read every feed's credentials now."""
    path = Path(path)
    return parse_feeds(read_feeds_file(path), path, secrets=secrets, environ=environ)


def read_feeds_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise FeedsFileError(f"{path}: cannot read: {error.strerror or error}") from error


def parse_feeds(content: bytes, path: Path, *, secrets: bool = True,
                environ: Mapping[str, str] | None = None) -> FeedsFile:
    """The feeds of a feeds file's content; ``path`` names the file in errors."""
    try:
        data: Any = yaml.load(content.decode("utf-8"), Loader=_UniqueKeysLoader)
    except UnicodeDecodeError as error:
        raise FeedsFileError(f"{path}: not UTF-8: {error}") from error
    except yaml.YAMLError as error:
        raise FeedsFileError(f"{path}: not valid YAML: {error}") from error
    if not isinstance(data, dict) or "feeds" not in data:
        raise FeedsFileError(f"{path}: expected a mapping with a 'feeds:' list")
    try:
        feeds = FeedsFile.model_validate(data)
    except ValidationError as error:
        raise FeedsFileError(f"{path}: {_describe(error)}") from error
    if secrets:
        _load_secrets(path, feeds, os.environ if environ is None else environ)
    return feeds


def _load_secrets(path: Path, feeds: FeedsFile, environ: Mapping[str, str]) -> None:
    for feed in feeds.feeds:
        if feed.auth is None:
            continue
        try:
            feed.auth.load_secret(environ)
        except FeedsFileError as error:
            raise FeedsFileError(f"{path}: feed {feed.id!r}: auth: {error}") from error


def _describe(error: ValidationError) -> str:
    lines = []
    for problem in error.errors():
        where = ".".join(str(part) for part in problem["loc"])
        message = problem["msg"].removeprefix("Value error, ")  # pydantic's wording for our own checks
        lines.append(f"{where}: {message}" if where else message)
    return "; ".join(lines)
