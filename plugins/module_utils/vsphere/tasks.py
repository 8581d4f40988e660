# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Waiting for vSphere tasks; a task that ends in a vSphere fault raises that fault's typed error.

Considered private: only this collection may import it.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import TaskFailed, WaitTimeout
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere._client import fault_error, vmodl

SUCCESS = "success"
ERROR = "error"


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


def task_error(info):
    """The error of a task that ended in ``info.error``: the typed error of ``_client.fault_error`` (a
    ``VsphereFault``, a ``PermissionDenied`` ..., all of them ``TaskFailed``) with the task's description first."""
    failed = "%s failed" % _describe(info)
    if vmodl is not None and isinstance(info.error, vmodl.MethodFault):
        error = fault_error(info.error, info.descriptionId, getattr(info, "entity", None), name=info.entityName,
                            prefix=failed, passthrough=False)
        error.details.update(task=info.key, entity=info.entityName)
        return error
    return TaskFailed("%s: %s" % (failed, fault_message(info.error)), task=info.key, entity=info.entityName,
                      fault=fault_message(info.error))


def wait_for_task(task, timeout=3600, progress=None, first_delay=0.1, max_delay=16.0, sleep=time.sleep,
                  clock=time.monotonic, deadline=None):
    """Wait until ``task`` ends and return its result (through ``_wait.wait_until``).

    ``progress(info)`` is called with the ``TaskInfo`` after every read. A failed task raises ``task_error``: a
    ``TaskFailed`` that names the fault, and for a vSphere fault its typed kind with a fix; a task still running after
    ``timeout`` seconds (or at ``deadline``) raises ``WaitTimeout`` (the task goes on in vCenter).
    """
    last = {}

    def check():
        info = last["info"] = task.info
        if progress is not None:
            progress(info)
        if info.state == SUCCESS:
            return {"result": info.result}
        if info.state == ERROR:
            raise task_error(info)
        return None

    def timed_out():
        info = last["info"]
        percent = " at %s%%" % info.progress if info.progress is not None else ""
        return WaitTimeout("%s is still %s%s after %s s; it goes on in vCenter"
                           % (_describe(info), info.state, percent, timeout),
                           task=info.key, state=str(info.state), progress=info.progress)

    return wait_until(check, timeout, timed_out, first_delay=first_delay, max_delay=max_delay, deadline=deadline,
                      sleep=sleep, clock=clock)["result"]
