"""Access tokens for OAuth 2.0 logins (``auth: {type: oauth2}``, ``feeds.OAuth2Auth``).

Some wire services put their APIs behind OAuth 2.0 (an application's client credentials), and Gmail and
Microsoft 365 mailboxes take no password, only an access token. The poller asks the provider's token
endpoint for one when a feed first needs it (RFC 6749: the refresh-token grant when the feed has a refresh
token, else the client-credentials grant), uses it until a minute before it expires, and asks again once a
server has refused it. The request goes through the fetcher: the same address checks, proxy and limits
as a feed's.
"""

from __future__ import annotations

import time
from typing import Any

from pydantic import SecretStr

from services.poller.feeds import FeedAuth, OAuth2Auth
from services.poller.fetch import Fetcher, FetchError

#: A token is renewed this long before the provider says it expires (clocks and requests take time).
RENEW_BEFORE_SECONDS = 60.0
#: How long a token is used when its answer gives no ``expires_in`` (then a refusal renews it too).
UNSTATED_LIFETIME_SECONDS = 600.0


class TokenError(FetchError):
    """The token endpoint refused the feed's client or grant, or answered with no access token."""

    kind = "token_error"


async def authorization(auth: FeedAuth | None, fetcher: Fetcher) -> SecretStr | None:
    """The ``Authorization`` header an HTTP feed's requests carry, if any."""
    if isinstance(auth, OAuth2Auth):
        return SecretStr("Bearer " + await access_token(auth, fetcher))
    return auth.authorization() if auth else None


async def access_token(auth: OAuth2Auth, fetcher: Fetcher) -> str:
    """A current access token for the login: the one held, or a new one from the token endpoint."""
    now = time.monotonic()
    if (held := auth.held_token(now)) is not None:
        return held
    status, answer = await fetcher.post_form_for_json(str(auth.token_url), auth.token_request())
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if status != 200 or not isinstance(token, str) or not token:
        raise TokenError(f"{auth.token_url.host} gave no access token: {_refusal(status, answer)}")
    auth.hold_token(token, now + _lifetime(answer.get("expires_in")) - RENEW_BEFORE_SECONDS,
                    _text(answer.get("refresh_token")))
    return token


def _lifetime(expires_in: Any) -> float:
    # A number of seconds, which some providers send as a string.
    try:
        return max(float(expires_in), 0.0)
    except (TypeError, ValueError):
        return UNSTATED_LIFETIME_SECONDS + RENEW_BEFORE_SECONDS


def _refusal(status: int, answer: Any) -> str:
    """The endpoint's own error code and description (RFC 6749 5.2), which carry no secret."""
    if isinstance(answer, dict) and isinstance(answer.get("error"), str):
        description = _text(answer.get("error_description"))
        return f"HTTP {status}, {answer['error'][:100]}" + (f" ({description[:200]})" if description else "")
    return f"HTTP {status}" + ("" if isinstance(answer, dict) else ", not JSON")


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
