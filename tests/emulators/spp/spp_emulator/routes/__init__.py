"""HTTP handlers, one module per area; each module declares its routes in a RouteTable named ``routes``."""

from __future__ import annotations

from . import admin, hypervisor_actions, inventory, jobs, policies, session, versions

ROUTE_TABLES = [
    session.routes,
    inventory.routes,
    versions.routes,
    policies.routes,
    hypervisor_actions.routes,
    jobs.routes,
    admin.routes,
]
