"""What the handlers share: body checks, the 201 + Location answer of a write (docs/cloudtemple-api.md 5.1), and
query parameters with every value kept."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from spp_emulator.http_types import Request, Response

from ..activities import Activity, ActivityRun
from ..errors import BadRequest

if TYPE_CHECKING:
    from ..app import App


def string_field(body: dict, name: str, *, required: bool = True) -> str | None:
    value = body.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise BadRequest(f"'{name}' must be a non-empty string.")
    return value


def string_list(body: dict, name: str, *, allow_empty: bool) -> list[str]:
    value = body.get(name)
    if not isinstance(value, list) or not all(isinstance(item, str) and item for item in value):
        raise BadRequest(f"'{name}' must be a list of ids.")
    if not value and not allow_empty:
        raise BadRequest(f"'{name}' must not be empty.")
    return value


def all_params(request: Request) -> dict[str, list[str]]:
    """Every value of every query parameter (list filters repeat ``name[]=``, 2.4)."""
    return getattr(request, "all_params", None) or {key: [value] for key, value in request.params.items()}


def required_param(request: Request, name: str) -> str:
    value = request.params.get(name)
    if not value:
        raise BadRequest(f"The query parameter {name} is required.")
    return value


def start_activity(app: App, activity: Activity, work: Callable[[ActivityRun], str | None]) -> Response:
    """201, no body, and the bare activity id in Location (5.1)."""
    app.activities.launch(activity, work)
    return Response(201, None, {"Location": activity.id})
