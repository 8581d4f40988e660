"""The request and response objects that handlers see, independent of http.server."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from .errors import BadRequest


@dataclass
class Request:
    method: str
    path: str
    params: dict[str, str]  # query parameters, first value of each
    headers: Any  # case-insensitive mapping (email.message.Message)
    body: bytes
    base_url: str  # scheme://host[:port] as the client addressed us, the prefix of every href
    path_params: dict[str, str] = field(default_factory=dict)
    _json: Any = field(default=None, repr=False)

    @property
    def family(self) -> str:
        """ngp or api: decides the error shape (spp-api.md 14.1)."""
        return "ngp" if self.path.startswith("/ngp") else "api"

    def json(self) -> Any:
        """The parsed body; an empty body reads as an empty object."""
        if self._json is None:
            if not self.body.strip():
                self._json = {}
            else:
                try:
                    self._json = json.loads(self.body)
                except ValueError as error:
                    raise BadRequest(f"The request body is not valid JSON: {error}") from error
        return self._json

    def json_object(self) -> dict:
        body = self.json()
        if not isinstance(body, dict):
            raise BadRequest("The request body must be a JSON object.")
        return body

    def href(self, path: str, **query: str) -> str:
        """Absolute URL on this server, built from the Host the client used (spp-api.md 0.3)."""
        suffix = f"?{urlencode(query)}" if query else ""
        return f"{self.base_url}{path}{suffix}"


@dataclass
class Response:
    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)


def ok(body: Any) -> Response:
    return Response(200, body)


def created(body: Any) -> Response:
    return Response(201, body)


def no_content() -> Response:
    return Response(204)


def ngp_wrapped(status: int, payload: Any) -> Response:
    """The ngp envelope of hypervisor actions (spp-api.md 14.3)."""
    return Response(status, {"statusCode": status, "response": payload})
