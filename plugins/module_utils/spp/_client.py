# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Session, transport, retries, pagination and error mapping for the IBM Storage Protect Plus (SPP) REST API.

Considered private: only this collection may import it. Nothing here knows about AnsibleModule; every failure is
raised as one of the typed errors of ``_errors``.

Retry policy (see ``SppClient.request``):

* GET, PUT and DELETE are idempotent, so they are retried on 429/502/503/504 answers and on connection errors,
  with jittered exponential backoff that honours ``Retry-After``.
* A POST is never replayed once it may have reached the server: if its answer is lost, ``AmbiguousResult`` tells
  the user what to check. A POST is still retried when the server explicitly refused it (429 or 503: it was not
  executed) or when the connection could not even be opened; this is ``retry_on_refusal``, on by default.
* A 401 on any call but the login means the session expired: log in again once and replay the call. This holds for a
  POST too, because a 401 means the server did not execute it.
"""

from __future__ import annotations

import email.utils
import json as jsonlib
import math
import os
import random
import re
import ssl
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
    BadRequest,
    ConfigurationError,
    Conflict,
    ConnectionFailure,
    MissingLibraryError,
    NotFound,
    ServerBusy,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get

LOGIN_PATH = "/api/endeavour/session"
SESSION_HEADER = "X-Endeavour-Sessionid"

# Answers worth another try for an idempotent call: throttled, or a gateway / service temporarily unavailable.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
# Answers that prove the server refused the request without executing it, so even a POST may be sent again.
REFUSAL_STATUSES = frozenset((429, 503))
# Gateway answers to a POST: the backend may have executed it before the proxy gave up.
AMBIGUOUS_GATEWAY_STATUSES = frozenset((502, 504))
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE"))

RETRY_AFTER_MIN = 1.0
RETRY_AFTER_MAX = 60.0
REDACTED = "********"
DEFAULT_LOST_ANSWER_HINT = (
    "the server may have carried it out; check its effect in SPP (for a job: its job sessions) before retrying"
)


# ----------------------------------------------------------------------------------------------------------------
# Pure helpers


def parse_retry_after(value, now=None):
    """Seconds to wait from a ``Retry-After`` header value, clamped to 1..60; None when absent or unparseable.

    The header holds either a number of seconds or an HTTP date (RFC 9110 section 10.2.3).
    """
    if value is None:
        return None
    text = str(value).strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        current = time.time() if now is None else now
        seconds = when.timestamp() - current
    if math.isnan(seconds):
        return None
    return min(max(seconds, RETRY_AFTER_MIN), RETRY_AFTER_MAX)


def backoff_delay(attempt, base, maximum, rand=random.random):
    """Delay before retry number ``attempt`` (0-based): exponential, capped, with "equal jitter".

    Half of the capped delay is fixed and half is random, so concurrent clients spread out while each still waits
    long enough.
    """
    capped = min(maximum, base * (2 ** attempt))
    return capped / 2.0 + rand() * capped / 2.0


def next_page_start(start, page_size, received, total):
    """``pageStartIndex`` of the next page when the answer carries no ``links.nextPage``; None when done.

    ``total`` is trusted when it is a positive integer. Some SPP builds report 0 (APAR IT45897), so without a usable
    total a full page means there may be more.
    """
    if received <= 0:
        return None
    following = start + received
    if isinstance(total, int) and not isinstance(total, bool) and total > 0:
        return following if following < total else None
    return following if received >= page_size else None


def _shorten(text, limit=300, strip_html=False):
    if strip_html:
        text = re.sub(r"<[^>]+>", " ", text)  # an HTML error page from a proxy
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def parse_error_body(body):
    """``(error_id, description)`` from an SPP error body; both None when the body says nothing.

    Accepts the ``/api`` shape ``{"id", "description", "title"}``, the ``/ngp`` wrapper
    ``{"statusCode", "response": {...}}`` (``response`` may also be a string or JSON inside a string, as the SPP UI's
    ``ErrorNodeModel`` decodes it), and non-JSON bodies such as a proxy's HTML page.
    """
    data = body
    if isinstance(data, (bytes, bytearray)):
        data = data.decode("utf-8", "replace")
    for _depth in range(4):
        if isinstance(data, str):
            text = data.strip()
            if not text:
                return None, None
            try:
                data = jsonlib.loads(text)
            except ValueError:
                return None, _shorten(text, strip_html=True)
            if isinstance(data, str):
                return None, _shorten(data)
            continue
        if isinstance(data, dict) and "response" in data and not ("description" in data or "id" in data):
            data = data["response"]
            continue
        break
    if isinstance(data, dict):
        error_id = data.get("id") or data.get("error") or None
        description = data.get("description") or data.get("message") or data.get("title") or None
        if error_id is not None:
            error_id = str(error_id)
        if description is not None:
            description = _shorten(str(description), 1000)
        return error_id, description
    if data is None:
        return None, None
    return None, _shorten(jsonlib.dumps(data))


def error_for_status(status, error_id, description, method, url):
    """The typed error for an HTTP error status (401 excepted: the caller decides between re-login and failure)."""
    if status == 400:
        cls = BadRequest
    elif status == 404:
        cls = NotFound
    elif status == 409:
        cls = Conflict
    elif status == 429 or status >= 500:
        cls = ServerBusy
    else:
        cls = ApiError
    return cls(status, error_id, description, method, url)


def unwrap_ngp(payload, method=None, url=None):
    """The ``response`` of an ngp wrapper ``{"statusCode", "response"}``; raise when the wrapper reports an error.

    Plain JSON (SLA CRUD answers, spp-api.md section 14.3) is returned unchanged.
    """
    if not (isinstance(payload, dict) and "statusCode" in payload and "response" in payload):
        return payload
    try:
        status = int(payload["statusCode"])
    except (TypeError, ValueError):
        status = 200
    if status >= 400:
        error_id, description = parse_error_body(payload)
        if status == 401:
            raise AuthenticationError("SPP refused %s %s: the session is not valid (HTTP 401)" % (method, url),
                                      status=status)
        raise error_for_status(status, error_id, description, method, url)
    return payload["response"]


def normalise_base_url(url):
    """``scheme://host[:port][/prefix]`` without a trailing slash; https when no scheme is given."""
    text = (url or "").strip()
    if not text:
        raise ConfigurationError("spp_url is empty; set it or the SPP_URL environment variable")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("spp_url '%s' is not an http(s) URL such as https://spp.example.com" % url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def _exception_chain(exc):
    """Every exception reachable from ``exc`` through causes, contexts, args and urllib3's ``reason``."""
    seen = []
    pending = [exc]
    while pending:
        current = pending.pop()
        if not isinstance(current, BaseException) or any(current is item for item in seen):
            continue
        seen.append(current)
        pending.extend([current.__cause__, current.__context__, getattr(current, "reason", None)])
        pending.extend(arg for arg in current.args if isinstance(arg, BaseException))
    return seen


def certificate_problem(exc):
    """The reason text when ``exc`` is a failed certificate verification, else None."""
    for item in _exception_chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return item.verify_message or item.reason or str(item)
    match = re.search(r"certificate verify failed: ([^()']+)", str(exc))
    if match:
        return match.group(1).strip()
    return None


def root_cause(exc):
    """A short reason for a transport failure, e.g. ``[Errno 111] Connection refused``."""
    chain = _exception_chain(exc)
    for item in reversed(chain):
        if isinstance(item, OSError) and item.errno is not None:
            return "[Errno %s] %s" % (item.errno, item.strerror or item)
    for item in reversed(chain):
        if isinstance(item, (TimeoutError, ssl.SSLError)):
            return str(item) or type(item).__name__
    text = str(chain[-1]) if chain else str(exc)
    return _shorten(text or type(exc).__name__, 300)


def request_may_have_been_sent(exc):
    """Whether a transport error happened after the request could have reached the server.

    Only failures to open the connection (refused, DNS, connect timeout, TLS handshake) prove it was not sent.
    """
    if isinstance(exc, (requests.exceptions.ConnectTimeout, requests.exceptions.SSLError)):
        return False
    for item in _exception_chain(exc):
        if isinstance(item, urllib3.exceptions.NewConnectionError):
            return False
    return True


# ----------------------------------------------------------------------------------------------------------------
# The client


class SppClient:
    """A logged-in conversation with one SPP server.

    ``timeout`` is a number of seconds for both connecting and reading, or a ``(connect, read)`` pair.
    ``retries`` is the number of extra attempts after the first; ``backoff`` and ``max_backoff`` shape the waits.
    ``logger`` is an optional ``callable(str)`` for progress messages; it never receives a session id or password.
    """

    def __init__(self, url, username, password, validate_certs=True, ca_path=None, timeout=30, retries=4,
                 backoff=0.5, max_backoff=30, logger=None):
        if not HAS_REQUESTS:
            raise MissingLibraryError("the Python library 'requests' is required to talk to SPP",
                                      exception=REQUESTS_IMPORT_ERROR)
        self.base_url = normalise_base_url(url)
        self.username = username
        self._password = password
        self.validate_certs = bool(validate_certs)
        self.ca_path = ca_path
        if self.validate_certs and ca_path:
            if not os.path.isfile(ca_path):
                raise ConfigurationError("spp_ca_path '%s' is not a readable file (environment variable SPP_CA_PATH)"
                                         % ca_path)
            self._verify = ca_path
        else:
            self._verify = self.validate_certs
        self.timeout = tuple(timeout) if isinstance(timeout, (list, tuple)) else (timeout, timeout)
        self.retries = max(0, int(retries))
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.logger = logger
        self.request_count = 0
        self._session_id = None
        self._sleep = time.sleep
        self._http = requests.Session()
        self._http.headers.update({"Accept": "application/json", "Content-Type": "application/json"})
        # Retries are decided here, per method; the adapter must never replay anything on its own.
        adapter = requests.adapters.HTTPAdapter(max_retries=0)
        self._http.mount("https://", adapter)
        self._http.mount("http://", adapter)

    def __repr__(self):
        return "SppClient(url=%r, username=%r, validate_certs=%r)" % (self.base_url, self.username,
                                                                      self.validate_certs)

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb):
        self.close()
        return False

    @property
    def logged_in(self):
        return self._session_id is not None

    # -- logging and redaction ---------------------------------------------------------------------------------

    def _redact(self, text):
        text = str(text)
        for secret in (self._session_id, self._password):
            # Very short secrets would blank out ordinary words; they cannot be told apart from text anyway.
            if secret and len(secret) >= 4:
                text = text.replace(secret, REDACTED)
        return text

    def log(self, message):
        """Send ``message`` to the logger, if any, with secrets removed."""
        if self.logger is not None:
            self.logger(self._redact(message))

    # -- URLs --------------------------------------------------------------------------------------------------

    def url_for(self, path_or_href):
        """Absolute URL for a path (``/api/...``) or a HATEOAS href.

        An href pointing at another origin is rebased onto ``spp_url``: the session id is never sent elsewhere, and a
        server behind a proxy may advertise its internal name.
        """
        if "://" not in path_or_href:
            return self.base_url + ("" if path_or_href.startswith("/") else "/") + path_or_href
        href = urlsplit(path_or_href)
        base = urlsplit(self.base_url)
        if (href.scheme, href.netloc) == (base.scheme, base.netloc):
            return path_or_href
        self.log("SPP link %s points at another host; using %s instead" % (href.netloc, base.netloc))
        return urlunsplit((base.scheme, base.netloc, href.path, href.query, ""))

    # -- transport ---------------------------------------------------------------------------------------------

    def _send(self, method, url, params, body, with_session, auth):
        headers = {}
        if with_session and self._session_id:
            headers[SESSION_HEADER] = self._session_id
        self.request_count += 1
        with warnings.catch_warnings():
            if self._verify is False:
                # The user chose spp_validate_certs: false; one warning per request would drown the output.
                warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
            return self._http.request(method, url, params=params, json=body, headers=headers, auth=auth,
                                      timeout=self.timeout, verify=self._verify, allow_redirects=False)

    def _where(self, url):
        parts = urlsplit(url)
        return urlunsplit((parts.scheme, parts.netloc, "", "", ""))

    def _tls_failure(self, url, exc):
        origin = self._where(url)
        problem = certificate_problem(exc)
        if problem is not None:
            message = ("TLS certificate verification failed for %s: %s. Set spp_ca_path to the CA that signed the "
                       "server certificate, or spp_validate_certs: false (not recommended)" % (origin, problem))
            return ConnectionFailure(message, url=origin, reason=problem)
        reason = root_cause(exc)
        message = ("TLS handshake with %s failed: %s. Check that spp_url uses the right scheme and port%s"
                   % (origin, reason, " and that spp_ca_path is a PEM file" if self.ca_path else ""))
        return ConnectionFailure(message, url=origin, reason=reason)

    def _exchange(self, method, url, params=None, body=None, retry=False, retry_on_refusal=True,
                  with_session=True, auth=None, lost_answer_hint=None):
        """Send one logical request, retrying as the policy allows; return the final ``requests.Response``."""
        display = "%s %s" % (method, urlsplit(url).path)
        attempt = 0
        while True:
            last = attempt >= self.retries
            try:
                response = self._send(method, url, params, body, with_session, auth)
            except requests.exceptions.SSLError as exc:
                raise self._tls_failure(url, exc) from exc
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                reason = root_cause(exc)
                sent = request_may_have_been_sent(exc)
                if sent and not retry:
                    hint = lost_answer_hint or DEFAULT_LOST_ANSWER_HINT
                    raise AmbiguousResult(
                        "%s was sent to SPP at %s but its answer was lost (%s); %s"
                        % (display, self._where(url), reason, hint),
                        method=method, url=url, reason=reason) from exc
                if last or not (retry or retry_on_refusal):
                    raise ConnectionFailure(
                        "could not reach SPP at %s for %s: %s (%d attempt(s)). Check spp_url, that the server is up "
                        "and that nothing blocks the port" % (self._where(url), display, reason, attempt + 1),
                        url=self._where(url), reason=reason) from exc
                delay = backoff_delay(attempt, self.backoff, self.max_backoff)
                self.log("SPP %s failed (%s); retry %d of %d in %.1f s"
                         % (display, reason, attempt + 1, self.retries, delay))
                self._sleep(delay)
                attempt += 1
                continue

            status = response.status_code
            if not retry and method not in IDEMPOTENT_METHODS and status in AMBIGUOUS_GATEWAY_STATUSES:
                hint = lost_answer_hint or DEFAULT_LOST_ANSWER_HINT
                raise AmbiguousResult("%s got HTTP %d from a gateway in front of SPP at %s; %s"
                                      % (display, status, self._where(url), hint),
                                      method=method, url=url, status=status)
            may_retry = retry or (retry_on_refusal and status in REFUSAL_STATUSES)
            if status in RETRY_STATUSES and may_retry and not last:
                retry_after = parse_retry_after(response.headers.get("Retry-After"))
                if retry_after is not None:
                    delay, why = retry_after, " (Retry-After)"
                else:
                    delay, why = backoff_delay(attempt, self.backoff, self.max_backoff), ""
                self.log("SPP %s answered HTTP %d; retry %d of %d in %.1f s%s"
                         % (display, status, attempt + 1, self.retries, delay, why))
                response.close()
                self._sleep(delay)
                attempt += 1
                continue
            response.attempts = attempt + 1
            return response

    def _decode(self, method, url, response):
        """Parsed JSON of a success answer (None when empty); the typed error of a failure answer."""
        status = response.status_code
        if status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                text = self._redact(_shorten(response.text, strip_html=True))
                raise ApiError(status, None, "the answer is not JSON: %s" % text, method, url) from None
        if status < 400:
            # Redirects are not followed: the session header would go along to wherever they point.
            description = "redirected to %s; set spp_url to the server's final address" % (
                response.headers.get("Location") or "another address")
            raise ApiError(status, None, description, method, url)
        error_id, description = parse_error_body(response.content)
        description = self._redact(description) if description else description
        if getattr(response, "attempts", 1) > 1 and status in RETRY_STATUSES:
            note = "gave up after %d attempts" % response.attempts
            description = "%s (%s)" % (description, note) if description else note
        raise error_for_status(status, error_id, description, method, url)

    # -- session -----------------------------------------------------------------------------------------------

    def login(self):
        """Open a session (Basic auth). Retried like a GET: a spare session is harmless."""
        url = self.url_for(LOGIN_PATH)
        self._session_id = None
        response = self._exchange("POST", url, retry=True, with_session=False,
                                  auth=(self.username or "", self._password or ""))
        if response.status_code in (401, 403):
            raise AuthenticationError(
                "SPP at %s rejected the credentials of user '%s' (HTTP %d). Check spp_username and spp_password "
                "(environment variables SPP_USERNAME and SPP_PASSWORD)"
                % (self.base_url, self.username, response.status_code), status=response.status_code)
        data = self._decode("POST", url, response)
        session_id = data.get("sessionid") if isinstance(data, dict) else None
        if not session_id:
            raise ApiError(response.status_code, None, "the login answer carries no session id", "POST", url)
        self._session_id = str(session_id)
        self.log("logged in to SPP at %s as %s" % (self.base_url, self.username))
        return self

    def logout(self):
        """Close the session; one attempt, because it runs on the way out."""
        if self._session_id is None:
            return
        url = self.url_for(LOGIN_PATH)
        try:
            response = self._exchange("DELETE", url, retry=False, retry_on_refusal=False)
        finally:
            self._session_id = None
        if response.status_code not in (200, 204, 401, 404):
            self._decode("DELETE", url, response)

    def close(self):
        """Log out (best effort) and release the connections."""
        try:
            self.logout()
        except (ConnectionFailure, AmbiguousResult, ApiError) as exc:
            self.log("SPP logout failed: %s" % exc)
        finally:
            self._http.close()

    # -- requests ----------------------------------------------------------------------------------------------

    def request(self, method, path_or_href, params=None, json=None, retry=None, retry_on_refusal=True,
                lost_answer_hint=None):
        """Send a request within the session; return the parsed JSON answer (None for an empty one).

        ``retry`` None means: retry idempotent methods (GET/PUT/DELETE), not POST. Pass ``retry=True`` for a POST
        that only reads (a search) or that the server applies idempotently. ``retry_on_refusal`` lets a POST be sent
        again after a 429/503 answer or a refused connection, which prove it was not executed.
        ``lost_answer_hint`` completes the ``AmbiguousResult`` message, e.g. "check the job sessions of job X".
        """
        method = method.upper()
        if retry is None:
            retry = method in IDEMPOTENT_METHODS
        url = self.url_for(path_or_href)
        if self._session_id is None:
            self.login()
        exchange = dict(params=params, body=json, retry=retry, retry_on_refusal=retry_on_refusal,
                        lost_answer_hint=lost_answer_hint)
        response = self._exchange(method, url, **exchange)
        if response.status_code == 401:
            # Expired or revoked session: the server did not execute the call, so replaying it is safe.
            response.close()
            self.log("SPP session is no longer valid; logging in again")
            self.login()
            response = self._exchange(method, url, **exchange)
            if response.status_code == 401:
                error_id, description = parse_error_body(response.content)
                raise AuthenticationError(
                    "SPP refused %s %s with HTTP 401 even after a fresh login%s"
                    % (method, urlsplit(url).path, ": %s" % self._redact(description) if description else ""),
                    status=401, error_id=error_id)
        return self._decode(method, url, response)

    def get(self, path_or_href, params=None, **kwargs):
        return self.request("GET", path_or_href, params=params, **kwargs)

    def post(self, path_or_href, params=None, json=None, retry=False, **kwargs):
        return self.request("POST", path_or_href, params=params, json=json, retry=retry, **kwargs)

    def put(self, path_or_href, params=None, json=None, **kwargs):
        return self.request("PUT", path_or_href, params=params, json=json, **kwargs)

    def delete(self, path_or_href, params=None, **kwargs):
        return self.request("DELETE", path_or_href, params=params, **kwargs)

    def ngp(self, method, path, params=None, json=None, **kwargs):
        """A call to the ``/ngp`` layer: its ``{"statusCode", "response"}`` wrapper removed, its errors raised."""
        payload = self.request(method, path, params=params, json=json, **kwargs)
        return unwrap_ngp(payload, method.upper(), self.url_for(path))

    def paginate(self, path, items_key, params=None, page_size=1000, method="GET", json=None):
        """Yield the items of a paged listing, following ``links.nextPage.href`` while there is one.

        Without a next-page link, ``pageStartIndex`` arithmetic over ``total`` decides (``next_page_start``).
        ``method="POST"`` with ``json`` pages a search; listings only read, so every page is retried freely.
        """
        start = 0
        query = dict(params or {})
        query.update(pageSize=page_size, pageStartIndex=start)
        target = path
        visited = set()
        while True:
            page = self.request(method, target, params=query, json=json, retry=True)
            if not isinstance(page, dict):
                page = {}
            items = page.get(items_key) or []
            yield from items
            next_href = nested_get(page, "links", "nextPage", "href")
            if next_href and items:
                if next_href in visited:
                    self.log("SPP listing %s repeats page link %s; stopping" % (path, next_href))
                    return
                visited.add(next_href)
                start += len(items)
                target, query = next_href, None
                continue
            following = next_page_start(start, page_size, len(items), page.get("total"))
            if following is None:
                return
            start = following
            target = path
            query = dict(params or {})
            query.update(pageSize=page_size, pageStartIndex=start)
