"""Login, logout and the unauthenticated ping (spp-api.md 1, 0.5)."""

from __future__ import annotations

import base64
import binascii
import secrets
from typing import TYPE_CHECKING

from .. import API_VERSION
from ..errors import Unauthorized
from ..http_types import Request, Response, no_content, ok
from ..router import RouteTable

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()


def _basic_credentials(request: Request) -> tuple[str, str]:
    scheme, _space, encoded = str(request.headers.get("Authorization") or "").partition(" ")
    if scheme.lower() != "basic":
        raise Unauthorized("Log in with HTTP Basic authentication.", error_id="AuthenticationFailureException")
    try:
        user, _colon, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (binascii.Error, UnicodeDecodeError) as error:
        raise Unauthorized(
            "Malformed Basic authorization header.", error_id="AuthenticationFailureException"
        ) from error
    return user, password


@routes.post("/api/endeavour/session", public=True)
def login(app: App, request: Request) -> Response:
    user, password = _basic_credentials(request)
    expected = app.credentials
    if not (secrets.compare_digest(user, expected.username) and secrets.compare_digest(password, expected.password)):
        raise Unauthorized("Invalid user name or password.", error_id="AuthenticationFailureException")
    return ok(
        {
            "sessionid": app.state.logins.create(),
            "user": {
                "id": "1000",
                "name": user,
                "type": "NATIVE_USER",
                "links": {"self": {"href": request.href("/api/security/user/1000")}},
            },
            "timeZone": "UTC",
            "userGroups": [],
        }
    )


@routes.delete("/api/endeavour/session")
def logout(app: App, request: Request) -> Response:
    app.state.logins.remove(request.headers.get("X-Endeavour-Sessionid") or "")
    return no_content()


@routes.get("/api/lifecycle/ping", public=True)
def ping(app: App, request: Request) -> Response:
    return ok({"version": API_VERSION, "build": "emulator", "status": "running"})


@routes.get("/ngp/version")
def version(app: App, request: Request) -> Response:
    return ok({"version": API_VERSION, "build": "emulator"})
