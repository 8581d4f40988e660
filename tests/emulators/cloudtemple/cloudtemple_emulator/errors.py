"""The console's error answers, built on the SPP emulator's error classes (spp_emulator.errors), with the console's
body.

docs/cloudtemple-api.md 2.6 records one body, the 429's: ``{"error": {"status": "429 Too Many Requests", "message":
"Too Many Requests"}}``. Other error bodies are not recorded (16, open 1): the emulator answers every error in that
same shape (inferred), with the reason in ``message``.
"""

from __future__ import annotations

from http import HTTPStatus

from spp_emulator.errors import BadRequest, Conflict, MethodNotAllowed, NotFound, SppError, Unauthorized

__all__ = [
    "ActivityFailed",
    "BadRequest",
    "ConsoleError",
    "Conflict",
    "MethodNotAllowed",
    "NotFound",
    "TooManyRequests",
    "Unauthorized",
    "error_body",
]

ConsoleError = SppError  # status, description, headers: the same contract, whatever the API


class TooManyRequests(SppError):
    status = 429
    default_id = "TooManyRequests"

    def __init__(self, retry_after: int = 1):
        super().__init__("Too Many Requests", headers={"Retry-After": str(retry_after)})


class ActivityFailed(Exception):
    """Raised by an activity's work: the activity ends ``failed`` with this reason (docs 5.3)."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


def status_line(status: int) -> str:
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


def error_body(status: int, message: str) -> dict:
    """The 429 body of docs 2.6 for every error (inferred for the others)."""
    if status == 429:
        message = "Too Many Requests"  # the documented text, whatever the cause (the limiter or an injected fault)
    return {"error": {"status": status_line(status), "message": message}}
