"""HTTP(S) plumbing: a threading server, request parsing, fault injection and JSON answers."""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import ssl
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

from . import API_VERSION
from .app import App
from .http_types import Request, Response

LOG = logging.getLogger(__name__)
ADMIN_PREFIX = "/__emulator__"
_FAULT_IDS = {429: "TooManyRequestsException", 503: "ServiceUnavailableException"}


class EmulatorServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], app: App, ssl_context: ssl.SSLContext | None):
        super().__init__(address, RequestHandler)
        self.app = app
        self.scheme = "https" if ssl_context else "http"
        if ssl_context:
            # The handshake happens in the request's own thread, so a slow or failing client blocks nobody.
            self.socket = ssl_context.wrap_socket(self.socket, server_side=True, do_handshake_on_connect=False)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"{self.scheme}://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}"

    def handle_error(self, request, client_address) -> None:
        # Clients that reject our certificate (tested on purpose) or hang up are not server errors.
        LOG.debug("connection from %s ended abnormally", client_address, exc_info=True)


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: paging clients reuse their connection
    server_version = f"SPP-emulator/{API_VERSION}"
    server: EmulatorServer

    def setup(self) -> None:
        super().setup()
        # Headers and body leave in separate writes; without this, Nagle + delayed ACK add 40 ms per answer.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_GET(self) -> None:  # noqa: N802 -- http.server's naming
        self._serve()

    do_POST = do_PUT = do_DELETE = do_PATCH = do_GET

    def log_message(self, format, *args) -> None:  # pylint: disable=redefined-builtin
        LOG.debug("%s %s", self.address_string(), format % args)

    def _request(self) -> Request:
        parts = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        host = self.headers.get("Host") or self.server.url.split("://", 1)[1]
        return Request(
            method=self.command,
            path=unquote(parts.path) or "/",
            params={key: values[0] for key, values in parse_qs(parts.query, keep_blank_values=True).items()},
            headers=self.headers,
            body=self.rfile.read(length) if length else b"",
            base_url=f"{self.server.scheme}://{host}",
        )

    def _serve(self) -> None:
        app = self.server.app
        try:
            request = self._request()
        except ValueError:  # a Content-Length that is not a number
            self._send(app.error_response("api", 400, "InvalidRequestException", "Malformed request."))
            self.close_connection = True  # pylint: disable=attribute-defined-outside-init
            return
        if request.path.startswith(ADMIN_PREFIX):
            self._send(self._handle(request))
            return
        app.requests.add(request.method, request.path, request.params.get("action"))
        plan = app.faults.take(request.method, request.path)
        if plan.latency_seconds:
            time.sleep(plan.latency_seconds)
        response = self._handle(request) if plan.handles_request else None
        if plan.latency_after_seconds:
            time.sleep(plan.latency_after_seconds)
        if plan.status:
            when = " after the request took effect" if plan.after_effect else ""
            if plan.after_effect:
                LOG.info("answering %s %s with HTTP %s after its effect (injected fault)", request.method, request.path,
                         plan.status)
            headers = {"Retry-After": str(plan.retry_after)} if plan.retry_after is not None else {}
            self._send(
                app.error_response(
                    request.family,
                    plan.status,
                    _FAULT_IDS.get(plan.status, "InjectedFault"),
                    f"Injected fault: HTTP {plan.status}{when} (emulator admin API).",
                    headers,
                )
            )
            return
        if plan.drop_after_effect:
            LOG.info("dropping the answer to %s %s after its effect (injected fault)", request.method, request.path)
            self.close_connection = True  # pylint: disable=attribute-defined-outside-init
            return
        if plan.tls_error_after_effect:
            LOG.info("breaking the TLS stream of %s %s after its effect (injected fault)", request.method, request.path)
            self._break_tls()
            return
        self._send(response)

    def _break_tls(self) -> None:
        """Write, under the TLS layer, a record that no session key decrypts, and close: the client gets a TLS error
        on an open connection ("bad record mac", "decryption failed"), after its request reached the server."""
        # An application-data record header (type 23, TLS 1.2, 32 bytes), then 32 random bytes.
        os.write(self.connection.fileno(), b"\x17\x03\x03\x00\x20" + secrets.token_bytes(32))
        self.close_connection = True  # pylint: disable=attribute-defined-outside-init

    def _handle(self, request: Request) -> Response:
        try:
            return self.server.app.handle(request)
        except Exception:  # pylint: disable=broad-exception-caught  # answer 500 (and log), do not drop the connection
            LOG.exception("error handling %s %s", request.method, request.path)
            return App.error_response(
                request.family, 500, "InternalServerErrorException", "Internal error in the SPP emulator; see its log."
            )

    def _send(self, response: Response) -> None:
        payload = b"" if response.body is None else json.dumps(response.body, separators=(",", ":")).encode()
        self.send_response(response.status)
        if response.body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in response.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)
