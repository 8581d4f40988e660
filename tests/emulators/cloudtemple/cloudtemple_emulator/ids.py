"""The console's ids (docs/cloudtemple-api.md 2.3: UUIDs), derived from vCenter and SPP ids so that they are stable
across restarts and never stored.

Fixed by the lead's plan (.build/helper-context-15.md): a VM's id is its vCenter ``config.instanceUuid``; a disk's is
uuid5 of "<vm instanceUuid>/disk/<device key>"; a policy's uuid5 of "spp-sla/<SPP SLA id>"; a job's uuid5 of
"spp-job/<SPP job id>". The others are the emulator's choice, in the same style (README, "Ids").
"""

from __future__ import annotations

import datetime
import time
import uuid


def _uuid5(name: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def disk_id(vm_instance_uuid: str, device_key: int) -> str:
    return _uuid5(f"{vm_instance_uuid}/disk/{device_key}")


def of_spp(kind: str, spp_id: str) -> str:
    """The console id of an SPP object: uuid5 of "spp-<kind>/<SPP id>" (kind: sla, job, session, site, hypervisor,
    or server with the SPP URL as its id)."""
    return _uuid5(f"spp-{kind}/{spp_id}")


def policy_id(sla_id: str) -> str:
    return of_spp("sla", sla_id)


def job_id(spp_job_id: str) -> str:
    return of_spp("job", spp_job_id)


def compute_id(vcenter_uuid: str, moref: str) -> str:
    """Datacenters, hosts, clusters, datastores, networks, folders: uuid5 of "<vCenter instanceUuid>/<moref>"."""
    return _uuid5(f"{vcenter_uuid}/{moref}")


def snapshot_id(vm_instance_uuid: str, snapshot_moref: str) -> str:
    return _uuid5(f"{vm_instance_uuid}/snapshot/{snapshot_moref}")


def tenant_ids(client_id: str) -> tuple[str, str, str]:
    """(tenant, user, company) of the one personal access token the emulator accepts (docs 3.1: a PAT is bound to
    one tenant and one user)."""
    return _uuid5(f"tenant/{client_id}"), _uuid5(f"user/{client_id}"), _uuid5(f"company/{client_id}")


def new_activity_id() -> str:
    return str(uuid.uuid4())


def iso_now() -> str:
    """ISO-8601 UTC with milliseconds, as activity dates are (docs 2.3: "2022-12-19T07:14:33.127Z")."""
    return iso_time(time.time())


def iso_time(epoch_seconds: float) -> str:
    moment = datetime.datetime.fromtimestamp(epoch_seconds, datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"
