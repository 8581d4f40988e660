# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The retry policy of the SPP client: which calls may be sent again, after which answers, and how long to wait.

Considered private: only this collection may import it. ``SppClient`` (``spp/_client.py``) sends the requests and
asks this module what to do with an answer; nothing here sends anything.

* A call that may be replayed (``retry=True``: GET, PUT and DELETE by default, and POSTs that only read or that the
  server applies idempotently, such as the login, searches and ``applySLAPolicies``) is sent again after a 429, 502,
  503 or 504 answer and after any transport error, with jittered exponential backoff that honours ``Retry-After``.
* A call that may not be replayed (``retry=False``: a restore, its follow-up actions ``rrp``, ``clone``, ``cleanup``
  and ``end_iv``, an ad hoc backup, a job start, an SLA policy creation) is sent again only when the connection could
  not even be opened (refused, DNS, connect timeout, TLS handshake): then nothing reached the server. Once the
  request may have been sent, nothing proves that it was not executed, not even a 429 or 503: a proxy or load
  balancer in front of SPP answers those on its own, after the backend may have acted. So a 429, 502, 503 or 504
  answer to such a POST, and a transport error after the connection was opened (a reset, a read timeout, a TLS error
  past the handshake), raise ``AmbiguousResult``; the caller then looks for what the call may have started (its job
  session) before anything is posted again.
* A 401 is not a matter for this module: the client logs in again and replays the call once, because a server that
  refuses the session has not executed the call.
"""

from __future__ import annotations

import email.utils
import math
import random
import time

# Answers worth another try for a call that may be replayed: throttled, or a gateway / service temporarily unavailable.
# To a call that may not be replayed, the same answers leave its effect unknown.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
IDEMPOTENT_METHODS = frozenset(("GET", "HEAD", "PUT", "DELETE"))

RETRY_AFTER_MIN = 1.0
RETRY_AFTER_MAX = 60.0


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


def resend_delay(attempt, retry_after, base, maximum):
    """``(seconds, why)`` before sending again: the server's ``Retry-After`` when it gives one, else the backoff."""
    seconds = parse_retry_after(retry_after)
    if seconds is not None:
        return seconds, " (Retry-After)"
    return backoff_delay(attempt, base, maximum), ""


def retried_by_default(method):
    """Whether a call is retried when its caller does not say: idempotent methods are, POST is not."""
    return method in IDEMPOTENT_METHODS


def answer_leaves_effect_unknown(method, status, retry):
    """Whether an answer with ``status`` to a call that may not be replayed leaves its effect unknown.

    A 429, 502, 503 or 504 may come from a proxy in front of SPP after the backend acted, so for a POST with
    ``retry`` false it proves nothing either way. An idempotent method sent once (the logout) just gets its answer.
    """
    return not retry and method not in IDEMPOTENT_METHODS and status in RETRY_STATUSES


def may_resend_after(status, retry):
    """Whether an answer with ``status`` lets the call be sent again (attempts left aside): only a call that may be
    replayed is, and only after a throttling or unavailability answer."""
    return bool(retry) and status in RETRY_STATUSES


def may_resend_after_transport_error(may_have_been_sent, retry):
    """Whether a call that failed in transport may be sent again (attempts left aside): a call that may be replayed
    always may; another one only when the request cannot have reached the server (the connection was not opened)."""
    return bool(retry) or not may_have_been_sent
