# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The session client of the IBM Storage Protect Plus (SPP) REST API: login, TLS, requests, retries, paging, logout.

Considered private: only this collection may import it. Nothing here knows about AnsibleModule; every failure is
raised as one of the typed errors of ``_errors``. The retry policy is ``spp/_retry.py`` (which calls may be sent
again, and when), and the meaning of failed answers and transport errors is ``spp/_errors_map.py``; this module
sends the requests and applies them.

* A call that may not be replayed (``retry=False``: restore, its follow-up actions, ad hoc backup, job start) is sent
  again only when the connection could not be opened. Once it may have reached the server, a lost answer, a transport
  error (TLS errors past the handshake included) or a 429/502/503/504 answer raises ``AmbiguousResult``, which tells
  the user what to check and lets the caller look for what the call started.
* A 401 on any call but the login means the session expired: log in again once and replay the call. This holds for a
  POST too, because a 401 means the server did not execute it.
"""

from __future__ import annotations

import os
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
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import redact
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._errors_map import (
    error_for_answer,
    exception_chain,
    parse_error_body,
    root_cause,
    shorten,
    tls_failed_while_opening,
    tls_failure,
    unwrap_ngp,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._retry import (
    answer_leaves_effect_unknown,
    backoff_delay,
    may_resend_after,
    may_resend_after_transport_error,
    resend_delay,
    retried_by_default,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get

LOGIN_PATH = "/api/endeavour/session"
SESSION_HEADER = "X-Endeavour-Sessionid"

# Pages one listing may take: beyond, the server is taken to be paging in circles (``paginate``). 2,000 pages are two
# million items at pageSize 1000, 200,000 at a server's own default of 100: far above the 50,000 VMs the collection is
# sized for.
MAX_PAGES = 2000

DEFAULT_LOST_ANSWER_HINT = (
    "the server may have carried it out; check its effect in SPP (for a job: its job sessions) before retrying"
)


# ----------------------------------------------------------------------------------------------------------------
# Helpers of the session: paging arithmetic, the base URL, and whether a failed request may have been sent


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


def normalise_base_url(url):
    """``scheme://host[:port][/prefix]`` without a trailing slash; https when no scheme is given.

    A URL with a user name or password in it (``https://user:password@host``) is refused, with a message that does not
    repeat it: the credentials would be printed with the URL in every connection error, and sent as they are. They
    belong in spp_username and spp_password, which are never logged. Any ``@`` counts, so that no spelling gets one
    through.
    """
    text = (url or "").strip()
    if not text:
        raise ConfigurationError("spp_url is empty; set it or the SPP_URL environment variable")
    if "@" in text:
        raise ConfigurationError("spp_url must not hold a user name or password (the form https://user:password@host, "
                                 "or any '@'); it is not repeated here. Give the server's address alone, for example "
                                 "https://spp.example.com, and the credentials in spp_username and spp_password "
                                 "(environment variables SPP_USERNAME and SPP_PASSWORD)")
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigurationError("spp_url '%s' is not an http(s) URL such as https://spp.example.com" % url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


def request_may_have_been_sent(exc):
    """Whether a transport error happened after the request could have reached the server.

    Only failures to open the connection (refused, DNS, connect timeout, TLS handshake or certificate) prove it was
    not sent. A TLS error on an open connection (``EOF occurred in violation of protocol``, ``bad record mac``) does
    not: ``tls_failed_while_opening`` tells them apart.
    """
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    for item in exception_chain(exc):
        if isinstance(item, urllib3.exceptions.NewConnectionError):
            return False
    return not tls_failed_while_opening(exc)


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

    def _secrets(self):
        return (self._session_id, self._password)

    def _redact(self, text):
        return redact(text, self._secrets())

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

    def _exchange(self, method, url, params=None, body=None, retry=False, with_session=True, auth=None,
                  lost_answer_hint=None, once=False):
        """Send one logical request, resending as the policy allows (``spp/_retry.py``); return the final
        ``requests.Response``. ``once``: a single attempt whatever happens (the logout, on the way out)."""
        display = "%s %s" % (method, urlsplit(url).path)
        attempts = 1 if once else self.retries + 1
        attempt = 0
        while True:
            last = attempt + 1 >= attempts
            try:
                response = self._send(method, url, params, body, with_session, auth)
            except requests.exceptions.SSLError as exc:
                if tls_failed_while_opening(exc):
                    raise tls_failure(self._where(url), exc, with_ca_path=bool(self.ca_path)) from exc
                delay = self._after_transport_error(exc, method, url, display, retry, attempt, last,
                                                    lost_answer_hint)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                delay = self._after_transport_error(exc, method, url, display, retry, attempt, last,
                                                    lost_answer_hint)
            else:
                status = response.status_code
                if answer_leaves_effect_unknown(method, status, retry):
                    response.close()
                    raise AmbiguousResult(
                        "%s got HTTP %d from SPP at %s, or from a proxy in front of it, so it may have been carried "
                        "out; %s" % (display, status, self._where(url), lost_answer_hint or DEFAULT_LOST_ANSWER_HINT),
                        method=method, url=url, status=status)
                if last or not may_resend_after(status, retry):
                    response.attempts = attempt + 1
                    return response
                delay, why = resend_delay(attempt, response.headers.get("Retry-After"), self.backoff, self.max_backoff)
                self.log("SPP %s answered HTTP %d; retry %d of %d in %.1f s%s"
                         % (display, status, attempt + 1, self.retries, delay, why))
                response.close()
            self._sleep(delay)
            attempt += 1

    def _after_transport_error(self, exc, method, url, display, retry, attempt, last, lost_answer_hint):
        """The delay before sending again after a transport error; raise when the call must not be sent again."""
        reason = root_cause(exc)
        sent = request_may_have_been_sent(exc)
        if sent and not retry:
            raise AmbiguousResult(
                "%s was sent to SPP at %s but its answer was lost (%s); %s"
                % (display, self._where(url), reason, lost_answer_hint or DEFAULT_LOST_ANSWER_HINT),
                method=method, url=url, reason=reason) from exc
        if last or not may_resend_after_transport_error(sent, retry):
            raise ConnectionFailure(
                "could not reach SPP at %s for %s: %s (%d attempt(s)). Check spp_url, that the server is up "
                "and that nothing blocks the port" % (self._where(url), display, reason, attempt + 1),
                url=self._where(url), reason=reason) from exc
        delay = backoff_delay(attempt, self.backoff, self.max_backoff)
        self.log("SPP %s failed (%s); retry %d of %d in %.1f s" % (display, reason, attempt + 1, self.retries, delay))
        return delay

    def _decode(self, method, url, response):
        """Parsed JSON of a success answer (None when empty); the typed error of a failure answer."""
        status = response.status_code
        if status < 300:
            if status == 204 or not response.content:
                return None
            try:
                return response.json()
            except ValueError:
                text = self._redact(shorten(response.text, strip_html=True))
                raise ApiError(status, None, "the answer is not JSON: %s" % text, method, url) from None
        raise error_for_answer(status, response.content, method, url, attempts=getattr(response, "attempts", 1),
                               location=response.headers.get("Location"), secrets=self._secrets())

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
            response = self._exchange("DELETE", url, retry=False, once=True)
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

    def request(self, method, path_or_href, params=None, json=None, retry=None, lost_answer_hint=None):
        """Send a request within the session; return the parsed JSON answer (None for an empty one).

        ``retry`` None means: retry idempotent methods (GET/PUT/DELETE), not POST. Pass ``retry=True`` for a POST
        that only reads (a search) or that the server applies idempotently. A call with ``retry`` false is sent again
        only when the connection could not be opened; a lost answer, or a 429/502/503/504 answer, raises
        ``AmbiguousResult`` (``spp/_retry.py``). ``lost_answer_hint`` completes its message, e.g. "check the job
        sessions of job X".
        """
        method = method.upper()
        if retry is None:
            retry = retried_by_default(method)
        url = self.url_for(path_or_href)
        if self._session_id is None:
            self.login()
        exchange = dict(params=params, body=json, retry=retry, lost_answer_hint=lost_answer_hint)
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

    def paginate(self, path, items_key, params=None, page_size=1000, method="GET", json=None, max_pages=None):
        """Yield the items of a paged listing, following ``links.nextPage.href`` while there is one.

        Without a next-page link, ``pageStartIndex`` arithmetic over ``total`` decides (``next_page_start``).
        ``method="POST"`` with ``json`` pages a search; listings only read, so every page is retried freely.

        Bounded, whatever the server answers: a page with the same items as the page before it ends the listing (a
        server that ignores ``pageStartIndex`` and reports ``total: 0`` would otherwise be asked for the same page
        forever), and so does a next-page link seen before. A listing still going after ``max_pages`` pages (default
        ``MAX_PAGES``) raises ``ApiError`` rather than run on.
        """
        limit = max_pages or MAX_PAGES
        start = 0
        query = dict(params or {})
        query.update(pageSize=page_size, pageStartIndex=start)
        target = path
        visited = set()
        previous = None
        for _page in range(limit):
            page = self.request(method, target, params=query, json=json, retry=True)
            if not isinstance(page, dict):
                page = {}
            items = page.get(items_key) or []
            if items and items == previous:
                self.log("SPP listing %s answered the same %d item(s) again at item %d: it does not page, so the "
                         "listing stops here and may be incomplete" % (path, len(items), start))
                return
            previous = items
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
        raise ApiError(None, description=(
            "the SPP listing %s %s did not end after %d pages (%d items, pageSize %d): the server keeps announcing more "
            "pages. Stopped rather than read on without end; check the server, or a proxy in front of it, for a "
            "paging fault (such as total: 0 with pageStartIndex ignored)" % (method, path, limit, start, page_size)),
            method=method, url=self.url_for(path))
