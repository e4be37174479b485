"""An OAuth 2.0 token endpoint on 127.0.0.1 for tests, over TLS with the tests' certificate: it hands out
the access token a test sets, and records each request's form. ``signed_jwt`` makes tokens as an identity
provider signs them, for Kafka's OAUTHBEARER login (deploy/kafka/kafka.sh up --secure checks them)."""

from __future__ import annotations

import base64
import json
import ssl
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa


@dataclass
class TokenEndpoint:
    access_token: str
    expires_in: Any = 3600
    refresh_token: str | None = None  # a new one handed out with each token (rotation)
    refusal: str | None = None  # an RFC 6749 error code to answer with, instead of a token
    forms: list[dict[str, str]] = field(default_factory=list)
    url: str = ""
    certificate: Path | None = None  # the certificate file to trust it by

    def answer(self) -> tuple[int, bytes]:
        if self.refusal:
            return 400, json.dumps({"error": self.refusal, "error_description": "Token has been revoked."}).encode()
        token: dict[str, Any] = {"access_token": self.access_token, "token_type": "Bearer"}
        if self.expires_in is not None:
            token["expires_in"] = self.expires_in
        if self.refresh_token:
            token["refresh_token"] = self.refresh_token
        return 200, json.dumps(token).encode()


@contextmanager
def running_token_endpoint(certificate: tuple[Path, Path], access_token: str) -> Iterator[TokenEndpoint]:
    endpoint = TokenEndpoint(access_token, certificate=certificate[0])

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            form = self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()
            endpoint.forms.append(dict(parse_qsl(form)))
            status, body = endpoint.answer()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    endpoint.url = f"https://127.0.0.1:{server.server_address[1]}/oauth2/token"
    try:
        yield endpoint
    finally:
        server.shutdown()
        server.server_close()


def signed_jwt(key_file: Path | None, subject: str, *, audience: str = "wirefeed-kafka", lifetime: int = 3600) -> str:
    """An RS256 JWT for ``subject`` signed with the key in ``key_file`` (key id "wirefeed-test"); with None, by
    a key nobody trusts."""
    key = (serialization.load_pem_private_key(key_file.read_bytes(), None) if key_file
           else rsa.generate_private_key(public_exponent=65537, key_size=2048))
    assert isinstance(key, rsa.RSAPrivateKey)
    now = int(time.time())
    header = {"alg": "RS256", "typ": "JWT", "kid": "wirefeed-test"}
    claims = {"sub": subject, "aud": audience, "iss": "https://idp.test", "iat": now, "exp": now + lifetime}
    signing_input = f"{_base64url(json.dumps(header).encode())}.{_base64url(json.dumps(claims).encode())}"
    signature = key.sign(signing_input.encode(), padding.PKCS1v15(), hashes.SHA256())
    return f"{signing_input}.{_base64url(signature)}"


def _base64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
