"""Access tokens for OAuth 2.0 logins of feeds (``auth: {type: oauth2}``, ``feeds.OAuth2Auth``).

Some wire services put their APIs behind OAuth 2.0 (an application's client credentials), and Gmail and
Microsoft 365 mailboxes take no password, only an access token. The poller asks the provider's token
endpoint for one when a feed first needs it (RFC 6749: the refresh-token grant when the feed has a refresh
token, else the client-credentials grant), uses it until a minute before it expires, and asks again once a
server has refused it. The request goes through the feed's fetcher: the same address checks (the feed's
``private_networks`` included: the endpoint is written in the same entry), proxy and limits as the feed's.
"""

from __future__ import annotations

import time

from pydantic import SecretStr

from services.core.oauth import TokenRefusedError, granted_token
from services.poller.feeds import BearerAuth, FeedAuth, OAuth2Auth
from services.poller.fetch import Fetcher, FetchError


class TokenError(FetchError):
    """The token endpoint refused the feed's client or grant, or answered with no access token."""

    kind = "token_error"


async def authorization(auth: FeedAuth | None, fetcher: Fetcher) -> SecretStr | None:
    """The ``Authorization`` header an HTTP feed's requests carry, if any."""
    if isinstance(auth, OAuth2Auth):
        return SecretStr("Bearer " + await access_token(auth, fetcher))
    return auth.authorization() if auth else None


async def bearer_token(auth: FeedAuth | None, fetcher: Fetcher) -> str | None:
    """The token a token login presents (a mailbox's XOAUTH2): an OAuth 2.0 access token, or the feeds
    file's bearer token; None for other logins."""
    if isinstance(auth, OAuth2Auth):
        return await access_token(auth, fetcher)
    return auth.token() if isinstance(auth, BearerAuth) else None


async def access_token(auth: OAuth2Auth, fetcher: Fetcher) -> str:
    """A current access token for the login: the one held, or a new one from the token endpoint."""
    now = time.monotonic()
    if (held := auth.held_token(now)) is not None:
        return held
    status, answer = await fetcher.post_form_for_json(str(auth.token_url), auth.token_request())
    try:
        granted = granted_token(str(auth.token_url), status, answer)
    except TokenRefusedError as error:
        raise TokenError(str(error)) from error
    auth.hold_token(granted.access_token, now + granted.usable_seconds, granted.refresh_token)
    return granted.access_token
