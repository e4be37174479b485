"""pymap taking OAuth 2.0 access tokens (SASL XOAUTH2) too, as Gmail and Microsoft 365 do. This test server
checks a token as it checks a password, so the tests' authorization server hands out the user's password
as its access token. Run as pymap is: ``python tests/pymap_xoauth2.py --port N dict …``."""

from __future__ import annotations

import re
from collections.abc import Sequence

from pymap.config import IMAPConfig
from pymap.main import main
from pysasl import SASLAuth
from pysasl.creds.plain import PlainCredentials
from pysasl.exception import InvalidResponse
from pysasl.mechanism import ChallengeResponse, ServerChallenge
from pysasl.mechanism.oauth import OAuth2Mechanism

_XOAUTH2 = re.compile(rb"^user=(.*?)\x01auth=Bearer (.*?)\x01\x01$", re.IGNORECASE)


class _TokenAsPassword(OAuth2Mechanism):
    def server_attempt(self, responses: Sequence[ChallengeResponse]) -> tuple[PlainCredentials, None]:
        if not responses:
            raise ServerChallenge(b"")
        match = _XOAUTH2.match(responses[0].response)
        if not match:
            raise InvalidResponse()
        user, token = (part.decode() for part in match.groups())
        return PlainCredentials(user, token), None


def _with_xoauth2(config: IMAPConfig) -> SASLAuth:
    return SASLAuth([*SASLAuth.defaults().server_mechanisms, _TokenAsPassword()])


IMAPConfig.tls_auth = property(_with_xoauth2)  # type: ignore[assignment,method-assign]

if __name__ == "__main__":
    main()
