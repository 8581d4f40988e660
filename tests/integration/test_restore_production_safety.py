# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restores you can trust with production (issue 13): the three reproductions, as a new user ran them.

1. A typo in a production restore that keeps the current VM (``cluster: NoSuchCluster``) fails in check mode and in
   the real run, and production keeps its name, identity and power state: nothing is renamed ``_OLD``.
2. A promotion (``state: promoted``) needs ``overwrite: true`` like a production restore; without it, nothing changes.
3. The same production restore task restores once per request: a re-run after newer backups changes nothing, a new
   ``restore_id`` restores again; the role ``restore_production`` does the same.

Each case restores a VM of its own (a clone of DC0_H0_VM0, protected and backed up by the test). End states are read
through vCenter with plain pyVmomi and through the emulator's admin API (``/state``, request counters), never through
the collection's readers nor from the module's answer alone. Every VM a test creates is destroyed at the end.
"""

from __future__ import annotations


import pytest

import vcenter
from helpers import back_up, protected_clone, recap, vm_names_like

pytestmark = pytest.mark.integration
MARKER_FIELD = "sovereign.vm_backup.restore"
HYPERVISOR_POST = "POST /ngp/hypervisor"  # restores, and every other hypervisor action (applySLAPolicies, adhoc)
POLICIES = ["Gold", "Silver"]


# -- preparation --------------------------------------------------------------------------------------------------

@pytest.fixture
def source(fresh_lab):
    """A powered-on VM of the test's own, known to the backup server, protected by Gold and Silver and backed up once
    with Gold."""
    with protected_clone(fresh_lab, "ps", POLICIES) as name:
        yield name


# -- runs and end-state readers (pyVmomi and the emulator's admin API) --------------------------------------------

def run_restore(lab, module_args, check=False):
    """Run vm_restore once, whatever its outcome; return (rc, result)."""
    rc, output, result = lab.playbook("vm_restore", {"module_args": module_args}, check=check, diff=True,
                                      expect_rc=None)
    assert result is not None, output[-3000:]
    result["_output"] = output
    return rc, result


def vm_state(lab, name):
    """What vCenter says of the only VM named ``name``: moref, instance UUID, power, MACs and restore marker; None
    when no VM carries the name."""
    with lab.vcenter() as client:
        found = vcenter.find_vms(client, name)
        assert len(found) <= 1, "%d VMs carry the name %s" % (len(found), name)
        if not found:
            return None
        vm = found[0]
        return {
            "moref": vcenter.moref(vm),
            "instance_uuid": vm.config.instanceUuid,
            "power_state": str(vm.runtime.powerState),
            "macs": [nic.macAddress for nic in vcenter.nics(vm)],
            "marker": vcenter.custom_value(client, vm, MARKER_FIELD),
        }


def morefs_named(lab, name):
    with lab.vcenter() as client:
        return [vcenter.moref(vm) for vm in vcenter.find_vms(client, name)]


def restores(lab):
    """The restores the emulator ran: {session id: [what the restore did per VM]} (admin ``/state``)."""
    return lab.admin("GET", "/state")["restores"]


def hypervisor_posts(lab):
    return lab.admin("GET", "/requests")["counts"].get(HYPERVISOR_POST, 0)


def policies_of_moref(lab, moref):
    """(name, sorted VM-level policies) of the VM with this moref in the emulator's own record, or None."""
    state = lab.admin("GET", "/state")
    found = [(vm["name"], sorted(state["vm_policies"].get(vm_id, []))) for vm_id, vm in state["vms"].items()
             if vm["moref"] == moref]
    assert len(found) <= 1, found
    return found[0] if found else None


# -- 1. a typo leaves production renamed --------------------------------------------------------------------------

def test_a_typo_in_a_keep_current_restore_fails_before_any_change(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    assert original["power_state"] == "poweredOn"
    fresh_lab.admin("DELETE", "/requests")
    args = {"vm": source, "mode": "production", "keep_current": True, "cluster": "NoSuchCluster"}

    check_rc, check = run_restore(fresh_lab, args, check=True)
    real_rc, real = run_restore(fresh_lab, args)

    # Production first: whatever the module said, exactly one VM carries the production name, the same one as before.
    assert vm_names_like(fresh_lab, source) == [source], "no VM named %s_OLD, one VM named %s" % (source, source)
    assert morefs_named(fresh_lab, source) == [original["moref"]], "the production name stays on the original VM"
    assert vm_state(fresh_lab, source) == original, "same moref, UUID, MACs and power state; no marker"
    assert hypervisor_posts(fresh_lab) == 0, "nothing was posted to the backup server"
    assert restores(fresh_lab) == {}, "no restore ran"
    # Then what the runs said: check mode checks the cluster name too, and both fail naming it.
    assert check_rc != 0 and check.get("failed"), "check mode must fail: %s" % check
    assert "NoSuchCluster" in check["msg"], check["msg"]
    assert real_rc != 0 and real.get("failed"), real
    assert "NoSuchCluster" in real["msg"], real["msg"]
    assert not real.get("changed"), real


# -- 2. promotion without confirmation ----------------------------------------------------------------------------

def test_promotion_needs_overwrite(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    assert original["power_state"] == "poweredOn"
    fresh_lab.admin("DELETE", "/requests")
    args = {"vm": source, "mode": "test", "state": "promoted"}

    check_rc, check = run_restore(fresh_lab, args, check=True)
    real_rc, real = run_restore(fresh_lab, args)

    assert vm_state(fresh_lab, source) == original, "the original is untouched: same moref, UUID, power state"
    assert vm_names_like(fresh_lab, source) == [source], "no test VM was restored"
    assert hypervisor_posts(fresh_lab) == 0, "nothing was posted to the backup server"
    assert restores(fresh_lab) == {}, "no restore ran"
    assert fresh_lab.spp.restore_sessions() == []
    for rc, refused in ((check_rc, check), (real_rc, real)):
        assert rc != 0 and refused.get("failed"), "a promotion without overwrite must fail: %s" % refused
        assert "overwrite" in refused["msg"], refused["msg"]
        assert not refused.get("changed"), refused

    promoted = run_restore(fresh_lab, dict(args, overwrite=True))[1]
    assert promoted.get("changed") and not promoted.get("failed"), promoted
    assert promoted["state"] == "promoted"
    assert vm_names_like(fresh_lab, source) == [source], "the test VM took the original's place"
    now = vm_state(fresh_lab, source)
    assert now["moref"] == promoted["moref"] != original["moref"]
    assert now["instance_uuid"] == original["instance_uuid"] and now["marker"]["state"] == "promoted"
    assert len(restores(fresh_lab)) == 1

    again = run_restore(fresh_lab, dict(args, overwrite=True))[1]
    assert again.get("changed") is False and not again.get("failed"), again
    assert len(restores(fresh_lab)) == 1, "promoted once"
    assert morefs_named(fresh_lab, source) == [now["moref"]]


# -- 3. the same task restores twice ------------------------------------------------------------------------------

def test_the_same_production_restore_restores_once_per_request(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    assert policies_of_moref(fresh_lab, original["moref"]) == (source, POLICIES)
    args = {"vm": source, "mode": "production", "overwrite": True, "recovery_point": "latest", "power_on": True}

    first = run_restore(fresh_lab, args)[1]
    assert first.get("changed") and not first.get("failed"), first
    restored = vm_state(fresh_lab, source)
    assert restored["moref"] == first["moref"] != original["moref"]
    assert len(restores(fresh_lab)) == 1
    protected_by_the_module = policies_of_moref(fresh_lab, restored["moref"])  # asserted last: see below

    # As the user did: protect the restored VM (no change when the module already did) and back it up.
    fresh_lab.module("vm_backup_policy", {"vm": source, "policies": POLICIES, "rescan": True})
    back_up(fresh_lab, "Gold", [source])
    fresh_lab.admin("DELETE", "/requests")

    rerun_check_rc, rerun_check = run_restore(fresh_lab, args, check=True)
    rerun_rc, rerun = run_restore(fresh_lab, args)
    assert len(restores(fresh_lab)) == 1, "the same task restored again"
    assert hypervisor_posts(fresh_lab) == 0, "a re-run posts nothing"
    assert morefs_named(fresh_lab, source) == [restored["moref"]], "the VM the first run restored stays"
    assert rerun_rc == 0 and rerun.get("changed") is False, rerun
    assert rerun_check_rc == 0 and rerun_check.get("changed") is False, rerun_check
    assert protected_by_the_module == (source, POLICIES), "the module re-applies the replaced VM's policies"

    # Another request key restores again, once.
    again_args = dict(args, restore_id="issue13-second")
    again = run_restore(fresh_lab, again_args)[1]
    assert again.get("changed") and not again.get("failed"), again
    assert len(restores(fresh_lab)) == 2, "a new restore_id restores again"
    assert morefs_named(fresh_lab, source) == [again["moref"]] and again["moref"] != restored["moref"]
    assert policies_of_moref(fresh_lab, again["moref"]) == (source, POLICIES)
    fresh_lab.admin("DELETE", "/requests")
    repeated = run_restore(fresh_lab, again_args)[1]
    assert repeated.get("changed") is False and not repeated.get("failed"), repeated
    assert len(restores(fresh_lab)) == 2 and hypervisor_posts(fresh_lab) == 0
    assert morefs_named(fresh_lab, source) == [again["moref"]]


def test_the_restore_production_role_restores_once_per_request(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    role_vars = {"restore_production_vm": source, "restore_production_confirm": True}

    first = fresh_lab.playbook("restore_production_safety", role_vars)[1]
    assert recap(first)["changed"] > 0
    assert len(restores(fresh_lab)) == 1
    restored = vm_state(fresh_lab, source)
    assert restored["moref"] != original["moref"] and restored["power_state"] == "poweredOn"
    assert policies_of_moref(fresh_lab, restored["moref"]) == (source, POLICIES), "the role re-protects"

    back_up(fresh_lab, "Gold", [source])
    second = fresh_lab.playbook("restore_production_safety", role_vars)[1]
    assert len(restores(fresh_lab)) == 1, "the role's re-run restored again"
    assert morefs_named(fresh_lab, source) == [restored["moref"]]
    assert policies_of_moref(fresh_lab, restored["moref"]) == (source, POLICIES)
    assert recap(second)["changed"] == 0, second[-3000:]

    third = fresh_lab.playbook("restore_production_safety", dict(role_vars, restore_production_restore_id="again"))[1]
    assert recap(third)["changed"] > 0
    assert len(restores(fresh_lab)) == 2, "a new restore_production_restore_id restores again"
    now = vm_state(fresh_lab, source)
    assert now["moref"] != restored["moref"] and vm_names_like(fresh_lab, source) == [source]
    assert policies_of_moref(fresh_lab, now["moref"]) == (source, POLICIES)


# -- a run not waited for: the request record carries it to the next run ------------------------------------------

def request_records(lab):
    """The request records on vCenter's root folder (custom attribute sovereign.vm_backup.restore_requests)."""
    with lab.vcenter() as client:
        return vcenter.custom_value(client, client.content.rootFolder, "sovereign.vm_backup.restore_requests") or {}


def test_a_restore_not_waited_for_is_finished_by_the_next_run_and_never_posted_twice(fresh_lab, source):
    original = vm_state(fresh_lab, source)
    args = {"vm": source, "mode": "production", "keep_current": True, "power_on": True}

    rc, started = run_restore(fresh_lab, dict(args, wait=False))
    assert rc == 0 and started["changed"] and started["state"] == "running", started
    record = request_records(fresh_lab)[original["instance_uuid"]]
    assert record["step"] == "posted" and record["session_id"] == started["session_id"]
    assert record["policies"] == POLICIES and record["request"] == "recovery_point:latest"

    rc, finished = run_restore(fresh_lab, args)
    assert rc == 0 and finished["changed"] and finished["session_id"] == started["session_id"], finished
    rc, again = run_restore(fresh_lab, args)
    assert rc == 0 and not again["changed"], again

    assert len(restores(fresh_lab)) == 1, "one restore for the request"
    assert original["instance_uuid"] not in request_records(fresh_lab), "the record is removed once the request is done"
    now = vm_state(fresh_lab, source)
    assert now["moref"] == finished["moref"] != original["moref"] and now["power_state"] == "poweredOn"
    assert now["marker"]["request"] == "recovery_point:latest" and now["marker"]["state"] == "restored"
    assert vm_state(fresh_lab, source + "_OLD")["power_state"] == "poweredOff"
    assert policies_of_moref(fresh_lab, now["moref"])[1] == POLICIES
