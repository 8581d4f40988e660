# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""A test-restore action (rrp, clone, cleanup) whose answer was lost: ``restore_sessions.do_action`` reads the session
again instead of posting the action a second time. Follows it when the action was taken; raises the
``AmbiguousResult`` when the session still holds the test restore."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import AmbiguousResult, TaskFailed
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

from restore_fixtures import FakeTask, active_test_session, session, source_of, spp_vm, vc_vm

LOST = "POST /api/endeavour/jobsession/s1 got HTTP 503 from SPP at https://spp, or from a proxy in front of it"


@pytest.fixture
def scripted(monkeypatch):
    """The session reads (the last one repeats), the action posts (each answered by a 503 after its effect), and
    vCenter's VMs, as ``do_action`` sees them."""
    state = {"reads": [], "posts": [], "vms": {}}

    def get_session(_client, session_id):
        assert session_id == "s1"
        reads = state["reads"]
        return reads.pop(0) if len(reads) > 1 else reads[0]

    def session_action(_client, one, action):
        state["posts"].append((one["id"], action))
        raise AmbiguousResult(LOST, method="POST", status=503)

    monkeypatch.setattr(spp_jobs, "get_session", get_session)
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda _client, _id, types=None: [])
    monkeypatch.setattr(spp_restore, "session_action", session_action)
    monkeypatch.setattr(vsphere_vms, "list_vms_with_markers", lambda _client: list(state["vms"].values()))
    monkeypatch.setattr(vsphere_vms, "vm_details",
                        lambda _client, moref: dict(state["vms"][moref]) if moref in state["vms"] else None)
    return state


SOURCE = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
TEST_VM = vc_vm("web01_TEST", "vm-20", uuid="t")


def test_a_lost_rrp_answer_on_a_session_that_now_runs_is_followed_not_posted_again(scripted):
    scripted["reads"] = [active_test_session("s1"), session("s1", "RUNNING"), session("s1", "COMPLETED")]
    scripted["vms"]["vm-20"] = dict(TEST_VM, name="web01")  # rrp gave the test VM the source's name
    task = FakeTask()
    found, outcome = restore_sessions.do_action(task, "rrp", "s1", SOURCE, TEST_VM)
    assert scripted["posts"] == [("s1", "rrp")], "posted once"
    assert found["status"] == "COMPLETED" and outcome["moref"] == "vm-20" and outcome["name"] == "web01"
    assert any("the answer to rrp was lost, but session s1 is now RUNNING" in line for line in task.lines)


def test_a_lost_cleanup_answer_on_a_session_that_already_ended_is_accepted(scripted):
    scripted["reads"] = [active_test_session("s1"), session("s1", "COMPLETED")]
    found, outcome = restore_sessions.do_action(FakeTask(), "cleanup", "s1", SOURCE, TEST_VM)  # test VM gone
    assert scripted["posts"] == [("s1", "cleanup")]
    assert found["status"] == "COMPLETED" and outcome["removed"] is True


def test_a_lost_answer_on_a_session_that_still_holds_the_test_restore_raises_it(scripted):
    scripted["reads"] = [active_test_session("s1")]
    task = FakeTask()
    with pytest.raises(AmbiguousResult) as caught:
        restore_sessions.do_action(task, "rrp", "s1", SOURCE, TEST_VM)
    assert caught.value.message == LOST
    assert scripted["posts"] == [("s1", "rrp")], "never posted twice"
    assert 9 <= task.now <= 11, "it read the session again for about ten seconds"


def test_a_lost_answer_and_a_session_that_failed_reports_the_failure(scripted):
    scripted["reads"] = [active_test_session("s1"), session("s1", "FAILED")]
    with pytest.raises(TaskFailed) as caught:
        restore_sessions.do_action(FakeTask(), "clone", "s1", SOURCE, TEST_VM)
    assert "FAILED" in caught.value.message
    assert scripted["posts"] == [("s1", "clone")]


def test_a_lost_answer_not_waited_for_returns_the_running_session(scripted):
    scripted["reads"] = [active_test_session("s1"), session("s1", "RUNNING")]
    found, outcome = restore_sessions.do_action(FakeTask(wait=False), "rrp", "s1", SOURCE, TEST_VM)
    assert found["status"] == "RUNNING" and outcome is None
    assert scripted["posts"] == [("s1", "rrp")]
