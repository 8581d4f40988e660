# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failed SPP exchange means: error bodies and HTTP statuses mapped to typed errors, transport failures
explained, secrets kept out of the messages (``_redact``: every secret, whatever its length).

Considered private: only this collection may import it. ``SppClient`` (``spp/_client.py``) hands its answers and
exceptions here; nothing here sends anything. Every error raised or returned is one of the typed errors of
``_errors``.
"""

from __future__ import annotations

import json as jsonlib
import re
import socket
import ssl

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    AuthenticationError,
    BadRequest,
    Conflict,
    ConnectionFailure,
    NotFound,
    ServerBusy,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import redact
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._retry import RETRY_STATUSES


def shorten(text, limit=300, strip_html=False):
    """``text`` on one line and at most ``limit`` characters; tags removed with ``strip_html`` (a proxy's page)."""
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
                return None, shorten(text, strip_html=True)
            if isinstance(data, str):
                return None, shorten(data)
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
            description = shorten(str(description), 1000)
        return error_id, description
    if data is None:
        return None, None
    return None, shorten(jsonlib.dumps(data))


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


def error_for_answer(status, body, method, url, attempts=1, location=None, secrets=()):
    """The typed error for an answer that is not a success: a redirect (3xx), or an HTTP error with its body.

    ``attempts`` above 1 notes that the client gave up retrying; ``secrets`` are kept out of the description.
    """
    if status < 400:
        # Redirects are not followed: the session header would go along to wherever they point.
        description = "redirected to %s; set spp_url to the server's final address" % (location or "another address")
        return ApiError(status, None, description, method, url)
    error_id, description = parse_error_body(body)
    description = redact(description, secrets) if description else description
    if attempts > 1 and status in RETRY_STATUSES:
        note = "gave up after %d attempts" % attempts
        description = "%s (%s)" % (description, note) if description else note
    return error_for_status(status, error_id, description, method, url)


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


# -- transport failures -------------------------------------------------------------------------------------------


def exception_chain(exc):
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
    for item in exception_chain(exc):
        if isinstance(item, ssl.SSLCertVerificationError):
            return getattr(item, "verify_message", None) or getattr(item, "reason", None) or str(item)
    match = re.search(r"certificate verify failed: ([^()']+)", str(exc))
    if match:
        return match.group(1).strip()
    return None


# OpenSSL reason codes (and the words of Python's own messages) of a TLS failure while the connection is opened:
# certificate verification, the handshake, protocol version or cipher negotiation, an alert from the peer.
TLS_OPENING_MARKERS = ("HANDSHAKE", "CERTIFICATE", "WRONG_VERSION", "ALERT", "UNSUPPORTED_PROTOCOL", "NO_SHARED_CIPHER")
OPENSSL_REASON = re.compile(r"\[SSL: ([A-Z0-9_]+)\]")


def tls_failed_while_opening(exc):
    """Whether a TLS error happened while the connection was being opened, so that no request was sent on it.

    Certificate verification, handshake, protocol version, shared cipher and alert failures happen before the first
    byte of the request. Anything else (``EOF occurred in violation of protocol``, ``bad record mac``, ``decryption
    failed``) happens on an open connection, after the request may have reached the server. Read from the
    ``ssl.SSLError`` in the exception's chain (its ``reason`` code), else from the ``[SSL: CODE]`` of the messages.
    """
    chain = exception_chain(exc)
    if any(isinstance(item, ssl.SSLCertVerificationError) for item in chain):
        return True
    reasons = [str(item.reason) for item in chain if isinstance(item, ssl.SSLError) and getattr(item, "reason", None)]
    texts = [str(item) for item in chain]
    reasons.extend(OPENSSL_REASON.findall(" ".join(texts)))
    if any(marker in reason.upper() for reason in reasons for marker in TLS_OPENING_MARKERS):
        return True
    # Python's own words for a handshake that failed or timed out ("_ssl.c: The handshake operation timed out").
    return any("handshake" in str(item).lower() for item in chain
               if isinstance(item, (ssl.SSLError, TimeoutError, socket.timeout)))


def root_cause(exc):
    """A short reason for a transport failure, e.g. ``[Errno 111] Connection refused``."""
    chain = exception_chain(exc)
    for item in reversed(chain):
        if isinstance(item, OSError) and item.errno is not None:
            return "[Errno %s] %s" % (item.errno, item.strerror or item)
    for item in reversed(chain):
        if isinstance(item, (TimeoutError, ssl.SSLError)):
            return str(item) or type(item).__name__
    text = str(chain[-1]) if chain else str(exc)
    return shorten(text or type(exc).__name__, 300)


def tls_failure(origin, exc, with_ca_path=False):
    """The ``ConnectionFailure`` for a TLS error with ``origin`` (``scheme://host:port``): what failed, what to set."""
    problem = certificate_problem(exc)
    if problem is not None:
        message = ("TLS certificate verification failed for %s: %s. Set spp_ca_path to the CA that signed the "
                   "server certificate, or spp_validate_certs: false (not recommended)" % (origin, problem))
        return ConnectionFailure(message, url=origin, reason=problem)
    reason = root_cause(exc)
    message = ("TLS handshake with %s failed: %s. Check that spp_url uses the right scheme and port%s"
               % (origin, reason, " and that spp_ca_path is a PEM file" if with_ca_path else ""))
    return ConnectionFailure(message, url=origin, reason=reason)
