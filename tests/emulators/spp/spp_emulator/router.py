"""Maps (method, path) to handlers declared with RouteTable decorators in the routes package."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable

from .errors import MethodNotAllowed, NotFound

_PLACEHOLDER = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Callable
    public: bool  # no SPP session needed
    locked: bool  # the handler runs under the state lock


class RouteTable:
    """Routes of one area, declared next to their handlers with @table.get(...), @table.post(...), ..."""

    def __init__(self):
        self.routes: list[Route] = []

    def add(self, method: str, template: str, handler: Callable, *, public: bool = False, locked: bool = True):
        regex = _PLACEHOLDER.sub(lambda match: f"(?P<{match.group(1)}>[^/]+)", template)
        self.routes.append(Route(method, re.compile(f"^{regex}$"), handler, public, locked))

    def _decorator(self, method: str, template: str, **options):
        def register(handler: Callable) -> Callable:
            self.add(method, template, handler, **options)
            return handler

        return register

    def get(self, template: str, **options):
        return self._decorator("GET", template, **options)

    def post(self, template: str, **options):
        return self._decorator("POST", template, **options)

    def put(self, template: str, **options):
        return self._decorator("PUT", template, **options)

    def delete(self, template: str, **options):
        return self._decorator("DELETE", template, **options)


class Router:
    def __init__(self, tables: list[RouteTable]):
        self._routes = [route for table in tables for route in table.routes]

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        path = path.rstrip("/") or "/"
        allowed = []
        for route in self._routes:
            match = route.pattern.match(path)
            if match:
                if route.method == method:
                    return route, match.groupdict()
                allowed.append(route.method)
        if allowed:
            raise MethodNotAllowed(f"{method} is not supported on {path}; use {', '.join(sorted(set(allowed)))}.")
        raise NotFound(f"No resource at {path}.")
