# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""On-demand ("ad hoc") backup of selected VMs with one SLA policy (spp-api.md sections 5.3 and 14.3).

Considered private: only this collection may import it. Every function takes an ``SppClient`` first.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ApiError
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


def start_adhoc_backup(client, sla_name, vm_objects):
    """Back up ``vm_objects`` (SPP VM objects of a listing) now with SLA ``sla_name``; return the job session id.

    SLA ``sla_name`` must be one of each VM's policies. The POST is sent once: it starts a backup, so a lost answer
    raises ``AmbiguousResult`` (the backup may be running; look at the job's sessions) rather than being replayed. A
    429 or 503 answer, which proves the server did not act, may still be retried by the client. A 409 (``Conflict``)
    means the SLA's job is already running.

    The session id is ``response.sessionId`` (section 14.3); a server that leaves it out is asked for the job's
    running session instead.
    """
    names = ", ".join(str(vm.get("name")) for vm in vm_objects)
    job_name = spp_answers.sla_job_name(sla_name)
    answer = client.ngp(
        "POST", HYPERVISOR_PATH, params={"action": "adhoc"}, json=adhoc_payload(sla_name, vm_objects), retry=False,
        lost_answer_hint="the server may have started the backup of %s with SLA '%s'; look at the sessions of job "
                         "'%s' in SPP before running it again" % (names, sla_name, job_name))
    answer = answer if isinstance(answer, dict) else {}
    session_id = answer.get("sessionId") or nested_get(answer, "lastrun", "sessionId")
    if session_id:
        client.log("started an ad hoc backup of %s with SLA '%s': job session %s" % (names, sla_name, session_id))
        return str(session_id)
    job = spp_jobs.find_job(client, answer.get("name") or job_name)
    session = spp_jobs.running_session(client, job)
    session_id = (session or {}).get("id") or spp_answers.last_session_id(job)
    if not session_id:
        raise ApiError(None, description="SPP accepted the ad hoc backup of %s with SLA '%s' but named no job session, "
                                         "and job '%s' shows none; look at its sessions in SPP" % (names, sla_name, job_name))
    client.log("started an ad hoc backup of %s with SLA '%s': job session %s" % (names, sla_name, session_id))
    return str(session_id)
