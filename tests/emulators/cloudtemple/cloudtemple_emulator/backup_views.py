"""SPP's objects in the console's shapes (docs/cloudtemple-api.md 6.3, 8, 9, 10): camelCase keys, console UUIDs
(ids.py), bare lists. Pure functions of SPP's answers; the keys of read objects are inferred (16, inferred 1)."""

from __future__ import annotations

from . import ids

# SPP job type -> the console's (10.1: only "catalog" is seen; the others are inferred).
JOB_TYPES = {"catalog": "catalog", "protection": "backup", "maintenance": "maintenance", "recovery": "restore"}


def backup_site(sla: dict) -> str | None:
    """The site of an SLA's backup subpolicy (REPLICATION with software true, as the SPP emulator's Sla.backup_site
    reads it); None when the SLA names none."""
    subpolicies = (sla.get("spec") or {}).get("subpolicy") or []
    for subpolicy in subpolicies:
        if subpolicy.get("type") == "REPLICATION" and subpolicy.get("software", True) and subpolicy.get("site"):
            return str(subpolicy["site"])
    return next((str(sub["site"]) for sub in subpolicies if sub.get("site")), None)


def policy(sla: dict) -> dict:
    """6.3: SPP's spec.subpolicy, renamed."""
    return {
        "id": ids.policy_id(sla["id"]),
        "name": sla["name"],
        "subPolicies": [_sub_policy(sub) for sub in (sla.get("spec") or {}).get("subpolicy") or []],
    }


def _sub_policy(sub: dict) -> dict:
    trigger = sub.get("trigger") or {}
    return {
        "type": sub.get("type"),
        "useEncryption": bool(sub.get("useEncryption", False)),
        "software": bool(sub.get("software", True)),
        "site": sub.get("site"),
        "retention": {"age": (sub.get("retention") or {}).get("age")},
        "trigger": {
            "frequency": trigger.get("frequency"),
            "type": trigger.get("type"),
            "activateDate": trigger.get("activateDate"),
        },
        "target": dict(sub["target"]) if isinstance(sub.get("target"), dict) else None,
    }


def job(spp_job: dict) -> dict:
    """10.1: {id, name, displayName, type, status, policyId}; status is SPP's (IDLE, RUNNING, HELD)."""
    return {
        "id": ids.job_id(spp_job["id"]),
        "name": spp_job["name"],
        "displayName": spp_job.get("displayName") or spp_job["name"],
        "type": JOB_TYPES.get(spp_job.get("type"), spp_job.get("type")),
        "status": spp_job.get("status"),
        "policyId": ids.policy_id(spp_job["policyId"]) if spp_job.get("policyId") else None,
    }


def session(spp_session: dict, slas_by_name: dict[str, dict], base_url: str) -> dict:
    """10.3: the session list item; statistics are SPP's VM counts."""
    statistics = next(
        (item for item in (spp_session.get("properties") or {}).get("statistics") or []
         if item.get("resourceType") == "vm"),
        {},
    )
    sla = slas_by_name.get(spp_session.get("policyName") or "")
    return {
        "id": ids.of_spp("session", spp_session["id"]),
        "jobName": spp_session.get("jobName"),
        "slaPolicyType": spp_session.get("subPolicyType") or "",
        "jobId": ids.job_id(spp_session["jobId"]),
        "type": JOB_TYPES.get(spp_session.get("type"), spp_session.get("type")),
        "duration": spp_session.get("duration") or 0,
        "start": spp_session.get("start") or 0,
        "end": spp_session.get("end") or 0,
        "status": spp_session.get("status"),
        "statistics": {key: int(statistics.get(key) or 0) for key in ("total", "success", "failed", "skipped")},
        "slaPolicies": [
            {"id": ids.policy_id(sla["id"]), "name": sla["name"],
             "href": f"{base_url}/api/backup/v1/spp/policies/{ids.policy_id(sla['id'])}"}
        ] if sla else [],
    }


def backup_vm(instance_uuid: str, spp_vm: dict, vdisks: list[dict], vcenter_id: str) -> dict:
    """8.1: SPP's VM as the backup service knows it, under its compute id."""
    return {
        "id": instance_uuid,
        "name": spp_vm["name"],
        "moref": ((spp_vm.get("nativeObject") or {}).get("mor") or {}).get("val"),
        "internalId": spp_vm["id"],
        "internalVCenterId": int(spp_vm.get("hypervisorKey") or 0),
        "vCenterId": vcenter_id,
        "href": spp_vm["links"]["self"]["href"],
        "metadataPath": spp_vm.get("metadataPath"),
        "storageProfiles": list(spp_vm.get("storageProfiles") or []),
        "datacenterName": (spp_vm.get("datacenter") or {}).get("name"),
        "volumes": _volumes(vdisks),
    }


def _volumes(vdisks: list[dict]) -> list[dict]:
    """The datastores of the VM's disks: {name, key, size (bytes on it), configVolume (the first disk's)};
    inferred, SPP's vdisks name only their datastore."""
    volumes: dict[str, dict] = {}
    for disk in sorted(vdisks, key=lambda item: item.get("key") or 0):
        name = (disk.get("datastore") or {}).get("name")
        if not name:
            continue
        volume = volumes.setdefault(name, {"name": name, "key": name, "size": 0, "configVolume": not volumes})
        volume["size"] += int(disk.get("size") or 0)
    return list(volumes.values())


def backup_disk(disk_id: str, spp_vdisk: dict, instance_uuid: str, vcenter_uuid: str, server_id: str) -> dict:
    """8.2; ``instanceId`` is the vCenter's instance UUID (inferred)."""
    return {
        "id": disk_id,
        "name": spp_vdisk.get("name"),
        "internalId": spp_vdisk["id"],
        "instanceId": vcenter_uuid,
        "sppServerId": server_id,
        "virtualMachineId": instance_uuid,
    }


def site(spp_site: dict) -> dict:
    return {"id": ids.of_spp("site", spp_site["id"]), "name": spp_site["name"]}


def backup_vcenter(hypervisor: dict, server_id: str) -> dict:
    """8.3; ``instanceId`` is the vCenter's instance UUID, the compute machine manager's ``instanceUuid`` (16.8)."""
    return {
        "id": ids.of_spp("hypervisor", hypervisor["id"]),
        "internalId": int(hypervisor["id"]),
        "instanceId": hypervisor.get("uniqueId"),
        "sppServerId": server_id,
        "name": hypervisor.get("name"),
    }


def spp_server(server_id: str, host: str) -> dict:
    return {"id": server_id, "name": f"spp-{host}", "address": host}
