# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The client of Cloud Temple's console API ("Shiva"): the personal access token exchanged for a bearer JWT, TLS,
requests, retries, pacing, activity ids and parallel reads. Section numbers (§) are those of docs/cloudtemple-api.md.

Considered private: only this collection may import it. Nothing here knows about AnsibleModule; every failure is
raised as one of the typed errors of ``_errors`` (the meaning of a failed answer is ``cloudtemple/_errors_map.py``).
The routes are in ``cloudtemple/backup.py``, ``compute.py`` and ``activities.py``, one function each, client first.

* Authentication (§3): ``POST /api/iam/v2/auth/personal_access_token`` with ``{"id", "secret"}`` answers the bearer
  JWT as raw text. It is cached until its ``exp`` minus a margin; the exchange runs under a lock, so threads sharing
  the client share one exchange. A 401 on any call means the bearer was refused: exchange once more, replay once.
* Reads (GET) and the token exchange are retried (§4.3): at most 3 attempts on 429, any 5xx or a transport error,
  backing off 0.5, 1, 2 s (capped at 5 s) or as ``Retry-After`` says (capped at 5 s).
* Writes (POST, PATCH, DELETE) are sent once (§4.3: a write "may already have triggered an async activity").
  Only a connection that never opened is tried again. A write whose answer is lost (reset, timeout, TLS error past
  the handshake) or answered 429 or 5xx raises ``AmbiguousResult``: its activity may exist.
* Every write answers 2xx with ``Location: <activity id>`` (§5.1); ``write`` returns that id and
  ``activities.wait`` follows it.
* Lists are bare JSON arrays, never paged (§2.5); a 206 is a partial list, returned as a ``Listing`` whose
  ``partial`` is true: it cannot prove that anything is absent.
"""

from __future__ import annotations

import base64
import concurrent.futures
import json as jsonlib
import os
import random
import threading
import time
import traceback
import warnings
from urllib.parse import urlsplit, urlunsplit

try:
    import requests
    import urllib3
except ImportError:
    requests = None
    urllib3 = None
    HAS_REQUESTS = False
    REQUESTS_IMPORT_ERROR = traceback.format_exc()
else:
    HAS_REQUESTS = True
    REQUESTS_IMPORT_ERROR = None

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailure,
    MissingLibraryError,
    NotFound,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import redact
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, poll_delay
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._errors_map import (
    body_text,
    error_for_answer,
    is_transient_status,
    tls_failure,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._client import request_may_have_been_sent
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._errors_map import (
    root_cause,
    shorten,
    tls_failed_while_opening,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._retry import parse_retry_after

API_PREFIX = "/api"
TOKEN_PATH = "/api/iam/v2/auth/personal_access_token"  # §3.2
USER_AGENT = "sovereign.vm_backup (Cloud Temple console client)"  # §2.2: a User-Agent
WRITE_METHODS = frozenset(("POST", "PUT", "PATCH", "DELETE"))

# §4.3, the provider's ``defaultReadRetryMax`` and ``doWithRetry``: 3 attempts, 0.5 s doubling, capped at 5 s, and
# Retry-After in seconds capped at 5 s.
ATTEMPTS = 3
FIRST_BACKOFF = 0.5
MAX_BACKOFF = 5.0
MAX_RETRY_AFTER = 5.0

# §3.3: a bearer lives 5 minutes; it is reused until ``exp`` minus this margin (half its life when that is shorter),
# and a token without ``exp`` is taken to live the documented 5 minutes.
TOKEN_MARGIN = 30.0
TOKEN_LIFETIME = 300.0

# §2.6: 25 requests/s per source IP and product. A client stays below it, so that parallel reads are not refused in
# bursts that three attempts cannot absorb; other clients on the same address may still cause a 429, which reads retry.
MAX_RATE = 20.0
# Threads of ``read_many``. requests keeps 10 connections per host: stay below it, so that every thread keeps its own.
PARALLEL_READS = 8

LOST_WRITE_HINT = ("the console may have started an activity for it: look for it among the console's activities "
                   "before sending the change again")


# ----------------------------------------------------------------------------------------------------------------
# Pure helpers: the base URL, the bearer's claims, the activity id of a write


def normalise_base_url(url):
    """``scheme://host[:port][/prefix]`` without a trailing slash or ``/api``; https when no scheme is given.

    ``https://shiva.cloud-temple.com``, ``.../`` and ``.../api`` are the same console: the client writes the ``/api``
    of every path itself (§2.1). A URL with a user name or password in it (any ``@``) is refused, with a message that
    does not repeat it, as ``spp_url`` is: the console's credentials are the personal access token's.
    """
    text = (url or "").strip()
    if not text:
        raise ConfigurationError("cloudtemple_url is empty; set it or the CLOUDTEMPLE_URL environment variable, for "
                                 "example https://shiva.cloud-temple.com")
    if "@" in text:
        raise ConfigurationError("cloudtemple_url must not hold a user name or password (the form "
                                 "https://user:password@host, or any '@'); it is not repeated here. Give the console's "
                                 "address alone, for example https://shiva.cloud-temple.com, and the personal access "
                                 "token in cloudtemple_client_id and cloudtemple_secret_id (environment variables "
                                 "CLOUDTEMPLE_CLIENT_ID and CLOUDTEMPLE_SECRET_ID)")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("cloudtemple_url '%s' is not an http(s) URL such as https://shiva.cloud-temple.com"
                                 % url)
    path = parts.path.rstrip("/")
    if path.endswith(API_PREFIX):
        path = path[: -len(API_PREFIX)]
    return urlunsplit((parts.scheme, parts.netloc, path.rstrip("/"), "", ""))


def jwt_claims(token):
    """The claims of a compact JWT: its payload, base64url JSON. Raises ``ValueError`` when ``token`` is not one.

    The signature is not checked (§3.2: neither of Cloud Temple's clients checks it): the claims only tell this
    client how long to reuse the token, and the console checks it on every call.
    """
    parts = str(token).split(".")
    if len(parts) != 3 or not parts[0] or not parts[1]:
        raise ValueError("not a compact JWT")
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    claims = jsonlib.loads(base64.urlsafe_b64decode(payload.encode("ascii")).decode("utf-8"))
    if not isinstance(claims, dict):
        raise ValueError("the JWT payload is not an object")
    return claims


def _seconds(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value)


def token_lifetime(claims, now):
    """Seconds a freshly issued bearer stays valid: ``exp - iat`` when both are there (no clock skew between this host
    and the console), else ``exp - now``, else the documented 5 minutes (§3.3)."""
    expires = _seconds(claims.get("exp"))
    issued = _seconds(claims.get("iat"))
    if expires is None:
        return TOKEN_LIFETIME
    if issued is not None and issued <= expires:
        return expires - issued
    return expires - now


def activity_id_from_location(value):
    """The activity id in a write's ``Location`` header (§5.1: a bare UUID); None when there is none.

    Inferred leniency: a URL or path ending with the id (``/api/activity/v1/activities/<id>``) gives the same id.
    """
    text = (value or "").strip()
    if not text:
        return None
    return urlsplit(text).path.rstrip("/").rsplit("/", 1)[-1] or None


class Listing(list):
    """The items of a listing (a bare JSON array, §2.5) and ``partial``: whether the console answered 206.

    A partial listing holds what came, but cannot prove that anything is absent (§2.5, the provider's ``ListStrict``):
    a caller that concludes "not there" from a listing must check ``partial`` first.
    """

    def __init__(self, items=(), partial=False):
        super().__init__(items)
        self.partial = bool(partial)


# ----------------------------------------------------------------------------------------------------------------
# The client


class CloudTempleClient:
    """A conversation with Cloud Temple's console API, authenticated with a personal access token (§3).

    ``base_url`` is the console's address (``https://shiva.cloud-temple.com``; a trailing ``/api`` or ``/`` is
    accepted). ``client_id`` and ``secret_id`` are the token's pair. ``timeout`` is the limit of each request in
    seconds, or a ``(connect, read)`` pair. ``logger`` is an optional ``callable(str)`` for progress messages; it never
    receives the secret or a bearer. ``max_rate`` caps the requests sent per second (None: no cap).
    """

    def __init__(self, base_url, client_id, secret_id, validate_certs=True, ca_path=None, timeout=60, logger=None,
                 max_rate=MAX_RATE):
        if not HAS_REQUESTS:
            raise MissingLibraryError("the Python library 'requests' is required to talk to the Cloud Temple console",
                                      exception=REQUESTS_IMPORT_ERROR)
        self.base_url = normalise_base_url(base_url)
        self.client_id = client_id
        self._secret = secret_id
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        if self.validate_certs and ca_path:
            if not os.path.isfile(ca_path):
                raise ConfigurationError("cloudtemple_ca_path '%s' is not a readable file (environment variable "
                                         "CLOUDTEMPLE_CA_PATH)" % ca_path)
            self._verify = ca_path
        else:
            self._verify = self.validate_certs
        self.timeout = tuple(timeout) if isinstance(timeout, (list, tuple)) else (timeout, timeout)
        self.logger = logger
        self.request_count = 0
        self._interval = 1.0 / max_rate if max_rate else 0.0
        self._token = None
        self._token_valid = None
        self._tokens = []  # every bearer this client received, for redaction
        self._token_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self._next_send = None
        # Injectable for tests: every pause, deadline and backoff of the client goes through these.
        self._sleep = time.sleep
        self._clock = time.monotonic
        self._now = time.time
        self._rand = random.random
        self._http = requests.Session()
        self._http.headers.update({"Accept": "application/json", "User-Agent": USER_AGENT})
        # Retries are decided here, per method; the adapter must never replay anything on its own.
        adapter = requests.adapters.HTTPAdapter(max_retries=0, pool_maxsize=PARALLEL_READS + 2)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)

    def __repr__(self):
        return "CloudTempleClient(url=%r, validate_certs=%r)" % (self.base_url, self.validate_certs)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    def close(self):
        """Forget the bearer and release the connections (a bearer has no session to close on the console)."""
        self._token = None
        self._http.close()

    # -- logging and redaction ---------------------------------------------------------------------------------

    def _secrets(self):
        # The whole bearer, and its signature on its own (the part no other token shares).
        signatures = [token.rsplit(".", 1)[-1] for token in self._tokens]
        return [self._secret] + self._tokens + signatures

    def redact(self, text):
        """``text`` without the secret or any bearer this client received."""
        return redact(text, self._secrets())

    def log(self, message):
        """Send ``message`` to the logger, if any, with secrets removed."""
        if self.logger is not None:
            self.logger(self.redact(message))

    def url_for(self, path):
        """The absolute URL of an API path (``/api/...``)."""
        return self.base_url + ("" if path.startswith("/") else "/") + path

    def _origin(self):
        parts = urlsplit(self.base_url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    # -- transport ---------------------------------------------------------------------------------------------

    def _pace(self):
        """Keep this client under ``max_rate`` requests per second (§2.6): each send takes the next free slot, one
        interval after the slot before; threads reserve their slot under the lock and wait outside it."""
        if not self._interval:
            return
        with self._send_lock:
            wait = self._next_send.remaining() if self._next_send is not None else 0.0
            self._next_send = Deadline(wait + self._interval, self._clock)
        if wait > 0:
            self._sleep(wait)

    def _send(self, method, url, params, body, token):
        headers = {"Authorization": "Bearer " + token} if token else {}  # §2.2
        self._pace()
        with self._send_lock:
            self.request_count += 1
        with warnings.catch_warnings():
            if self._verify is False:
                # The user chose cloudtemple_validate_certs: false; one warning per request would drown the output.
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self._http.request(method, url, params=params, json=body, headers=headers, timeout=self.timeout,
                                      verify=self._verify, allow_redirects=False)

    def _exchange(self, method, url, params=None, body=None, token=None, read=True):
        """Send one logical request, sending it again as §4.3 allows; return the final ``requests.Response``.

        ``read``: the call may be replayed (GET, the token exchange). Otherwise it is sent once, and again only when
        the connection could not be opened; a lost answer or a 429/5xx answer raises ``AmbiguousResult``.
        """
        display = "%s %s" % (method, urlsplit(url).path)
        attempt = 0
        while True:
            last = attempt + 1 >= ATTEMPTS
            try:
                response = self._send(method, url, params, body, token)
            except requests.exceptions.SSLError as exc:
                if tls_failed_while_opening(exc):
                    raise tls_failure(self._origin(), exc, with_ca_path=bool(self.ca_path)) from exc
                delay = self._after_transport_error(exc, method, url, display, read, attempt, last)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                delay = self._after_transport_error(exc, method, url, display, read, attempt, last)
            else:
                status = response.status_code
                response.attempts = attempt + 1
                if not is_transient_status(status):
                    return response
                if not read:
                    # A 429 or 5xx may come from a gateway in front of the console after the call went through (#102:
                    # a 500 on a policy change): nothing proves the activity was not created.
                    text = body_text(response, self._secrets())
                    response.close()
                    raise AmbiguousResult(
                        "%s got HTTP %d from the Cloud Temple console at %s%s, so it may have been carried out; %s"
                        % (display, status, self._origin(), " (%s)" % text if text else "", LOST_WRITE_HINT),
                        method=method, url=url, status=status)
                if last:
                    return response
                delay, why = self._resend_delay(attempt, response.headers.get("Retry-After"))
                self.log("Cloud Temple %s answered HTTP %d; attempt %d of %d in %.1f s%s"
                         % (display, status, attempt + 2, ATTEMPTS, delay, why))
                response.close()
            self._sleep(delay)
            attempt += 1

    def _resend_delay(self, attempt, retry_after):
        seconds = parse_retry_after(retry_after)
        if seconds is not None:
            return min(seconds, MAX_RETRY_AFTER), " (Retry-After)"
        return poll_delay(attempt, FIRST_BACKOFF, MAX_BACKOFF, self._rand), ""

    def _after_transport_error(self, exc, method, url, display, read, attempt, last):
        """The delay before sending again after a transport error; raise when the call must not be sent again."""
        reason = self.redact(root_cause(exc))
        if not read and request_may_have_been_sent(exc):
            raise AmbiguousResult(
                "%s was sent to the Cloud Temple console at %s but its answer was lost (%s); %s"
                % (display, self._origin(), reason, LOST_WRITE_HINT), method=method, url=url, reason=reason) from exc
        if last:
            raise ConnectionFailure(
                "could not reach the Cloud Temple console at %s for %s: %s (%d attempt(s)). Check cloudtemple_url, "
                "that the console is reachable from this host (proxy, firewall) and cloudtemple_timeout"
                % (self._origin(), display, reason, attempt + 1), url=self._origin(), reason=reason) from exc
        delay = poll_delay(attempt, FIRST_BACKOFF, MAX_BACKOFF, self._rand)
        self.log("Cloud Temple %s failed (%s); attempt %d of %d in %.1f s"
                 % (display, reason, attempt + 2, ATTEMPTS, delay))
        return delay

    # -- the bearer (§3) ---------------------------------------------------------------------------------------

    def authenticate(self):
        """Make sure a valid bearer is at hand (exchanging the token if needed); return the client."""
        self._bearer()
        return self

    def _bearer(self, refused=None):
        """The bearer for the next call: the cached one while valid, else a fresh exchange.

        ``refused`` is a bearer a 401 just refused: it is replaced even if its time is not up, unless another thread
        already replaced it, and then the new one serves (one exchange for all).
        """
        with self._token_lock:
            current = self._token
            if current is not None and current != refused and not self._token_valid.expired():
                return current
            return self._exchange_token()

    def _exchange_token(self):
        """POST the personal access token and cache the JWT it answers (§3.2); retried like a GET (§4.3)."""
        url = self.url_for(TOKEN_PATH)
        self._token = None
        response = self._exchange("POST", url, body={"id": self.client_id or "", "secret": self._secret or ""})
        status = response.status_code
        if status in (400, 401, 403):
            # §3.2: the status for bad credentials is not recorded (inferred 401); a 400 or 403 here means the same.
            response.close()
            raise AuthenticationError(
                "the Cloud Temple console at %s refused the personal access token (HTTP %d). Check "
                "cloudtemple_client_id and cloudtemple_secret_id (environment variables CLOUDTEMPLE_CLIENT_ID and "
                "CLOUDTEMPLE_SECRET_ID): the token may be mistyped, expired (a token lasts at most 12 months) or "
                "revoked; create one in the console (your profile, personal access tokens)"
                % (self.base_url, status), status=status)
        if not 200 <= status < 300:
            raise error_for_answer(response, "POST", TOKEN_PATH, url, self._secrets(), response.attempts)
        # §3.2: the body is the raw JWT as text, not JSON; a JSON string is read too.
        token = response.text.strip().strip('"')
        response.close()
        try:
            claims = jwt_claims(token)
        except ValueError:
            raise ApiError(status, None, "the token exchange answered something that is not a JWT (%d characters, "
                           "not shown); check that cloudtemple_url is the console's address" % len(token),
                           "POST", url) from None
        lifetime = token_lifetime(claims, self._now())
        self._tokens.append(token)
        self._token = token
        self._token_valid = Deadline(max(0.0, lifetime - min(TOKEN_MARGIN, lifetime / 2.0)), self._clock)
        self.log("Cloud Temple console at %s: bearer token received, valid for %d s" % (self.base_url, lifetime))
        return token

    # -- requests ----------------------------------------------------------------------------------------------

    def request(self, method, path, params=None, json=None):
        """Send one call with the bearer; return the ``requests.Response`` of a 2xx answer, raise the typed error of
        any other (``cloudtemple/_errors_map.py``).

        A 401 means the console refused the bearer (expired or revoked, §3.3): exchange the token once more and
        replay the call once. This holds for a write too: a 401 is an authentication refusal, the console did not
        carry the call out and created no activity, so replaying cannot do it twice.
        """
        method = method.upper()
        read = method not in WRITE_METHODS
        url = self.url_for(path)
        token = self._bearer()
        response = self._exchange(method, url, params, json, token, read)
        if response.status_code == 401:
            response.close()
            self.log("Cloud Temple console refused the bearer token for %s %s; exchanging the token again"
                     % (method, path))
            token = self._bearer(refused=token)
            response = self._exchange(method, url, params, json, token, read)
            if response.status_code == 401:
                text = body_text(response, self._secrets())
                response.close()
                raise AuthenticationError(
                    "the Cloud Temple console refused %s %s with HTTP 401 even with a fresh bearer token%s. Check that "
                    "the personal access token (cloudtemple_client_id) is still valid and not revoked"
                    % (method, path, ": %s" % text if text else ""), status=401)
        if 200 <= response.status_code < 300:
            return response
        error = error_for_answer(response, method, path, url, self._secrets(), response.attempts)
        response.close()
        raise error

    def _json(self, response, method, path):
        """The parsed JSON of a success answer; None when it is empty."""
        if response.status_code == 204 or not response.content:
            return None
        try:
            return response.json()
        except ValueError:
            text = self.redact(shorten(response.text, strip_html=True))
            raise ApiError(response.status_code, None, "the answer is not JSON: %s" % text, method,
                           self.url_for(path)) from None

    def get(self, path, params=None):
        """The parsed JSON answer of a read (None for an empty one)."""
        return self._json(self.request("GET", path, params=params), "GET", path)

    def get_or_none(self, path, params=None):
        """Like ``get``, but None when the console answers 404 (the object does not exist; for the backup service's
        VMs and disks, also "not yet inventoried", §8.1)."""
        try:
            return self.get(path, params=params)
        except NotFound:
            return None

    def listing(self, path, params=None, missing_is_empty=False):
        """The items of a list route as a ``Listing`` (``partial`` on a 206, §2.5); ``missing_is_empty``: a 404 is an
        empty list (§12.3, as the provider reads the disks of a VM)."""
        try:
            response = self.request("GET", path, params=params)
        except NotFound:
            if missing_is_empty:
                return Listing()
            raise
        data = self._json(response, "GET", path)
        if data is None:
            data = []
        if not isinstance(data, list):
            raise ApiError(response.status_code, None, "expected a JSON array (§2.5: lists are bare arrays), got a "
                           "JSON %s" % type(data).__name__, "GET", self.url_for(path))
        partial = response.status_code == 206
        if partial:
            self.log("Cloud Temple GET %s answered HTTP 206, a partial list of %d item(s): it does not prove that "
                     "anything else is absent" % (path, len(data)))
        return Listing(data, partial)

    def write(self, method, path, json=None):
        """Send a write once and return the id of the activity it started (§5.1: 2xx with ``Location``).

        A 2xx without ``Location`` raises ``ApiError``: the write was accepted, but its activity cannot be followed.
        """
        response = self.request(method, path, json=json)
        activity_id = activity_id_from_location(response.headers.get("Location"))
        response.close()
        if not activity_id:
            raise ApiError(response.status_code, None, "the console accepted the call but named no activity (no "
                           "Location header), so its outcome cannot be followed; check the console's activities",
                           method.upper(), self.url_for(path))
        return activity_id


# ----------------------------------------------------------------------------------------------------------------
# Parallel reads


def read_many(client, read, ids, workers=PARALLEL_READS):
    """``{id: read(client, id)}`` for each distinct id, with at most ``workers`` reads under way at once.

    For objects read one by one: the console has no list of the backup service's VMs (§8.1, §14), so a coverage
    read takes one GET per VM. The client's pacing keeps the whole under the console's rate limit (§2.6) and its
    transport retries a 429. The bearer is fetched before the threads start; the first error is raised, and the reads
    not yet started are dropped.
    """
    unique = list(dict.fromkeys(ids))
    if len(unique) <= 1 or workers <= 1:
        return {item: read(client, item) for item in unique}
    client.authenticate()
    with concurrent.futures.ThreadPoolExecutor(max_workers=min(workers, len(unique))) as pool:
        futures = [(item, pool.submit(read, client, item)) for item in unique]
        try:
            return {item: future.result() for item, future in futures}
        except BaseException:
            for _item, future in futures:
                future.cancel()  # reads not started yet are dropped; the ones under way end on their own
            raise
