"""Activities (docs/cloudtemple-api.md 5.2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from spp_emulator.http_types import Request, Response, ok
from spp_emulator.router import RouteTable

from ..errors import NotFound

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
PREFIX = "/api/activity/v1/activities"


def render(app: App, activity) -> dict:
    return activity.render(app.identity.tenant_id, app.identity.user_id)


@routes.get(PREFIX)
def list_activities(app: App, request: Request) -> Response:
    """Every activity of the tenant, oldest first; no filter (5.2; 16 open 10)."""
    return ok([render(app, activity) for activity in app.activities.all()])


@routes.get(f"{PREFIX}/{{activity_id}}")
def get_activity(app: App, request: Request) -> Response:
    activity = app.activities.get(request.path_params["activity_id"])
    if activity is None:
        raise NotFound(f"No activity {request.path_params['activity_id']}.")
    return ok(render(app, activity))
