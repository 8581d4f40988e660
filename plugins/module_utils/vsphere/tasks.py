# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for vSphere tasks, with exponential backoff and jitter (as vmware.vmware's RunningTaskMonitor does).

Considered private: only this collection may import it.
"""

from __future__ import annotations

import random
import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import TaskFailed, WaitTimeout

SUCCESS = "success"
ERROR = "error"


def poll_delay(attempt, first_delay, max_delay, rand=random.random):
    """Wait before poll number ``attempt`` + 1: doubling from ``first_delay``, capped, plus up to 10 % jitter."""
    delay = min(max_delay, first_delay * (2 ** attempt))
    return delay + rand() * delay * 0.1


def fault_message(error):
    """Readable text of a task's fault: its localized message, else its type name."""
    if error is None:
        return "unknown error"
    message = getattr(error, "localizedMessage", None) or getattr(error, "msg", None)
    name = getattr(error, "_wsdlName", None) or type(error).__name__
    return "%s (%s)" % (message, name) if message else name


def _describe(info):
    what = info.descriptionId or "task"
    if info.entityName:
        what += " on '%s'" % info.entityName
    return "vSphere task %s (%s)" % (info.key, what)


def wait_for_task(task, timeout=3600, progress=None, first_delay=0.1, max_delay=16.0, sleep=time.sleep,
                  clock=time.monotonic):
    """Wait until ``task`` ends and return its result.

    ``progress(info)`` is called with the ``TaskInfo`` after every read. A failed task raises ``TaskFailed`` with the
    fault's localized message; a task still running after ``timeout`` seconds raises ``WaitTimeout`` (the task goes
    on in vCenter).
    """
    deadline = clock() + timeout
    attempt = 0
    while True:
        info = task.info
        if progress is not None:
            progress(info)
        if info.state == SUCCESS:
            return info.result
        if info.state == ERROR:
            raise TaskFailed("%s failed: %s" % (_describe(info), fault_message(info.error)),
                             task=info.key, entity=info.entityName, fault=fault_message(info.error))
        remaining = deadline - clock()
        if remaining <= 0:
            percent = " at %s%%" % info.progress if info.progress is not None else ""
            raise WaitTimeout("%s is still %s%s after %s s; it goes on in vCenter"
                              % (_describe(info), info.state, percent, timeout),
                              task=info.key, state=str(info.state), progress=info.progress)
        sleep(min(poll_delay(attempt, first_delay, max_delay), remaining))
        attempt += 1
