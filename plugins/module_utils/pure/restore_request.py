# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""First stage of ``vm_restore``: the request. Which option combinations make sense, and what ``recovery_point``
asks for. Pure.

Considered private: only this collection may import it.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _time
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

MODES = ("test", "clone", "production")
STATES = ("present", "promoted", "cloned", "absent")
TEST_ONLY_STATES = ("promoted", "cloned", "absent")
# The module checks these before any call (``_module.connected_module``); ``request_problems`` again, for any caller.
RANGES = {"timeout": _arguments.WAIT_SECONDS}
STRING_MAPS = {"datastore_map": "datastore name", "network_map": "network name"}
TEXTS = {"vm": "a VM name, moref or instance UUID"}


def iso_time(epoch_ms):
    """``2026-01-31T22:00:00.000Z``: recovery points are told apart to the millisecond."""
    return _time.iso_time(epoch_ms, milliseconds=True)


def parse_recovery_point(value):
    """``recovery_point`` -> None (not given), ``"latest"``, a version id, or ``{"before": epoch_ms}``."""
    if value is None or value == "":
        return None
    if isinstance(value, dict):
        if set(value) != {"before"}:
            raise InvalidRequest("recovery_point as a dict takes one key, before (a time), got %s"
                                 % ", ".join(sorted(str(key) for key in value)))
        return {"before": _time.epoch_ms(value["before"], "recovery_point.before")}
    if isinstance(value, (list, bool)):
        raise InvalidRequest("recovery_point must be latest, a recovery point id or {before: <time>}, got %r" % value)
    text = str(value).strip()
    return "latest" if text.lower() == "latest" else text


def request_problems(request):
    """Option combinations the argument spec cannot express, and values out of their range (``RANGES``,
    ``STRING_MAPS``), one sentence each; ``[]`` when the request is sound."""
    mode, state = request["mode"], request["state"]
    problems = _arguments.option_problems(request, RANGES, STRING_MAPS, texts=TEXTS)
    if state in TEST_ONLY_STATES and mode != "test":
        problems.append("state %s applies to test restores only (mode: test), not to mode %s" % (state, mode))
    if mode == "production" and request.get("name"):
        problems.append("a production restore keeps the original name; name applies to modes test and clone (to "
                        "keep the current VM as <name>_OLD, use keep_current: true)")
    if request.get("keep_current") and mode != "production":
        problems.append("keep_current applies to production restores only (mode: production)")
    if request.get("keep_current") and request.get("overwrite"):
        problems.append("keep_current and overwrite exclude each other: keep the current VM as <name>_OLD, or "
                        "destroy it")
    if request.get("host") and request.get("cluster"):
        problems.append("host and cluster are mutually exclusive")
    if request.get("test_result") and (mode != "test" or state not in ("absent", "promoted")):
        problems.append("test_result records the outcome of a test restore: it applies to mode test with state absent "
                        "(after the clean-up) or promoted")
    if request.get("restore_id") and mode != "production" and state != "promoted":
        problems.append("restore_id is the request key of a restore that replaces a VM: it applies to mode production "
                        "and to state promoted")
    if request.get("skip_if_tested") and (mode != "test" or state != "present"):
        problems.append("skip_if_tested applies to mode test with state present")
    return problems


def check_request(request):
    """Raise ``InvalidRequest`` listing every ``request_problems``, before anything is read or sent."""
    problems = request_problems(request)
    if problems:
        raise InvalidRequest("; ".join(problems) + "; nothing was changed", problems=problems)
