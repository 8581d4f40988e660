"""The console emulator's application: configuration, tokens, limits, activities, the SPP and vCenter sides, and the
dispatch of one request (rate limit, route, bearer check, handler, errors in the console's shape)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from spp_emulator.app import Speed
from spp_emulator.faults import FaultRegistry, RequestCounter
from spp_emulator.http_types import Request, Response
from spp_emulator.router import Router
from spp_emulator.vcenter import VCENTER_ERRORS, VCenterConfig

from . import ids
from .activities import EMPTY_ASSIGNMENT, Activities, Rule
from .backup import Backup
from .compute import Compute
from .errors import ConsoleError, error_body
from .routes import ROUTE_TABLES
from .spp_client import SppCallFailed, SppClient
from .tokens import DEFAULT_TTL_SECONDS, Identity, RateLimiter, TokenStore
from .zones import Zones

ADMIN_PREFIX = "/__emulator__"
_GROUP = re.compile(r"\(\?P<(\w+)>\[\^/\]\+\)")


@dataclass
class Config:
    client_id: str
    secret_id: str = field(repr=False)
    spp_url: str
    spp_user: str
    spp_password: str = field(repr=False)
    vcenter: VCenterConfig
    spp_ca: str | None = None
    spp_insecure: bool = False
    token_ttl: float = DEFAULT_TTL_SECONDS
    speed: float = 1.0
    rate_limit: int | None = None
    datacenter_zones: dict[str, str] = field(default_factory=dict)
    site_zones: dict[str, str] = field(default_factory=dict)
    empty_assignment_hangs: bool = False


class App:
    def __init__(self, config: Config):
        self.config = config
        tenant_id, user_id, company_id = ids.tenant_ids(config.client_id)
        self.identity = Identity(config.client_id, config.secret_id, tenant_id, user_id, company_id)
        self.tokens = TokenStore(self.identity, config.token_ttl)
        self.limiter = RateLimiter(config.rate_limit)
        self.speed = Speed(config.speed)
        self.faults = FaultRegistry()  # the SPP emulator's HTTP faults, applied by its server code
        self.requests = RequestCounter()  # per "METHOD /path", counted by the server
        self.routes = RequestCounter()  # per "METHOD /route/{template}", counted here
        self.activities = Activities(self.speed)
        self.spp = SppClient(config.spp_url, config.spp_user, config.spp_password, config.spp_ca, config.spp_insecure)
        self.compute = Compute(config.vcenter)
        self.backup = Backup(self.spp, self.compute, Zones(config.datacenter_zones, config.site_zones))
        self.router = Router(ROUTE_TABLES)
        self.apply_start_rules()

    def apply_start_rules(self) -> None:
        if self.config.empty_assignment_hangs:  # #306, as a standing rule (--empty-assignment-hangs)
            self.activities.waiting.add(Rule(EMPTY_ASSIGNMENT, None))

    def reset(self) -> None:
        """Back to the start: no activities, faults or rules; counters, limits, zones, speed and token lifetime as
        the command line set them. Issued tokens stay valid; SPP and vCenter are not touched."""
        config = self.config
        self.activities.reset()
        self.faults.clear()
        self.requests.reset()
        self.routes.reset()
        self.limiter.per_second = config.rate_limit
        self.limiter.reset()
        self.tokens.ttl_seconds = config.token_ttl
        self.speed.factor = config.speed
        self.backup.zones.reset()
        self.backup.visibility.reset()
        self.apply_start_rules()

    def handle(self, request: Request) -> Response:
        try:
            if not request.path.startswith(ADMIN_PREFIX):
                self.limiter.check(_product(request.path))
            route, request.path_params = self.router.resolve(request.method, request.path)
            if not request.path.startswith(ADMIN_PREFIX):
                self.routes.add(request.method, _template(route.pattern))
            if not route.public:
                request.claims = self.tokens.verify(request.headers.get("Authorization"))
            return route.handler(self, request)
        except ConsoleError as error:
            return self.error_response("api", error.status, error.error_id, error.description, error.headers)
        except SppCallFailed as error:
            return self.error_response("api", 502, "BadGateway", f"The backup service did not answer: {error}")
        except VCENTER_ERRORS as error:
            return self.error_response("api", 502, "BadGateway", f"vCenter did not answer: {type(error).__name__}")

    @staticmethod
    def error_response(family: str, status: int, error_id: str, description: str,
                       headers: dict[str, str] | None = None) -> Response:
        """The signature spp_emulator.server calls for injected faults; ``family`` and ``error_id`` are SPP's and
        unused: every console error has the body of errors.error_body."""
        return Response(status, error_body(status, description), dict(headers or {}))


def _template(pattern: re.Pattern) -> str:
    """The route's template back from the regex RouteTable compiled it to ("^/a/(?P<id>[^/]+)$" -> "/a/{id}")."""
    return _GROUP.sub(r"{\1}", pattern.pattern)[1:-1]


def _product(path: str) -> str:
    """The product of docs 2.6's per-product limit: iam, backup, compute, activity ..."""
    parts = path.split("/")
    return parts[2] if len(parts) > 2 and parts[1] == "api" else "other"
