"""The emulator application: state, vCenter access, workers, and the dispatch of one request to its handler."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from urllib.parse import urlsplit

from .errors import SppError, Unauthorized, error_body
from .faults import FaultRegistry, RequestCounter
from .http_types import Request, Response
from .inventory import read_inventory
from .model import HYPERVISOR_ID, Hypervisor, Inventory
from .profile import DEFAULT, Profile
from .router import Router
from .routes import ROUTE_TABLES
from .runner import JobRunner
from .state import State
from .vcenter import VCenterConfig, connect

SESSION_HEADER = "X-Endeavour-Sessionid"  # http.server's header mapping is case-insensitive


@dataclass(frozen=True)
class Credentials:
    username: str
    password: str


class Speed:
    """Multiplies every simulated duration; changeable at run time through the admin API."""

    def __init__(self, factor: float):
        self.factor = factor

    def scaled(self, seconds: float) -> float:
        return max(0.0, seconds * self.factor)


class App:
    def __init__(
        self, credentials: Credentials, vcenter_config: VCenterConfig, speed: float, profile: Profile | None = None
    ):
        self.profile = profile or Profile.named(DEFAULT)  # fixed for the life of the process
        self.credentials = credentials
        self.vcenter_config = vcenter_config
        self.speed = Speed(speed)
        self.faults = FaultRegistry()
        self.requests = RequestCounter()
        self.router = Router(ROUTE_TABLES)
        self.runner = JobRunner(self)
        self.state = State(self._register_hypervisor())

    def _register_hypervisor(self) -> Hypervisor:
        """Hypervisor 1001 is the vCenter given on the command line, identified by its instance UUID."""
        with connect(self.vcenter_config) as service_instance:
            about = service_instance.content.about
            url = urlsplit(self.vcenter_config.url)
            return Hypervisor(
                id=HYPERVISOR_ID,
                name=url.hostname or "vcenter",
                host=url.hostname or "",
                port=url.port or 443,
                unique_id=about.instanceUuid,
                version=about.version,
            )

    # --- inventory ---------------------------------------------------------------------------------------------

    def read_inventory(self) -> Inventory:
        """Read vCenter (slow: never under the state lock)."""
        with connect(self.vcenter_config) as service_instance:
            return read_inventory(service_instance, self.state.hypervisor.unique_id)

    def refresh_inventory(self) -> Inventory:
        inventory = self.read_inventory()
        with self.state.lock:
            self.state.apply_inventory(inventory)
        return inventory

    # --- requests ----------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Response:
        """Route, authenticate and run one request; errors become the section 14.1 bodies."""
        try:
            route, request.path_params = self.router.resolve(request.method, request.path)
            if not route.public:
                with self.state.lock:
                    self._authenticate(request)
            # Admin handlers that call vCenter manage the lock themselves; all others run under it.
            with self.state.lock if route.locked else contextlib.nullcontext():
                return route.handler(self, request)
        except SppError as error:
            return self.error_response(request.family, error.status, error.error_id, error.description, error.headers)

    def _authenticate(self, request: Request) -> None:
        session_id = request.headers.get(SESSION_HEADER)
        if not session_id:
            raise Unauthorized(
                f"Missing {SESSION_HEADER} header; log in with POST /api/endeavour/session.",
                error_id="SessionNotFoundException",
            )
        if not self.state.logins.touch(session_id):
            raise Unauthorized(
                "The session is unknown or has expired; log in again.", error_id="SessionTimeoutException"
            )

    @staticmethod
    def error_response(
        family: str, status: int, error_id: str, description: str, headers: dict[str, str] | None = None
    ) -> Response:
        return Response(status, error_body(family, status, error_id, description), dict(headers or {}))
