"""The personal access token exchange (docs/cloudtemple-api.md 3.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spp_emulator.http_types import Request, Response
from spp_emulator.router import RouteTable

from ..server import Text

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()


@routes.post("/api/iam/v2/auth/personal_access_token", public=True)
def personal_access_token(app: App, request: Request) -> Response:
    """Body {"id": <client id>, "secret": <secret>}; 200 with the raw JWT as text (3.2); 401 otherwise."""
    return Response(200, Text(app.tokens.exchange(request.json())))
