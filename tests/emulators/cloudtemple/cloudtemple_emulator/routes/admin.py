"""The emulator's admin API under /__emulator__, in the SPP emulator's style (no token needed; README "Admin API").

HTTP faults reuse the SPP emulator's fault registry (spp_emulator.faults: a status, 429 with Retry-After, latency,
a dropped answer, before or after the effect, for N calls); the rest is the console's own: tokens, activity rules,
rate limit, zones, the visibility lag.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from spp_emulator.faults import parse_fault
from spp_emulator.http_types import Request, Response, ok
from spp_emulator.router import RouteTable

from ..activities import parse_rule
from ..errors import BadRequest

if TYPE_CHECKING:
    from ..app import App

routes = RouteTable()
ADMIN = "/__emulator__"


def _positive(body: dict, name: str, *, allow_zero: bool = False) -> float:
    value = body.get(name)
    if (not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value)
            or value < 0 or (value == 0 and not allow_zero)):
        raise BadRequest(f"{name} must be a {'non-negative' if allow_zero else 'positive'} number.")
    return float(value)


@routes.get(f"{ADMIN}/state", public=True)
def state(app: App, request: Request) -> Response:
    """What the console holds (its activities, tokens, counters and settings); backup state is SPP's, read it there."""
    render = app.identity
    return ok({
        "activities": [activity.render(render.tenant_id, render.user_id) for activity in app.activities.all()],
        "activity_states": app.activities.counts(),
        "tokens": {"issued": app.tokens.issued, "valid": app.tokens.valid_count(), "ttl_seconds": app.tokens.ttl_seconds},
        "request_counts": app.requests.snapshot(),
        "route_counts": app.routes.snapshot(),
        "faults": app.faults.describe(),
        "activity_failures": app.activities.failures.describe(),
        "activity_waiting": app.activities.waiting.describe(),
        "speed": app.speed.factor,
        "rate_limit": app.limiter.per_second,
        "zones": app.backup.zones.describe(),
        "visibility_lag": app.backup.visibility.lag_seconds,
        "tenant_id": render.tenant_id,
        "client_id": render.client_id,
        "spp_url": app.spp.url,
        "vcenter_url": app.compute.url,
    })


@routes.post(f"{ADMIN}/reset", public=True)
def reset(app: App, request: Request) -> Response:
    app.reset()
    return ok({"reset": True})


# --- HTTP faults (the SPP emulator's) --------------------------------------------------------------------------------


@routes.post(f"{ADMIN}/faults", public=True)
def add_fault(app: App, request: Request) -> Response:
    """The SPP emulator's fault body; ``method`` may also be PATCH (its parser knows GET, POST, PUT, DELETE, *)."""
    body = request.json_object()
    method = str(body.get("method", "*")).upper()
    fault = parse_fault({**body, "method": "*" if method == "PATCH" else method})
    fault.method = method
    app.faults.add(fault)
    return ok({"faults": app.faults.describe()})


@routes.get(f"{ADMIN}/faults", public=True)
def list_faults(app: App, request: Request) -> Response:
    return ok({"faults": app.faults.describe()})


@routes.delete(f"{ADMIN}/faults", public=True)
def clear_faults(app: App, request: Request) -> Response:
    app.faults.clear()
    return ok({"faults": []})


# --- tokens ----------------------------------------------------------------------------------------------------------


@routes.post(f"{ADMIN}/tokens/expire", public=True)
def expire_tokens(app: App, request: Request) -> Response:
    """Every JWT issued so far answers 401 from now on (docs 3.3)."""
    return ok({"expired": app.tokens.expire_all()})


@routes.post(f"{ADMIN}/token-ttl", public=True)
def token_ttl(app: App, request: Request) -> Response:
    """{"seconds": s}: the lifetime of the tokens issued from now on."""
    app.tokens.ttl_seconds = _positive(request.json_object(), "seconds")
    return ok({"seconds": app.tokens.ttl_seconds})


# --- activity rules --------------------------------------------------------------------------------------------------


@routes.post(f"{ADMIN}/activity-failure", public=True)
def activity_failure(app: App, request: Request) -> Response:
    """{"kind", "reason", "count" (default 1; 0/null: until cleared), "after_effect" (default false)}."""
    app.activities.failures.add(parse_rule(request.json_object(), waiting=False))
    return ok({"activity_failures": app.activities.failures.describe()})


@routes.delete(f"{ADMIN}/activity-failure", public=True)
def clear_activity_failures(app: App, request: Request) -> Response:
    app.activities.failures.clear()
    return ok({"activity_failures": []})


@routes.post(f"{ADMIN}/activity-waiting", public=True)
def activity_waiting(app: App, request: Request) -> Response:
    """{"kind" (or "empty_assignment"), "count" (default 1; 0/null: until cleared)}: matching activities stay
    waiting (#306) until DELETE."""
    app.activities.waiting.add(parse_rule(request.json_object(), waiting=True))
    return ok({"activity_waiting": app.activities.waiting.describe()})


@routes.delete(f"{ADMIN}/activity-waiting", public=True)
def clear_activity_waiting(app: App, request: Request) -> Response:
    """Clear the rules; the activities they hold go on."""
    return ok({"released": app.activities.release_all()})


# --- settings --------------------------------------------------------------------------------------------------------


@routes.post(f"{ADMIN}/speed", public=True)
def speed(app: App, request: Request) -> Response:
    app.speed.factor = _positive(request.json_object(), "factor", allow_zero=True)
    return ok({"factor": app.speed.factor})


@routes.post(f"{ADMIN}/rate-limit", public=True)
def rate_limit(app: App, request: Request) -> Response:
    """{"per_second": n} (null: off)."""
    value = request.json_object().get("per_second")
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 1):
        raise BadRequest("per_second must be a positive integer, or null.")
    app.limiter.per_second = value
    app.limiter.reset()
    return ok({"per_second": value})


@routes.get(f"{ADMIN}/zones", public=True)
def get_zones(app: App, request: Request) -> Response:
    return ok(app.backup.zones.describe())


@routes.post(f"{ADMIN}/zones", public=True)
def set_zones(app: App, request: Request) -> Response:
    """{"datacenters": {pattern: zone}, "sites": {name: zone}}; each map given replaces the current one."""
    app.backup.zones.update(request.json_object())
    return ok(app.backup.zones.describe())


@routes.post(f"{ADMIN}/visibility-lag", public=True)
def visibility_lag(app: App, request: Request) -> Response:
    """{"seconds": s}: a VM stays 404 on the backup routes for s seconds after SPP first lists it (#72)."""
    app.backup.visibility.lag_seconds = _positive(request.json_object(), "seconds", allow_zero=True)
    return ok({"seconds": app.backup.visibility.lag_seconds})


@routes.get(f"{ADMIN}/requests", public=True)
def request_counts(app: App, request: Request) -> Response:
    counts = app.requests.snapshot()
    return ok({"counts": counts, "routes": app.routes.snapshot(), "total": sum(counts.values())})


@routes.delete(f"{ADMIN}/requests", public=True)
def reset_request_counts(app: App, request: Request) -> Response:
    app.requests.reset()
    app.routes.reset()
    return ok({"counts": {}, "routes": {}, "total": 0})
