# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Typed errors raised by the clients and services of this collection.

Considered private: only this collection may import it. Library code raises these; each module turns
them into ``fail_json`` exactly once (see ``_module.run``).
"""

from __future__ import annotations


class VmBackupError(Exception):
    """Base of every error this collection raises on purpose."""

    def __init__(self, message, **details):
        super().__init__(message)
        self.message = message
        self.details = details

    def to_result(self):
        """Extra keys for ``fail_json``; never carries credentials."""
        return dict(self.details)


class MissingLibraryError(VmBackupError):
    """A Python library the collection needs is not installed on the host running the module."""


class ConfigurationError(VmBackupError):
    """A connection option is missing or unusable; the message names the option and its environment variable."""


class ConnectionFailure(VmBackupError):
    """The server could not be reached: DNS, refused connection, TLS verification, timeout."""


class AuthenticationError(VmBackupError):
    """The server rejected the credentials."""


class ApiError(VmBackupError):
    """The server answered with an error status. ``status``, ``error_id`` and ``description`` come from the body.

    ``status`` is None when the error comes from a lookup rather than from one HTTP answer (e.g. no job has the
    requested name); the message is then the description alone.
    """

    def __init__(self, status, error_id=None, description=None, method=None, url=None):
        self.status = status
        self.error_id = error_id
        self.description = description
        self.method = method
        self.url = url
        if status is None:
            text = description or "request failed"
        else:
            where = "%s %s" % (method, url) if method and url else (url or "request")
            text = "%s failed with HTTP %s" % (where, status)
            if error_id:
                text += " (%s)" % error_id
            if description:
                text += ": %s" % description
        super().__init__(text, status=status, error_id=error_id, description=description)


class NotFound(ApiError):
    """HTTP 404: the object does not exist (any more)."""


class Conflict(ApiError):
    """HTTP 409: e.g. the job is already running, or the SLA policy is still assigned."""


class BadRequest(ApiError):
    """HTTP 400: the server refused the request body."""


class ServerBusy(ApiError):
    """HTTP 429 or 5xx that persisted after the retries allowed for the call."""


class AmbiguousResult(VmBackupError):
    """A non-retryable request was sent but its answer was lost: it may or may not have taken effect."""


class RuleViolation(VmBackupError):
    """The requested change breaks one or more SecNumCloud rules; nothing was changed.

    ``violations`` is a list of dicts with at least ``rule``, ``vm`` and ``fix``. ``outcome`` completes the first
    line, for actions that are not changes (``no backup was started``).
    """

    def __init__(self, violations, outcome="nothing was changed"):
        self.violations = list(violations)
        lines = ["%d rule violation(s); %s:" % (len(self.violations), outcome)]
        for item in self.violations:
            target = item.get("vm", "?")
            if item.get("disk"):
                target = "%s / %s" % (target, item["disk"])
            lines.append("- [%s] %s: %s Fix: %s" % (item.get("rule"), target, item.get("reason", ""), item.get("fix", "")))
        super().__init__("\n".join(lines), violations=self.violations)


class WaitTimeout(VmBackupError):
    """A bounded wait ran out. The operation may still be running; details say what to follow."""


class TaskFailed(VmBackupError):
    """A vSphere task or an SPP job session ended in failure."""


class VsphereFault(TaskFailed):
    """vCenter answered a call, or ended a task, with a vSphere fault (``vsphere/_client.fault_error``). The message
    names the call, the object, the fault and a fix; ``details``: ``fault``, ``method``, ``object`` and, for some
    faults, more (``privilege``, ``state``)."""


class PermissionDenied(VsphereFault):
    """The vCenter user lacks a privilege on an object (``vim.fault.NoPermission``). The message names the object, the
    privilege vCenter asked for and how to grant it; ``details`` add ``privilege``."""


class JobAlreadyRunning(VmBackupError):
    """The SPP job that would run is already running, and the task asked not to wait for it (``if_running: fail``)."""


class InvalidRequest(VmBackupError):
    """The task's own options are inconsistent or name something that does not exist; nothing was changed."""


class PolicyInUse(VmBackupError):
    """An SLA policy cannot be deleted while VMs or disks still hold it."""

    def __init__(self, policy, vms, disks):
        holders = ["VM %s" % vm for vm in vms] + ["disk %s" % disk for disk in disks]
        super().__init__(
            "SLA policy %s is still assigned to %d resource(s): %s. Remove it from them first (vm_backup_policy with "
            "state: absent), then delete the policy." % (policy, len(holders), ", ".join(holders)),
            vms=list(vms), disks=list(disks))


class PartialApply(VmBackupError):
    """A write failed after earlier writes of the same run succeeded. Re-running converges from the server's state."""

    def __init__(self, done, total, cause):
        super().__init__(
            "%d of %d write call(s) were applied before this failure: %s. The server is consistent for each call; "
            "run the task again to converge the rest (the plan is recomputed from the server's state)."
            % (done, total, str(getattr(cause, "message", cause)).rstrip(".")), applied_calls=done, total_calls=total)


class Unsupported(VmBackupError):
    """The backup service (or VM inventory) behind the seam does not offer what the task asks for. Raised by
    ``seams``' ``require`` before any call to that service, so nothing was changed. The message is "<operation> is not
    offered by <service>: <why>"; ``details``: ``operation``, ``service`` and what the seam adds (``capability``)."""

    def __init__(self, operation, service, why, **details):
        super().__init__("%s is not offered by %s: %s" % (operation, service, str(why).rstrip(".") + "."),
                         operation=operation, service=service, **details)


class ConcurrentChange(VmBackupError):
    """Another writer changed what this task read or wrote (SPP's writes replace whole values and take no condition):
    either nothing was written, or this task's change was overwritten. The message names the resources or the policy,
    what was written and what is there now; a re-run converges. ``details``: ``conflicts`` and ``changed``."""
