"""HTTP(S) plumbing: the SPP emulator's threading server and request handler (keep-alive, TLS handshake in the
request thread, fault injection, request counting), with three changes for the console: every query value is kept
(list filters repeat ``name[]=``, docs/cloudtemple-api.md 2.4), a text answer (the JWT of 3.2) goes out as text,
and an unexpected error answers in the console's error shape."""

from __future__ import annotations

import logging
import ssl
from urllib.parse import parse_qs, urlsplit

from spp_emulator.http_types import Request, Response
from spp_emulator.server import EmulatorServer, RequestHandler

from . import VERSION

LOG = logging.getLogger(__name__)


class Text(str):
    """A response body sent as ``text/plain``, not JSON-encoded."""


class ConsoleRequestHandler(RequestHandler):
    server_version = f"CloudTemple-console-emulator/{VERSION}"

    def _request(self) -> Request:
        request = super()._request()
        request.all_params = parse_qs(urlsplit(self.path).query, keep_blank_values=True)
        return request

    def _handle(self, request: Request) -> Response:
        app = self.server.app
        try:
            return app.handle(request)
        except Exception:  # pylint: disable=broad-exception-caught  # answer 500 (and log), do not drop the connection
            LOG.exception("error handling %s %s", request.method, request.path)
            return app.error_response("api", 500, "InternalServerError", "Internal error of the console emulator.")

    def _send(self, response: Response) -> None:
        if not isinstance(response.body, Text):
            super()._send(response)
            return
        payload = response.body.encode()
        headers = {"Content-Type": "text/plain; charset=utf-8", "Content-Length": str(len(payload)),
                   **response.headers}
        self.send_response(response.status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class ConsoleServer(EmulatorServer):
    def __init__(self, address: tuple[str, int], app, ssl_context: ssl.SSLContext | None):
        super().__init__(address, app, ssl_context)
        self.RequestHandlerClass = ConsoleRequestHandler  # pylint: disable=invalid-name  # socketserver's name
