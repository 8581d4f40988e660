"""Errors raised by handlers; the server renders them in the shapes of spp-api.md section 14.1."""

from __future__ import annotations


class SppError(Exception):
    """An error answer: HTTP status, exception-like id and a human description."""

    status = 500
    default_id = "InternalServerErrorException"

    def __init__(self, description: str, *, error_id: str | None = None, headers: dict[str, str] | None = None):
        super().__init__(description)
        self.description = description
        self.error_id = error_id or self.default_id
        self.headers = headers or {}


class BadRequest(SppError):
    status = 400
    default_id = "InvalidParameterException"


class Unauthorized(SppError):
    status = 401
    default_id = "AuthenticationException"


class NotFound(SppError):
    status = 404
    default_id = "ObjectNotFoundException"


class MethodNotAllowed(SppError):
    status = 405
    default_id = "MethodNotAllowedException"


class Conflict(SppError):
    status = 409
    default_id = "ConflictException"


def error_body(family: str, status: int, error_id: str, description: str) -> dict:
    """The JSON body of an error: plain for /api, wrapped in the ngp envelope for /ngp (spp-api.md 14.1)."""
    error = {"id": error_id, "description": description, "title": "Error"}
    if family == "ngp":
        return {"statusCode": status, "response": error}
    return error
