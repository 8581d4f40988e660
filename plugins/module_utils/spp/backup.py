# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On-demand ("ad hoc") backup of selected VMs with one SLA policy (spp-api.md sections 5.3 and 14.3).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first.

The payload is IBM's (``samples/vmwareadhocbackup.py``: ``resource`` = the VMs' ``links.self.href``, ``subtype``
``vmware``, ``slaPolicyName`` one of the VM's ``storageProfiles``). That sample reads nothing from the answer, and the
public record shows only ``response.name`` and ``response.id`` (spp-api.md 14.3); IBM's client says that a job start
returns no session id (``spplib/sdk/client.py``, ``JobAPI.run``). So the session is found by job name among the
sessions that started at or after the POST, never through the job's ``lastrun`` (which may be an earlier run), and
``response.sessionId`` is only a shortcut for servers that send it.
"""

from __future__ import annotations

import time

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    ConnectionFailure,
    NotFound,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import wait_until
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp.answers import nested_get
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

HYPERVISOR_PATH = "/ngp/hypervisor"
SUBTYPE = "vmware"


def adhoc_payload(sla_name, vm_objects):
    """Body of ``POST /ngp/hypervisor?action=adhoc``: the SLA's name and the VMs' own hrefs. Pure."""
    hrefs = []
    for vm in vm_objects:
        href = nested_get(vm, "links", "self", "href")
        if not href:
            raise ApiError(None, description="SPP VM '%s' has no links.self.href" % vm.get("name", vm.get("id")))
        hrefs.append(href)
    return {"slaPolicyName": sla_name, "subtype": SUBTYPE, "resource": hrefs}


def _session_after(client, job_names, since_ms):
    """The first session of one of ``job_names`` that started at or after ``since_ms``, or None.

    First the sessions listed by job name; then, for a job the server knows by that name, its live sessions (the same
    condition on ``start``), in case the listing lags behind.
    """
    for name in job_names:
        found = spp_jobs.sessions_since(client, since_ms, job_name=name)
        if found:
            return found[0]
    for name in job_names:
        try:
            job = spp_jobs.find_job(client, name)
        except NotFound:
            continue
        live = [s for s in spp_jobs.live_sessions(client, job) if spp_answers.started_since(s, since_ms)]
        if live:
            return min(live, key=lambda session: int(session.get("start") or 0))
    return None


class _NotFoundInTime(Exception):
    """The time to look for the session of a POST whose answer was lost ran out."""


def _session_after_loss(client, job_names, since_ms, timeout, poll):
    """The session that an ad hoc backup whose answer was lost started, looked for during ``timeout`` s; None when
    none shows up or the sessions cannot be read (the caller then raises the ``AmbiguousResult``)."""
    try:
        return wait_until(lambda: _session_after(client, job_names, since_ms), timeout, _NotFoundInTime,
                          first_delay=min(0.5, poll), max_delay=poll)
    except _NotFoundInTime:
        return None
    except (ApiError, ConnectionFailure) as error:
        client.log("could not look for the session of the ad hoc backup whose answer was lost: %s" % error)
        return None


def start_adhoc_backup(client, sla_name, vm_objects, timeout=60, poll=0.5, clock=time.time):
    """Back up ``vm_objects`` (SPP VM objects of a listing) now with SLA ``sla_name``; return the job session id.

    SLA ``sla_name`` must be one of each VM's policies. The POST is sent once: it starts a backup, so it is never
    replayed once it may have reached the server (``spp/_retry.py``). When its answer is lost, or is a 429, 502, 503
    or 504 (which may come from a proxy after SPP acted), the session of the SLA's job that started at or after the
    POST is looked for during ``timeout`` s and followed; when none shows up, the ``AmbiguousResult`` is raised (the
    backup may still be starting; look at the job's sessions). A 409 (``Conflict``) means the SLA's job is already
    running. When the answer names no session, the session is the first one of the job (``response.name``, else
    ``vmware_<SLA>``) that started at or after the POST, looked for during ``timeout`` s.
    """
    names = ", ".join(str(vm.get("name")) for vm in vm_objects)
    job_name = spp_answers.sla_job_name(sla_name)
    # Rounded down to the second, to tolerate a server clock slightly behind ours (clocks are assumed NTP-synchronised);
    # the job cannot have started another run since, or this POST would have been refused with a 409.
    since_ms = int(clock()) * 1000
    try:
        answer = client.ngp(
            "POST", HYPERVISOR_PATH, params={"action": "adhoc"}, json=adhoc_payload(sla_name, vm_objects), retry=False,
            lost_answer_hint="the server may have started the backup of %s with SLA '%s'; look at the sessions of job "
                             "'%s' in SPP before running it again" % (names, sla_name, job_name))
    except AmbiguousResult:
        client.log("the answer to the ad hoc backup of %s was lost; looking for the session of job '%s' that it may "
                   "have started" % (names, job_name))
        session = _session_after_loss(client, [job_name], since_ms, timeout, poll)
        if session is None:
            raise
        client.log("the ad hoc backup's answer was lost, but session %s of job '%s' started since it was sent; "
                   "following it" % (session.get("id"), job_name))
        return str(session.get("id"))
    answer = answer if isinstance(answer, dict) else {}
    session_id = answer.get("sessionId")
    if not session_id:
        job_names = list(dict.fromkeys(name for name in (answer.get("name"), job_name) if name))

        def timed_out():
            return WaitTimeout(
                "SPP accepted the ad hoc backup of %s with SLA '%s', but no session of job %s started since then "
                "showed up within %s s; look at its sessions in SPP before running it again"
                % (names, sla_name, " or ".join("'%s'" % name for name in job_names), timeout), job=job_name)

        session = wait_until(lambda: _session_after(client, job_names, since_ms), timeout, timed_out,
                             first_delay=min(0.5, poll), max_delay=poll)
        session_id = session.get("id")
    client.log("started an ad hoc backup of %s with SLA '%s': job session %s" % (names, sla_name, session_id))
    return str(session_id)
