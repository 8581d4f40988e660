# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""How to read the answers of the SPP REST API: statuses, links, recovery points, restore sessions. Pure.

Considered private: only this collection may import it. Nothing here talks to a server: these functions read the
dicts that ``spp/_client.py`` and the resource modules (``jobs``, ``versions``, ``restore`` ...) return, so that the
pure planners may use them without importing a client (see docs/architecture.md).
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import NotFound


def nested_get(data, *keys):
    """``data[k1][k2]...`` or None when any level is missing or not a dict."""
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


# spp-api.md section 5.5; CANCELLED is normalised to CANCELED by ``session_status``.
TERMINAL_STATUSES = frozenset(("COMPLETED", "PARTIAL", "FAILED", "CANCELED", "ABORTED", "STOPPED"))
SUCCESS_STATUSES = frozenset(("COMPLETED", "PARTIAL"))
# A test restore parks its session here while the test VM exists (section 14.9): settled, not finished.
RESOURCE_ACTIVE = "RESOURCE ACTIVE"
ACTIVE_STATUSES = frozenset(("PENDING", "RUNNING", "WAITING", "CANCELING"))
# Job sessions of backups have this type (other types: restores, inventory, maintenance).
BACKUP_SESSION_TYPE = "protection"
SLA_JOB_PREFIX = "vmware_"  # the backup job of an SLA policy is named vmware_<SLA name> (spp-api.md section 14.7)
# The module's mode -> SPP's option.mode (section 7.2: production is "recovery" in the API).
API_MODES = {"test": "test", "clone": "clone", "production": "recovery"}
# Default name suffixes of the restored VM (section 14.10); production keeps the original name.
DEFAULT_SUFFIXES = {"test": "_TEST", "clone": "_CLONE"}
# serviceId of restore job sessions: SPP's, and the ECX spelling that some builds still report (section 7.5).
RESTORE_SERVICE_IDS = ("serviceprovider.recovery.hypervisor", "com.catalogic.ecx.serviceprovider.recovery.hypervisor")
# A test restore is active while its job session is PENDING *with* these action links (spp-api.md 14.9): SPP's UI lists
# active clones and test restores as restore sessions in status PENDING (UI ``clone-table.component.ts``: filters
# ``serviceId IN [...]`` and ``status = PENDING``), as IBM's vSphere plugin does (``com/ibm/spp/domain/SppUrls.java``,
# ``sppJobSessionUrl``); the actions are the session's links (UI ``job-session.model.ts``,
# ``getActionLinksExceptExpire``). Link names: ``end_iv`` (clean up; ECX ancestor), ``cleanup`` (the same, as SPP may
# name it: an inference of section 14.9), ``rrp`` (move to production) and ``clone`` (keep as a clone).
TEST_ACTIVE_STATUS = "PENDING"
TEST_ACTION_LINKS = {"cleanup": ("end_iv", "cleanup"), "rrp": ("rrp",), "clone": ("clone",)}


def find_by_name(items, name, what, limit=None):
    """The item of a listing (jobs, SLA policies ...) named ``name``.

    Otherwise ``NotFound``: "SPP has no <what> named '<name>' (known: ...)", with the known names sorted, the first
    ``limit`` of them when given.
    """
    for item in items:
        if item.get("name") == name:
            return item
    names = sorted(str(item.get("name")) for item in items)
    known = ", ".join(names[:limit] if limit else names) or "none"
    if limit and len(names) > limit:
        known += ", ..."
    raise NotFound(None, description="SPP has no %s named '%s' (known: %s)" % (what, name, known))


def session_status(session):
    """Upper-case status of a session or job, with the spelling variants folded (``CANCELLED``, ``RESOURCE_ACTIVE``)."""
    status = str((session or {}).get("status") or "").strip().upper().replace("_", " ")
    return "CANCELED" if status == "CANCELLED" else status


def is_settled(status, settle_on_resource_active=False):
    """Whether a wait for a session with this status is over."""
    return status in TERMINAL_STATUSES or (settle_on_resource_active and status == RESOURCE_ACTIVE)


def link_href(obj, name):
    return nested_get(obj, "links", name, "href")


def sla_job_name(sla_name):
    """Name of the backup job of an SLA policy, e.g. ``vmware_Gold``."""
    return SLA_JOB_PREFIX + sla_name


def last_session_id(job):
    session_id = nested_get(job, "lastrun", "sessionId")
    return str(session_id) if session_id else None


def describe_session(session, session_id=None, service="SPP"):
    """One line for logs and messages, e.g. ``SPP job session 1577 (job 'vmware_Gold') is RUNNING at 40%``
    (``service``: who runs the job, as the line names it)."""
    session_id = session_id if session_id is not None else session.get("id")
    status = session_status(session) or "in an unknown state"
    percent = session.get("percent")
    job = session.get("jobName") or session.get("name")
    text = "%s job session %s%s is %s" % (service, session_id, " (job '%s')" % job if job else "", status)
    if percent is not None:
        text += " at %s%%" % percent
    return text


# Where a job's held state is read, in order (spp-api.md 5.7 and 14.7). ``status`` HELD on the job is the decision of
# section 14.7; the public record documents HELD only as a *session* status (5.5), so a job that reports no ``status``
# at all is read through the status of its last run instead. That fallback is an inference, not a documented field.
HELD_FIELDS = (("status",), ("lastSessionStatus",), ("lastrun", "status"))


def held_state(job):
    """``(held, field)``: whether a job's schedule is held, and the field of the job that said so (e.g. ``status``).

    The first field of ``HELD_FIELDS`` that the job carries decides; ``field`` is None when it carries none.
    """
    for path in HELD_FIELDS:
        value = nested_get(job, *path)
        if value:
            return session_status({"status": value}) == "HELD", ".".join(path)
    return False, None


def held_job_names(jobs):
    """Names of the jobs whose schedule is held; an SLA whose job is held counts as held (spp-api.md 14.7)."""
    return {job.get("name") for job in jobs if held_state(job)[0]}


def link_names(obj):
    """The names of an object's ``links``, sorted (for messages that say what a job or session does offer)."""
    links = (obj or {}).get("links")
    return sorted(links) if isinstance(links, dict) else []


def start_actionname(schema):
    """The ``actionname`` to send when starting a job, from the answer of its ``links.start.schema``; None if none.

    IBM's client sends the first workflow's ``value`` (``spplib/sdk/client.py``, ``JobAPI.run``: ``reqdata["actionname"]
    = workflows[0]['value']``, from ``schema['parameter']['actionname']['values']``). With several workflows IBM's
    client wants the caller to choose; this collection takes the first, as spp-api.md 14.14 decides.
    """
    workflows = nested_get(schema, "parameter", "actionname", "values") or []
    for workflow in workflows:
        if isinstance(workflow, dict) and workflow.get("value"):
            return str(workflow["value"])
    return None


def started_since(session, since_ms):
    """Whether a job session started at or after ``since_ms`` (epoch ms); a session without ``start`` did not."""
    try:
        return int(session.get("start") or 0) >= int(since_ms)
    except (TypeError, ValueError):
        return False


def last_protection_time(vm):
    """Epoch ms of the VM's newest recovery point, from the VM object of a listing; None if never backed up.

    Only a convenience: the public record shows ``protectionInfo: {}`` on VM listings (spp-api.md 2.2 and 14.15), so
    ``spp/listing.py`` ``last_backups`` falls back on the VM's ``latestversion`` when this is None.
    """
    value = nested_get(vm, "protectionInfo", "protectionTime")
    return int(value) if value else None


def protection_policy(vm_or_version):
    """The SLA policy name of a recovery point (``protectionInfo.storageProfileName``), or None."""
    return nested_get(vm_or_version, "protectionInfo", "storageProfileName") or None


def protection_time(version):
    return int(nested_get(version, "protectionInfo", "protectionTime") or 0)


def choose_version(versions, point="latest"):
    """Pick a recovery point from ``list_versions``: ``latest``, a version id, or ``{"before": epoch_ms}``. Pure.

    ``NotFound`` says what exists, so the user can pick another.
    """
    if not versions:
        raise NotFound(None, description="the VM has no recovery point yet; run a backup first")
    if point in (None, "latest"):
        return versions[0]
    if isinstance(point, dict) and "before" in point:
        limit = int(point["before"])
        for version in versions:  # newest first
            if protection_time(version) < limit:
                return version
        raise NotFound(None, description="no recovery point before %s (oldest: %s)"
                                         % (limit, protection_time(versions[-1])))
    for version in versions:
        if str(version.get("id")) == str(point):
            return version
    known = ", ".join("%s (%s)" % (v.get("id"), protection_time(v)) for v in versions[:10])
    raise NotFound(None, description="no recovery point %s; the newest are: %s" % (point, known))


def choose_copy(version, kind=None):
    """The copy of a version to restore from: by ``subPolicyType`` (``BACKUP``, ``REPLICATION``, ``SPPOFFLOAD``). Pure.

    Without ``kind``, the server picks (None is returned); with it, a missing kind is an error listing the others.
    """
    if kind is None:
        return None
    copies = version.get("copies") or []
    wanted = {"backup": "BACKUP", "replication": "REPLICATION", "offload": "SPPOFFLOAD"}.get(kind, kind)
    for copy in copies:
        if nested_get(copy, "protectionInfo", "subPolicyType") == wanted:
            return copy
    kinds = sorted({str(nested_get(c, "protectionInfo", "subPolicyType")) for c in copies}) or ["none"]
    raise NotFound(None, description="recovery point %s has no %s copy (copies: %s)"
                                     % (version.get("id"), kind, ", ".join(kinds)))


def default_copy(version):
    """The copy a restore pins when the task names no copy kind: the ``BACKUP`` copy (vSnap at the primary site, as
    IBM ``samples/vmware_restore.py`` defaults to ``--repo=backup``), else the first one; None without copies."""
    copies = [copy for copy in version.get("copies") or [] if isinstance(copy, dict)]
    backup = [copy for copy in copies if nested_get(copy, "protectionInfo", "subPolicyType") == "BACKUP"]
    return (backup or copies or [None])[0]


def default_name(mode, source_name, name=None):
    """Name of the VM a restore creates: ``name``, else ``<source>_TEST`` / ``<source>_CLONE``; production keeps it."""
    if mode == "production":
        return source_name
    return name or "%s%s" % (source_name, DEFAULT_SUFFIXES[mode])


def is_restore_session(session):
    """Whether a job session is an on-demand VM restore: by ``serviceId`` (UI ``clone-table.component.ts``), or by its
    job name ``onDemandRestore_<ms>`` (IBM ``samples/vmware_restore.py``)."""
    if session.get("serviceId") in RESTORE_SERVICE_IDS:
        return True
    return str(session.get("jobName") or session.get("name") or "").startswith("onDemandRestore")


def test_action_links(session):
    """The test-restore action links a session offers (``end_iv``, ``cleanup``, ``rrp``, ``clone``), sorted."""
    names = {name for names in TEST_ACTION_LINKS.values() for name in names}
    return sorted(name for name in (nested_get(session, "links") or {}) if name in names and link_href(session, name))


def is_test_active(session):
    """Whether a restore session holds an active test restore: PENDING *with* action links (spp-api.md 14.9).

    A PENDING session without them has not started yet.
    """
    return session_status(session) == TEST_ACTIVE_STATUS and bool(test_action_links(session))


def restore_phase(session):
    """Where a restore session is: ``running`` (not started or running), ``test-active`` (settled, holding a test
    restore), ``succeeded`` (COMPLETED or PARTIAL) or ``failed`` (any other end)."""
    if is_test_active(session):
        return "test-active"
    status = session_status(session)
    if status in SUCCESS_STATUSES:
        return "succeeded"
    return "failed" if status in TERMINAL_STATUSES else "running"


def test_action_link(session, action):
    """``(link name, href)`` of a test-restore action (``cleanup``, ``rrp``, ``clone``) on a session, or None.

    Clean-up is ``end_iv`` or ``cleanup``, whichever the session offers (spp-api.md 14.9).
    """
    for name in TEST_ACTION_LINKS[action]:
        href = link_href(session, name)
        if href:
            return name, href
    return None


def is_backup_session(session):
    """Whether a job session is a backup (by type, or by service for builds that leave the type out)."""
    return str(session.get("type") or "").lower() == BACKUP_SESSION_TYPE or \
        "protection" in str(session.get("serviceId") or "")
