# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A scripted SPP server on loopback for the client unit tests.

It is deliberately dumb: each test scripts the answers of the routes it uses, and the server records every request,
so that tests can count what the client really sent (retries, replays, re-logins). The stateful emulator of the lab
lives in tests/emulators/spp; this one exists to produce faults exactly when a test wants them.
"""

from __future__ import annotations

import base64
import json
import os
import secrets
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

SPP_USER = "admin"
SPP_PASSWORD = "Sup3r-s3cret-pw"


class Reply:
    """One scripted answer."""

    def __init__(self, status=200, body=None, headers=None):
        self.status = status
        self.body = body
        self.headers = dict(headers or {})


# Read the request, then close the connection without answering: "the answer was lost".
DROP = object()
# Read the request, then write bytes that are no valid TLS record under the TLS layer and close: the client gets a TLS
# error on an open connection, after its request was sent ("bad record mac", "decryption failed").
GARBLE = object()


class Request:
    def __init__(self, method, target, headers, raw_body):
        parts = urlsplit(target)
        self.method = method
        self.path = parts.path
        self.query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
        self.headers = headers
        self.raw_body = raw_body
        self.json = json.loads(raw_body) if raw_body else None

    @property
    def session_id(self):
        return self.headers.get("X-Endeavour-Sessionid")


class FakeSpp:
    """Scripted SPP server. ``route(method, path, *answers)``: answers are served in order, the last one repeats.

    An answer is a ``Reply``, ``DROP``, ``GARBLE`` or a ``callable(request) -> Reply | DROP | GARBLE``. Login and logout are built in;
    every other route requires a session id issued by the login and not expired since.
    """

    def __init__(self, ssl_context=None):
        self.routes = {}
        self.password = SPP_PASSWORD  # what the login accepts; a test may set a short one
        self.requests = []
        self.sessions = set()
        self.issued = []
        self.lock = threading.Lock()
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.daemon_threads = True
        self.server.fake = self
        scheme = "http"
        if ssl_context is not None:
            self.server.socket = ssl_context.wrap_socket(self.server.socket, server_side=True)
            scheme = "https"
        self.url = "%s://127.0.0.1:%d" % (scheme, self.server.server_address[1])
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def route(self, method, path, *answers):
        self.routes[(method, path)] = list(answers)

    def href(self, path):
        return self.url + path

    def count(self, method=None, path=None):
        return sum(1 for request in self.requests
                   if (method is None or request.method == method) and (path is None or request.path == path))

    def expire_sessions(self):
        with self.lock:
            self.sessions.clear()

    def _login(self, request):
        expected = "Basic " + base64.b64encode(("%s:%s" % (SPP_USER, self.password)).encode()).decode()
        if request.headers.get("Authorization") != expected:
            return Reply(401, {"id": "AuthenticationFailed", "description": "bad credentials", "title": "Error"})
        session_id = secrets.token_hex(16)
        with self.lock:
            self.sessions.add(session_id)
            self.issued.append(session_id)
        return Reply(200, {"sessionid": session_id, "user": {"name": SPP_USER}})

    def dispatch(self, request):
        with self.lock:
            self.requests.append(request)
            answers = self.routes.get((request.method, request.path))
            answer = None
            if answers:
                answer = answers.pop(0) if len(answers) > 1 else answers[0]
        if request.path == "/api/endeavour/session" and answer is None:
            if request.method == "POST":
                return self._login(request)
            with self.lock:
                self.sessions.discard(request.session_id)
            return Reply(204)
        if request.path != "/api/endeavour/session" and request.session_id not in self.sessions:
            return Reply(401, {"id": "SessionExpired", "description": "invalid session", "title": "Error"})
        if answer is None:
            return Reply(404, {"id": "NotFound", "description": "no route %s %s" % (request.method, request.path)})
        return answer(request) if callable(answer) else answer


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        """Quiet: the tests read ``FakeSpp.requests`` instead."""

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        request = Request(self.command, self.path, dict(self.headers.items()), raw_body)
        reply = self.server.fake.dispatch(request)
        if reply is DROP:
            self.close_connection = True
            return
        if reply is GARBLE:
            # An application-data record header (type 23, TLS 1.2, 32 bytes) followed by bytes no key decrypts.
            os.write(self.connection.fileno(), b"\x17\x03\x03\x00\x20" + secrets.token_bytes(32))
            self.close_connection = True
            return
        body = reply.body
        if isinstance(body, (dict, list)):
            data = json.dumps(body).encode()
            content_type = "application/json"
        else:
            data = (body or "").encode() if isinstance(body, str) else (body or b"")
            content_type = "text/html"
        self.send_response(reply.status)
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if reply.status != 204:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if reply.status != 204:
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_DELETE = _handle
