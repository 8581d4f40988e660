# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Activities of Cloud Temple's console: how every write completes (docs/cloudtemple-api.md section 5).

Considered private: only this collection may import it. A write answers with an activity id
(``CloudTempleClient.write``); ``wait`` reads that activity until it ends, through ``_wait.wait_until``, and always
with a deadline: an activity may stay ``waiting`` for ever (#306, §5.3). Many refusals arrive here, as a ``failed``
activity with a ``reason``, not as an HTTP error (§4.2).
"""

from __future__ import annotations

from urllib.parse import quote

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ConnectionFailure,
    NotFound,
    ServerBusy,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline, wait_until

ACTIVITY_PATH = "/api/activity/v1/activities"  # §5.2

COMPLETED = "completed"
FAILED = "failed"
WAITING = "waiting"

# §5.2 (#415): one 404 is tolerated before the activity is first seen (the console's eventual-consistency window).
NOT_FOUND_TOLERATED = 1
# §4.3 (#245, the provider's ``maxActivityReadRetries``): consecutive reads that failed in transport, or with a 429 or
# 5xx after the client's own retries, that a wait rides out.
TRANSIENT_READ_FAILURES = 8
# The first poll comes soon (a short activity is over in a second or two); then the delay doubles up to a few seconds,
# not the provider's 30 s (§5.3), so that the end of an activity is seen promptly.
FIRST_POLL_DELAY = 1.0
MAX_POLL_DELAY = 5.0
# §5.3 (the provider's ``transientActivityReasons``): failure reasons worth running the operation again for.
TRANSIENT_REASONS = ("None of the workers were able to respond", "Failed to load configuration via API")


def get_activity(client, activity_id):
    """The activity ``activity_id``; None when the console answers 404 (not visible, or not yet, §5.2)."""
    return client.get_or_none(activity_path(activity_id))


def activity_path(activity_id):
    return "%s/%s" % (ACTIVITY_PATH, quote(str(activity_id), safe=""))


def state_of(activity):
    """``(name, body)`` of an activity's state (§5.3: an object with exactly one key); ``(None, {})`` otherwise."""
    state = (activity or {}).get("state")
    if isinstance(state, dict) and len(state) == 1:
        name, body = next(iter(state.items()))
        return str(name).lower(), body if isinstance(body, dict) else {}
    return None, {}


def describe(activity, activity_id):
    """``activity <id> (<description>)`` for messages."""
    description = (activity or {}).get("description")
    return "Cloud Temple activity %s%s" % (activity_id, " (%s)" % description if description else "")


def progression_text(body):
    """`` 40 %`` from a ``running`` state's ``progression`` (0 to 1); empty when it has none."""
    value = (body or {}).get("progression")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return ""
    return " %d %%" % round(value * 100)


def is_transient_reason(reason):
    """Whether a failure reason is one the provider retries the operation for (§5.3)."""
    return any(marker in str(reason or "") for marker in TRANSIENT_REASONS)


def wait(client, activity_id, timeout, progress=None, deadline=None, sleep=None, clock=None,
         first_delay=FIRST_POLL_DELAY, max_delay=MAX_POLL_DELAY):
    """Read activity ``activity_id`` until it ends; return the body of its ``completed`` state (§5.3: ``startDate``,
    ``stopDate``, and ``result``, the id of what it created).

    The wait ends after ``timeout`` seconds, or at ``deadline`` (a ``_wait.Deadline``), with ``WaitTimeout``: it
    names the activity and its last state, and says that the activity may still end on the console. A ``failed``
    state raises ``TaskFailed`` with its ``reason`` (redacted); ``details["transient"]`` tells a reason the provider
    retries (§5.3). One 404 before the activity is first seen is tolerated; a second one, or a 404 after it was seen,
    raises ``NotFound``. Up to 8 consecutive reads may fail in transport or with a 429/5xx (§4.3).

    ``progress(message)`` is called after each read of an activity still under way, with its state and
    progression. ``sleep`` and ``clock`` default to the client's, and so does the jitter.
    """
    sleep = sleep or client._sleep  # pylint: disable=protected-access
    clock = clock or client._clock  # pylint: disable=protected-access
    path = activity_path(activity_id)
    stopwatch = Deadline(0, clock)  # only its elapsed() is read: how long this wait has lasted
    last = {"activity": None, "not_found": 0, "failures": 0, "error": None}

    def check():
        try:
            activity = get_activity(client, activity_id)
        except (ConnectionFailure, ServerBusy) as exc:
            last["failures"] += 1
            last["error"] = exc
            if last["failures"] > TRANSIENT_READ_FAILURES:
                raise
            client.log("reading %s failed (%d in a row): %s" % (describe(last["activity"], activity_id),
                                                                last["failures"], exc))
            return None
        last["failures"] = 0
        last["error"] = None
        if activity is None:
            if last["activity"] is not None:
                raise NotFound(404, None, "%s was seen, then answered 404: the console no longer knows it"
                               % describe(last["activity"], activity_id), "GET", client.url_for(path))
            last["not_found"] += 1
            if last["not_found"] > NOT_FOUND_TOLERATED:
                raise NotFound(404, None, "the console does not know activity %s (HTTP 404 %d times in a row)"
                               % (activity_id, last["not_found"]), "GET", client.url_for(path))
            return None
        last["activity"] = activity
        name, body = state_of(activity)
        if name == COMPLETED:
            return body
        if name == FAILED:
            raise _failure(client, activity, activity_id, body)
        return None

    def report(elapsed, _remaining):
        if progress is not None and last["activity"] is not None:
            name, body = state_of(last["activity"])
            progress(client.redact("%s: %s%s after %d s" % (describe(last["activity"], activity_id),
                                                            name or "in an unknown state", progression_text(body),
                                                            elapsed)))

    def timed_out():
        activity = last["activity"]
        name, body = state_of(activity)
        if activity is None:
            state = "not visible yet"
        else:
            state = "still %s%s" % (name or "in an unknown state", progression_text(body))
        note = "; the last read failed: %s" % last["error"] if last["error"] is not None else ""
        hint = (" An activity may stay waiting for ever (it never started on the platform)." if name == WAITING
                else "")
        return WaitTimeout(client.redact(
            "%s is %s after %s s of waiting%s.%s It may still end on the console: follow it among the console's "
            "activities, and do not send the same change again before it ends"
            % (describe(activity, activity_id), state, int(round(stopwatch.elapsed())), note, hint)),
            activity=str(activity_id), state=name, progression=body.get("progression"))

    return wait_until(check, timeout, timed_out, progress=report, first_delay=first_delay, max_delay=max_delay,
                      deadline=deadline, sleep=sleep, clock=clock, rand=client._rand)  # pylint: disable=protected-access


def _failure(client, activity, activity_id, body):
    reason = client.redact(body.get("reason") or "no reason given")
    return TaskFailed(client.redact("%s failed: %s" % (describe(activity, activity_id), reason)),
                      activity=str(activity_id), reason=reason, transient=is_transient_reason(reason),
                      concerned_items=list(activity.get("concernedItems") or []))
