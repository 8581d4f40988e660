# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures and console objects of the Cloud Temple seam tests (test_cloudtemple_*.py import them): the scripted
console of ``ct_fake_server`` on loopback, a client on a fake clock, and helpers that script routes by query."""

from __future__ import annotations

import pytest

from ct_fake_server import Reply, activity, write_reply

BACKUP = "/api/backup/v1/spp"
COMPUTE = "/api/compute/v1/vcenters"
ACTIVITIES = "/api/activity/v1/activities/"

VC_UUID = "5021f3c2-0000-4000-8000-00000000vc01"
MM_ID = "mm-1"


@pytest.fixture
def client(console, make_ct):
    """A ``CloudTempleClient`` for the scripted console (``make_ct``, tests/unit/conftest.py)."""
    return make_ct(console)


def by_query(name, answers, default=None):
    """An answer that depends on one query value: ``answers[value]`` (a ``Reply``), else ``default`` (404)."""
    def answer(request):
        value = request.query.get(name)
        return answers.get(value, default or Reply(404, "no such %s %s" % (name, value)))
    return answer


def route_activity(console, activity_id, *states, description="Test activity"):
    """Script an activity's successive states: ``("running", {"progression": 0.5})``, ``("completed", {})`` ..."""
    console.route("GET", ACTIVITIES + activity_id,
                  *[Reply(200, activity(activity_id, name, description=description, **body)) for name, body in states])


def route_write(console, method, path, *activity_ids):
    """Script a write route whose successive calls answer the given activity ids."""
    console.route(method, path, *[write_reply(activity_id) for activity_id in activity_ids])


def compute_vm(vm_id, name, moref, power="running", manager=MM_ID, **extra):
    """A compute VM in the v1.10.0 (nested) shape (docs/cloudtemple-api.md 12.2)."""
    vm = {"id": vm_id, "name": name, "moref": moref, "powerState": power, "template": False, "snapshoted": False,
          "machineManager": {"id": manager, "name": "vc-" + manager}, "datacenter": {"id": "dc-1", "name": "DC-TH3S"},
          "hostCluster": {"id": "hc-1", "name": "clu-1"}}
    vm.update(extra)
    return vm


def compute_disk(disk_id, vm_id, name, mode="persistent", key="2000"):
    return {"id": disk_id, "name": name, "virtualMachineId": vm_id, "capacity": 1073741824, "nativeId": key,
            "diskMode": mode, "datastore": {"id": "ds-1", "name": "DS1"}}


def backup_vm(vm_id, name, moref, policies=()):
    """The backup service's record of a VM (8.1)."""
    return {"id": vm_id, "name": name, "moref": moref, "internalId": "1001", "storageProfiles": list(policies)}


def policy(policy_id, name, site="Primary"):
    """A console SLA policy (6.3)."""
    return {"id": policy_id, "name": name, "subPolicies": [
        {"type": "REPLICATION", "useEncryption": False, "software": True, "site": site, "retention": {"age": 30},
         "trigger": {"frequency": 1, "type": "DAILY", "activateDate": 1591002000000}, "target": None}]}


def session(session_id, job_id, status, start, policy_name=None, kind="backup"):
    """A console job session (10.3)."""
    return {"id": session_id, "jobName": "vmware_x", "jobId": job_id, "type": kind, "duration": 10, "start": start,
            "end": start + 10 if status != "RUNNING" else 0, "status": status,
            "statistics": {"total": 2, "success": 2, "failed": 0, "skipped": 0},
            "slaPolicies": [{"id": "p", "name": policy_name, "href": "h"}] if policy_name else []}
