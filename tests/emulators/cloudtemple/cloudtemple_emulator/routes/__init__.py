"""HTTP handlers, one module per area; each declares its routes in a RouteTable (spp_emulator.router) named
``routes``. Order matters: a route is matched in this order, so fixed paths come before ``{id}`` ones."""

from __future__ import annotations

from . import activity, admin, backup, compute, iam

ROUTE_TABLES = [iam.routes, backup.routes, activity.routes, compute.routes, admin.routes]
