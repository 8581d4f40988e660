# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A restore, or a test restore's follow-up action, whose answer is lost is never posted a second time (issue 13,
part 5).

The emulator handles the POST (the restore starts) and then loses its answer in one of three ways: a 503 answered
after the effect (a proxy's 503 after the backend acted), a dropped connection, or a TLS error on the open connection
(the lab serves HTTPS, so this is the TLS path of the client: a TLS error past the handshake is a lost answer, not a
handshake failure). The module then looks for the session that the POST started and follows it, or fails saying
that the answer was lost; a re-run follows the session. Either way:

* the emulator's request counters (by ``action``) show exactly one restore POST, or one rrp POST;
* the emulator's ``/state`` records one restore session, and vCenter (plain pyVmomi) shows one restored VM;
* the last run changes nothing.

Each case restores a VM of its own (a clone of DC0_H0_VM0, protected and backed up by the test); every VM a test
creates is destroyed at the end.
"""

from __future__ import annotations


import pytest

import vcenter
from helpers import protected_clone, vm_names_like

pytestmark = pytest.mark.integration
MARKER_FIELD = "sovereign.vm_backup.restore"
RESTORE_POST = "POST /ngp/hypervisor?action=restore"
LOST_ANSWER_WORDS = ("answer was lost", "may have been carried out")

# How the answer to the POST is lost, once the emulator has handled it.
FAULTS = {
    "503-after-effect": {"status": 503, "after_effect": True},
    "dropped": {"drop_after_effect": True},
    "tls-error": {"tls_error_after_effect": True},
}
REQUESTS = {
    "production": {"mode": "production", "overwrite": True, "recovery_point": "latest"},
    "test": {"mode": "test"},
}


@pytest.fixture
def source(fresh_lab):
    """A powered-on VM of the test's own, known to the backup server, protected by Gold and backed up once."""
    try:
        with protected_clone(fresh_lab, "la", ["Gold"]) as name:
            yield name
    finally:
        fresh_lab.admin("DELETE", "/faults")


# -- runs and end-state readers (pyVmomi and the emulator's admin API) --------------------------------------------

def run_restore(lab, module_args):
    """Run vm_restore once, whatever its outcome; return (rc, result)."""
    rc, output, result = lab.playbook("vm_restore", {"module_args": module_args}, diff=True, expect_rc=None)
    assert result is not None, output[-3000:]
    result["_output"] = output
    return rc, result


def run_through_a_lost_answer(lab, module_args):
    """The run whose POST loses its answer; when it fails, it must say that the answer was lost, and the re-run must
    follow the session instead of posting again. Returns the successful run's result."""
    rc, first = run_restore(lab, module_args)
    if rc != 0:
        message = first.get("msg", "")
        assert any(words in message for words in LOST_ANSWER_WORDS), message
        assert "handshake" not in message.lower(), "a TLS error after the request is not a handshake failure"
        rc, first = run_restore(lab, module_args)
    assert rc == 0, first.get("msg", first["_output"][-3000:])
    assert first["changed"] is True
    return first


def action_posts(lab, suffix):
    """How many requests the emulator counted whose ``METHOD /path?action=NAME`` ends with ``suffix``."""
    return sum(count for key, count in lab.admin("GET", "/requests")["actions"].items() if key.endswith(suffix))


def vm_state(lab, name):
    """What vCenter says of the VM named ``name``: moref, instance UUID, power and restore marker; or None."""
    with lab.vcenter() as client:
        vm = vcenter.find_vm(client, name)
        if vm is None:
            return None
        return {"moref": vcenter.moref(vm), "instance_uuid": vm.config.instanceUuid,
                "power_state": str(vm.runtime.powerState), "marker": vcenter.custom_value(client, vm, MARKER_FIELD)}


def recorded_restores(lab):
    """The emulator's own record of the restore sessions: {session id: [what it did per VM]}."""
    return lab.admin("GET", "/state")["restores"]


def inject(lab, path_prefix, fault):
    lab.admin("DELETE", "/requests")
    lab.admin("POST", "/faults", dict(FAULTS[fault], method="POST", path_prefix=path_prefix, count=1))


# -- the restore POST -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("fault", sorted(FAULTS))
@pytest.mark.parametrize("kind", sorted(REQUESTS))
def test_a_lost_restore_answer_never_leads_to_a_second_restore_post(fresh_lab, source, kind, fault):
    original = vm_state(fresh_lab, source)
    args = dict(REQUESTS[kind], vm=source)
    inject(fresh_lab, "/ngp/hypervisor", fault)

    done = run_through_a_lost_answer(fresh_lab, args)
    assert fresh_lab.admin("GET", "/faults")["faults"] == [], "the fault struck the restore POST"
    assert action_posts(fresh_lab, "?action=restore") == 1, "the restore was posted once"

    rc, again = run_restore(fresh_lab, args)
    assert rc == 0 and again["changed"] is False, again.get("msg")
    assert action_posts(fresh_lab, "?action=restore") == 1, "the re-run posted nothing"

    restores = recorded_restores(fresh_lab)
    assert list(restores) == [done["session_id"]], "one restore session on the backup server"
    assert [s["id"] for s in fresh_lab.spp.restore_sessions()] == [done["session_id"]]
    if kind == "production":
        assert vm_names_like(fresh_lab, source) == [source], "exactly one VM carries the production name"
        replaced = vm_state(fresh_lab, source)
        assert replaced["moref"] != original["moref"], "the current VM was replaced, once"
        assert replaced["moref"] == done["moref"] == again["moref"]
        assert replaced["instance_uuid"] == original["instance_uuid"]
        assert replaced["marker"]["mode"] == "production"
    else:
        assert vm_names_like(fresh_lab, source) == [source, source + "_TEST"], "exactly one restored VM"
        restored = vm_state(fresh_lab, source + "_TEST")
        assert restored["moref"] == done["moref"] == again["moref"]
        assert restored["marker"]["session_id"] == done["session_id"]
        assert vm_state(fresh_lab, source) == original, "the original is untouched"


# -- a follow-up action of a test restore ---------------------------------------------------------------------------

@pytest.mark.parametrize("fault", ["503-after-effect", "dropped"])
def test_a_lost_rrp_answer_never_leads_to_a_second_rrp_post(fresh_lab, source, fault):
    original = vm_state(fresh_lab, source)
    args = {"vm": source, "state": "promoted", "overwrite": True}
    # The restore goes through; the rrp POST on its session's link loses its answer after the server took it.
    inject(fresh_lab, "/api/endeavour/jobsession", fault)

    done = run_through_a_lost_answer(fresh_lab, args)
    assert fresh_lab.admin("GET", "/faults")["faults"] == [], "the fault struck the rrp POST"
    assert action_posts(fresh_lab, "?action=rrp") == 1, "rrp was posted once"
    assert action_posts(fresh_lab, "?action=restore") == 1

    rc, again = run_restore(fresh_lab, args)
    assert rc == 0 and again["changed"] is False, again.get("msg")
    assert action_posts(fresh_lab, "?action=rrp") == 1 and action_posts(fresh_lab, "?action=restore") == 1

    assert vm_names_like(fresh_lab, source) == [source], "the test VM took the original's place, once"
    promoted = vm_state(fresh_lab, source)
    assert promoted["moref"] != original["moref"] and promoted["moref"] == done["moref"]
    assert promoted["marker"]["state"] == "promoted"
    assert list(recorded_restores(fresh_lab)) == [done["session_id"]]
    assert fresh_lab.spp.session(done["session_id"])["status"] == "COMPLETED"
