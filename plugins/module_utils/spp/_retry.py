# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The retry policy of the SPP client: which calls may be sent again, after which answers, and how long to wait.

Considered private: only this collection may import it. ``SppClient`` (``spp/_client.py``) sends the requests and
asks this module what to do with an answer; nothing here sends anything.

* GET, PUT and DELETE are idempotent, so they are retried on 429/502/503/504 answers and on connection errors,
  with jittered exponential backoff that honours ``Retry-After``.
* A POST is never replayed once it may have reached the server. It is still sent again when the server explicitly
  refused it (429 or 503: it was not executed) or when the connection could not even be opened: this is
  ``retry_on_refusal``. A 502 or 504 from a gateway to a POST is ambiguous: the backend may have executed it.
"""

from __future__ import annotations

import email.utils
import math
import random
import time

# Answers worth another try for an idempotent call: throttled, or a gateway / service temporarily unavailable.
RETRY_STATUSES = frozenset((429, 502, 503, 504))
# Answers that prove the server refused the request without executing it, so even a POST may be sent again.
REFUSAL_STATUSES = frozenset((429, 503))
# Gateway answers to a POST: the backend may have executed it before the proxy gave up.
AMBIGUOUS_GATEWAY_STATUSES = frozenset((502, 504))
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


def gateway_answer_is_ambiguous(method, status, retry):
    """Whether a gateway error to a call that must not be replayed leaves its effect unknown."""
    return not retry and method not in IDEMPOTENT_METHODS and status in AMBIGUOUS_GATEWAY_STATUSES


def may_resend_after(status, retry, retry_on_refusal):
    """Whether an answer with ``status`` lets the call be sent again (attempts left aside).

    ``retry``: the call may be replayed (idempotent, or a POST that only reads). ``retry_on_refusal``: the call may
    be sent again when the answer proves the server did not execute it.
    """
    return status in RETRY_STATUSES and (retry or (retry_on_refusal and status in REFUSAL_STATUSES))
