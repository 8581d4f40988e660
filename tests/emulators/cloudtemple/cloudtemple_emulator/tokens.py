"""The personal access token exchange and the bearer JWTs it hands out (docs/cloudtemple-api.md 3).

A JWT carries ``exp``, ``iat``, ``userId``, ``companyId`` and ``scope.id`` (the tenant), as both of Cloud Temple's
clients read them (3.2), plus ``jti``. It is signed HS256 with a key drawn at start, so that a client cannot forge
one; clients do not verify it (3.2). A token is valid while its ``jti`` is known and its lifetime (``--token-ttl``,
default 300 s, 3.3) has not run out; the admin API can forget every issued token at once (token expiry now).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass

from .errors import TooManyRequests, Unauthorized

DEFAULT_TTL_SECONDS = 300.0  # "Un JWT est valable 5 minutes" (docs 3.3)
AUTH_REQUESTS_PER_SECOND = 5  # IAM's own limit (docs 2.6)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Identity:
    client_id: str
    secret_id: str
    tenant_id: str
    user_id: str
    company_id: str


class TokenStore:
    def __init__(self, identity: Identity, ttl_seconds: float = DEFAULT_TTL_SECONDS):
        self.identity = identity
        self.ttl_seconds = ttl_seconds
        self._key = secrets.token_bytes(32)
        self._lock = threading.Lock()
        self._expiry: dict[str, float] = {}  # jti -> epoch seconds (exact; the claim is rounded up)
        self.issued = 0

    def exchange(self, body: object) -> str:
        """The JWT for a body ``{"id": <client id>, "secret": <secret>}`` (3.2); 401 otherwise (inferred, 16.9)."""
        pair = body if isinstance(body, dict) else {}
        client_id, secret = str(pair.get("id") or ""), str(pair.get("secret") or "")
        expected = self.identity
        if not (secrets.compare_digest(client_id, expected.client_id)
                and secrets.compare_digest(secret, expected.secret_id)):
            raise Unauthorized("Invalid personal access token.")
        now = time.time()
        jti = str(uuid.uuid4())
        expiry = now + self.ttl_seconds
        claims = {
            "jti": jti,
            "iat": int(now),
            "exp": int(math.ceil(expiry)),
            "userId": expected.user_id,
            "companyId": expected.company_id,
            "scope": {"id": expected.tenant_id},
        }
        header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
        signature = _b64(hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest())
        with self._lock:
            self._expiry[jti] = expiry
            self.issued += 1
        return f"{header}.{payload}.{signature}"

    def verify(self, authorization: str | None) -> dict:
        """The claims of a valid ``Bearer`` header; 401 when missing, malformed, forged, expired or revoked (3.3)."""
        scheme, _space, token = str(authorization or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Missing bearer token; exchange your personal access token first.")
        try:
            header, payload, signature = token.strip().split(".")
            expected = hmac.new(self._key, f"{header}.{payload}".encode(), hashlib.sha256).digest()
            if not hmac.compare_digest(_unb64(signature), expected):
                raise ValueError("bad signature")
            claims = json.loads(_unb64(payload))
        except (ValueError, TypeError) as error:
            raise Unauthorized("Invalid bearer token.") from error
        with self._lock:
            expiry = self._expiry.get(claims.get("jti", ""))
            if expiry is None or expiry <= time.time():
                self._expiry.pop(claims.get("jti", ""), None)
                raise Unauthorized("The bearer token has expired; exchange your personal access token again.")
        return claims

    def expire_all(self) -> int:
        """Forget every issued token (the admin API's "token expiry now"); returns how many were valid."""
        with self._lock:
            count = len(self._expiry)
            self._expiry.clear()
        return count

    def valid_count(self) -> int:
        now = time.time()
        with self._lock:
            return sum(1 for expiry in self._expiry.values() if expiry > now)


class RateLimiter:
    """At most ``per_second`` accepted requests in any one-second window, per product (docs 2.6: 25/s per product,
    5/s for authentication); requests it refuses do not count ("Failed requests do not count against your limit").
    Off (None) by default. The real limit is per source IP; on loopback every client shares one window."""

    def __init__(self, per_second: int | None = None):
        self.per_second = per_second
        self._lock = threading.Lock()
        self._windows: dict[str, deque] = {}

    def check(self, product: str) -> None:
        if not self.per_second:
            return
        limit = min(self.per_second, AUTH_REQUESTS_PER_SECOND) if product == "iam" else self.per_second
        now = time.monotonic()
        with self._lock:
            window = self._windows.setdefault(product, deque())
            while window and now - window[0] >= 1.0:
                window.popleft()
            if len(window) >= limit:
                raise TooManyRequests(retry_after=max(1, math.ceil(1.0 - (now - window[0]))))
            window.append(now)

    def reset(self) -> None:
        with self._lock:
            self._windows.clear()
