# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted Cloud Temple console on loopback for the client unit tests.

The scripted SPP server (``spp_fake_server``) with the console's authentication instead of SPP's: the personal access
token exchange (``POST /api/iam/v2/auth/personal_access_token`` answers a JWT as text) and a bearer on every other
call. Its pieces are reused as they are: ``Reply``, ``DROP``, ``GARBLE``, the route scripts, the request log and the
TLS option. Each test scripts the answers of the routes it uses; the server records every request, so that tests
assert on what the client really sent. The stateful emulator of the lab lives in tests/emulators/cloudtemple.
"""

from __future__ import annotations

import base64
import json
import secrets
import threading
import time
from urllib.parse import parse_qs, urlsplit

from spp_fake_server import DROP, GARBLE, FakeSpp, Reply, Request, _Handler

# The scripted answers of spp_fake_server serve here as they are: tests import them from this module.
__all__ = ["CT_CLIENT_ID", "CT_SECRET", "DROP", "GARBLE", "TOKEN_PATH", "FakeConsole", "Reply", "activity", "make_jwt",
           "write_reply"]

TOKEN_PATH = "/api/iam/v2/auth/personal_access_token"
CT_CLIENT_ID = "0e5c1a2b-pat-client-id"
CT_SECRET = "Ct-S3cret-Of-The-PAT-7c41"

# The raw target of the request being handled, per handler thread: ``Request`` keeps one value per query name, and
# list filters repeat theirs (``datacenters[]=a&datacenters[]=b``).
_TARGET = threading.local()


def _b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def make_jwt(claims):
    """A compact JWT with ``claims`` and a random signature (nobody checks it)."""
    header = _b64(json.dumps({"alg": "RS256", "typ": "JWT"}).encode())
    return "%s.%s.%s" % (header, _b64(json.dumps(claims).encode()), _b64(secrets.token_bytes(32)))


def write_reply(activity_id, status=201):
    """A write accepted: ``status`` with the activity id in ``Location`` (docs/cloudtemple-api.md 5.1)."""
    return Reply(status, "", headers={"Location": activity_id})


def activity(activity_id, state, description="Test activity", **body):
    """An activity object (5.2) in ``state`` (5.3), with ``body`` as the state's body."""
    return {"id": activity_id, "tenantId": "tenant-1", "description": description, "type": "BackupActivity",
            "concernedItems": [], "state": {state: body}}


class ConsoleRequest(Request):
    """A recorded request: ``Request`` plus every value of each query name (``query_all``) and the bearer."""

    def __init__(self, request, target):
        super().__init__(request.method, target, request.headers, request.raw_body)
        self.target = target
        self.query_all = parse_qs(urlsplit(target).query)

    @property
    def bearer(self):
        value = self.headers.get("Authorization") or ""
        return value[len("Bearer "):] if value.startswith("Bearer ") else None


class _ConsoleHandler(_Handler):
    # Buffer each answer and send it whole when the request is handled: headers and body written apart cost a
    # delayed-ACK wait (about 40 ms) per request on loopback.
    wbufsize = -1

    def _handle(self):
        _TARGET.value = self.path
        _Handler._handle(self)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle


class FakeConsole(FakeSpp):
    """Scripted console. ``route(method, path, *answers)``: answers are served in order, the last one repeats.

    The token exchange is built in (unless scripted): it accepts ``CT_CLIENT_ID`` and ``CT_SECRET`` and answers a JWT
    that lives ``token_lifetime`` seconds. Every other route requires a bearer it issued and did not revoke
    (``revoke_tokens``); otherwise 401.
    """

    def __init__(self, ssl_context=None, token_lifetime=300):
        super().__init__(ssl_context)
        self.server.RequestHandlerClass = _ConsoleHandler
        self.token_lifetime = token_lifetime
        self.secret = CT_SECRET

    def reset(self):
        """Forget routes, requests and tokens: one server serves the tests of a module, each from a clean state."""
        with self.lock:
            self.routes.clear()
            self.requests.clear()
            self.sessions.clear()
            self.issued.clear()
        self.secret = CT_SECRET
        self.token_lifetime = 300

    @property
    def exchanges(self):
        return self.count("POST", TOKEN_PATH)

    def calls(self, method=None, path=None):
        """The recorded requests other than token exchanges."""
        return [request for request in self.requests if request.path != TOKEN_PATH
                and (method is None or request.method == method) and (path is None or request.path == path)]

    def revoke_tokens(self):
        self.expire_sessions()

    def _issue(self, request):
        body = request.json if isinstance(request.json, dict) else {}
        if body.get("id") != CT_CLIENT_ID or body.get("secret") != self.secret:
            return Reply(401, "Unauthorized")
        now = int(time.time())
        token = make_jwt({"exp": now + self.token_lifetime, "iat": now, "userId": "user-1", "companyId": "company-1",
                          "scope": {"id": "tenant-1"}})
        with self.lock:
            self.sessions.add(token)
            self.issued.append(token)
        return Reply(200, token)

    def dispatch(self, request):
        request = ConsoleRequest(request, getattr(_TARGET, "value", request.path))
        with self.lock:
            self.requests.append(request)
            answers = self.routes.get((request.method, request.path))
            answer = None
            if answers:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if request.path == TOKEN_PATH and answer is None:
            return self._issue(request)
        if request.path != TOKEN_PATH and request.bearer not in self.sessions:
            return Reply(401, "Unauthorized")
        if answer is None:
            return Reply(404, "no route %s %s" % (request.method, request.path))
        return answer(request) if callable(answer) else answer
