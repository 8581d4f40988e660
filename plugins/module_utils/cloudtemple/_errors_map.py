# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""What a failed exchange with Cloud Temple's console API means: HTTP statuses to typed errors, the permission a 403
may be missing, TLS failures explained (docs/cloudtemple-api.md section 4).

Considered private: only this collection may import it. ``CloudTempleClient`` (``cloudtemple/_client.py``) hands its
failed answers here; nothing here sends anything. The console's error bodies are not documented (section 4.2: short
text or JSON, shown as they are and not parsed), so each is shown as one line of text, truncated, with every secret
removed (``_redact``). The generic readers of transport failures are the SPP client's (``spp/_errors_map.py``): they
know nothing of SPP.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ApiError, ConnectionFailure
from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import redact
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp._errors_map import (
    certificate_problem,
    error_for_status,
    root_cause,
    shorten,
)


def is_transient_status(status):
    """Throttled (section 2.6), or a transient server or gateway failure (section 4.1: 500/502/503; the provider's
    ``transientStatus`` takes any 5xx)."""
    return status == 429 or status >= 500


# The permission ("role") of the personal access token a route needs, for the 403 message: first match wins, on the
# method (None: any) and the start of the API path. Section 3.1 (the provider's ``documentResource`` calls) and the
# route sections: backup reads and writes (6-10), compute reads and power (12), activities (5, 3.1: without
# activity_read the provider used to wait for ever).
PERMISSIONS = (
    ("GET", "/api/backup/v1/spp/", "backup_iaas_spp_read"),
    (None, "/api/backup/v1/spp/", "backup_iaas_spp_write"),
    ("PATCH", "/api/compute/v1/vcenters/virtual_machines/power", "compute_iaas_vmware_virtual_machine_power"),
    ("GET", "/api/compute/v1/vcenters", "compute_iaas_vmware_read"),
    ("GET", "/api/activity/", "activity_read"),
)

# Section 4.1: compute reads answered 403 for an object that does not exist before Compute API v1.144.0.
OLD_COMPUTE_403 = ("; before Compute API v1.144.0 a compute read also answered 403 for an object that does not "
                   "exist")


def permission_for(method, api_path):
    """The permission the token may lack when ``method api_path`` answers 403; None when the route does not tell."""
    for wanted_method, prefix, permission in PERMISSIONS:
        if (wanted_method is None or wanted_method == method) and api_path.startswith(prefix):
            return permission
    return None


def body_text(response, secrets):
    """The body of an answer as one line of text: truncated, HTML tags removed, every secret redacted."""
    try:
        text = response.text
    except (ValueError, RuntimeError):  # a body that cannot be decoded, or was already consumed
        text = ""
    return redact(shorten(text or "", strip_html=True), secrets)


def error_for_answer(response, method, api_path, url, secrets, attempts=1):
    """The typed error for an answer that is not a success: a redirect (3xx), or an HTTP error with its body.

    401 is the caller's (a fresh bearer, then ``AuthenticationError``). 400 ``BadRequest``, 404 ``NotFound``, 409
    ``Conflict``, 429 and 5xx ``ServerBusy`` (after the retries a read allows), any other ``ApiError``; a 403 names the
    permission the route needs, also in ``details["permission"]``.
    """
    status = response.status_code
    if status < 400:
        # Redirects are not followed: the bearer token would go along to wherever they point.
        location = response.headers.get("Location") or "another address"
        return ApiError(status, None, "redirected to %s; set cloudtemple_url to the console's own address"
                        % redact(location, secrets), method, url)
    description = body_text(response, secrets) or None
    if attempts > 1 and is_transient_status(status):
        note = "gave up after %d attempts" % attempts
        description = "%s (%s)" % (description, note) if description else note
    permission = permission_for(method, api_path) if status == 403 else None
    if status == 403:
        hint = ("the personal access token may lack the permission %s; add it to the token in the console" % permission
                if permission else "the personal access token may lack a permission this route needs")
        if permission == "compute_iaas_vmware_read":
            hint += OLD_COMPUTE_403
        description = "%s (%s)" % (description, hint) if description else hint
    error = error_for_status(status, None, description, method, url)
    if permission:
        error.details["permission"] = permission
    return error


def tls_failure(origin, exc, with_ca_path=False):
    """The ``ConnectionFailure`` for a TLS error while opening a connection to ``origin``: what failed, what to set."""
    problem = certificate_problem(exc)
    if problem is not None:
        return ConnectionFailure(
            "TLS certificate verification failed for %s: %s. Set cloudtemple_ca_path (environment variable "
            "CLOUDTEMPLE_CA_PATH) to the CA that signed the console's certificate, or cloudtemple_validate_certs: "
            "false (not recommended)" % (origin, problem), url=origin, reason=problem)
    reason = root_cause(exc)
    return ConnectionFailure(
        "TLS handshake with %s failed: %s. Check that cloudtemple_url uses the right scheme and port%s"
        % (origin, reason, " and that cloudtemple_ca_path is a PEM file" if with_ca_path else ""),
        url=origin, reason=reason)
