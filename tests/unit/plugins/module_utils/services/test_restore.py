# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The I/O of vm_restore: the marker text in vCenter, finding and waiting for restore sessions and reading in vCenter
what they did (restore_sessions), and the step table that applies a plan. The SPP client side is in
tests/unit/plugins/module_utils/spp/test_spp_restore.py."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    InvalidRequest,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_steps
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import restore_requests
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

from restore_fixtures import (
    FakeTask,
    POINT,
    T0,
    UUID,
    active_test_session,
    marker,
    request,
    session,
    source_of,
    spp_vm,
    vc_vm,
)


# -- markers in vCenter (vsphere/vms.py) --------------------------------------------------------------------------

def test_marker_text_round_trip_and_copies():
    text = vsphere_vms.encode_marker(marker())
    assert " " not in text and json.loads(text)["state"] == "restored"
    assert vsphere_vms.decode_marker(text) == marker()
    assert vsphere_vms.decode_marker("not json") is None
    assert vsphere_vms.decode_marker('{"v": 99}') is None
    assert vsphere_vms.decode_marker("") is None
    # The simulator appends values instead of replacing them: the last value of the key wins.
    assert vsphere_vms.marker_value([(0, "a"), (1, "x"), (0, "b")], 0) == "b"
    assert vsphere_vms.marker_value([(1, "x")], 0) is None
    # A marker that came along with a copied VM is not that VM's own.
    assert vsphere_vms.own_marker(marker(moref="vm-20"), "vm-20")
    assert vsphere_vms.own_marker(marker(moref="vm-20"), "vm-21") is None


# -- finding and waiting for restore sessions (services/restore_sessions.py) --------------------------------------

SOURCE_LOG = [{"message": "Restoring virtual machine web01 as web01_TEST."}]


def test_sessions_that_say_nothing_are_waited_for_until_they_do(monkeypatch):
    answers, logs = [], {}
    script = [[session("s5", "PENDING")], [session("s5", "RUNNING")], [active_test_session("s5")]]

    def list_restore_sessions(_client, _since_ms):
        current = script[0]
        if len(script) > 1:
            script.pop(0)
        if current[0]["status"] == "RUNNING" or current[0]["links"].get("end_iv"):
            logs["s5"] = SOURCE_LOG
        answers.append(current)
        return current

    monkeypatch.setattr(spp_restore, "list_restore_sessions", list_restore_sessions)
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda _client, session_id, types=None: logs.get(session_id, []))
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    task = FakeTask()
    matches = restore_sessions.matching_sessions(task, src)
    assert [s["id"] for s in matches] == ["s5"]
    assert task.lines == ["waiting for restore session(s) s5 to name the VM they restore"]
    assert task.seen_sessions == {"s5"}
    assert 1 <= task.now < 2


def test_sessions_that_say_nothing_are_given_up_on_after_a_minute(monkeypatch):
    logs = {"s1": SOURCE_LOG}
    monkeypatch.setattr(spp_restore, "list_restore_sessions",
                        lambda _client, _since: [active_test_session("s1"), session("s5", "PENDING")])
    reads = []

    def get_session_logs(_client, session_id, types=None):
        reads.append(session_id)
        return logs.get(session_id, [])

    monkeypatch.setattr(spp_jobs, "get_session_logs", get_session_logs)
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    task = FakeTask()
    matches = restore_sessions.matching_sessions(task, src)
    assert [s["id"] for s in matches] == ["s1"]
    assert task.now == pytest.approx(restore_sessions.DECIDE_SECONDS)
    assert task.deadline.remaining() == pytest.approx(3600 - restore_sessions.DECIDE_SECONDS)
    assert reads.count("s1") == 1, "the logs of a settled session are read once per task"
    # A task with less time left than that waits only what it has.
    short = FakeTask(timeout=5)
    restore_sessions.matching_sessions(short, src)
    assert short.now == pytest.approx(5)


def test_after_a_lost_answer_only_a_new_session_counts(monkeypatch):
    logs = {"s1": SOURCE_LOG}
    script = [[active_test_session("s1"), session("s2", "PENDING")],
              [active_test_session("s1"), session("s2", "RUNNING")]]

    def list_restore_sessions(_client, _since):
        current = script[0]
        if len(script) > 1:
            script.pop(0)
        else:
            logs["s2"] = SOURCE_LOG
        return current

    monkeypatch.setattr(spp_restore, "list_restore_sessions", list_restore_sessions)
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda _client, session_id, types=None: logs.get(session_id, []))
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    task = FakeTask()
    task.seen_sessions.add("s1")
    assert restore_sessions.find_after_loss(task, src)["id"] == "s2"
    assert task.lines == ["the restore answer was lost; looking for the restore session it started (1 undecided)"]


def test_after_a_lost_answer_the_search_ends(monkeypatch):
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    monkeypatch.setattr(spp_restore, "list_restore_sessions", lambda _client, _since: [])
    task = FakeTask()
    assert restore_sessions.find_after_loss(task, src) is None
    assert task.now == pytest.approx(restore_sessions.FIND_AFTER_LOSS_SECONDS)

    def busy(_client, _since):
        raise ApiError(503, description="busy")

    monkeypatch.setattr(spp_restore, "list_restore_sessions", busy)
    failing = FakeTask()
    assert restore_sessions.find_after_loss(failing, src) is None
    assert failing.lines[0].startswith("could not look for the restore session after the lost answer")


def test_the_session_of_an_answer_is_found_by_job_name(monkeypatch):
    monkeypatch.setattr(spp_jobs, "get_session", lambda _client, session_id: {"id": session_id, "status": "RUNNING"})
    task = FakeTask()
    assert restore_sessions._session_of_answer(task, {"name": "onDemandRestore_1", "sessionId": "9"})["id"] == "9"
    calls = []

    def sessions_of_job(_client, job_name):
        calls.append(job_name)
        return [] if len(calls) < 3 else [session("177", "PENDING")]

    monkeypatch.setattr(spp_restore, "sessions_of_job", sessions_of_job)
    found = restore_sessions._session_of_answer(task, {"name": "onDemandRestore_1", "id": "1006"})
    assert found["id"] == "177" and calls == ["onDemandRestore_1"] * 3 and "177" in task.seen_sessions
    monkeypatch.setattr(spp_restore, "sessions_of_job", lambda _client, _name: [])
    with pytest.raises(WaitTimeout) as caught:
        restore_sessions._session_of_answer(FakeTask(), {"name": "onDemandRestore_2"})
    assert "no job session of that job showed up" in caught.value.message
    with pytest.raises(TaskFailed):
        restore_sessions._session_of_answer(FakeTask(), {})


def test_a_restore_wait_settles_on_an_active_test_restore_and_a_timeout_names_the_session(monkeypatch):
    reads = [session("s1", "PENDING"), session("s1", "RUNNING"), active_test_session("s1")]
    monkeypatch.setattr(spp_jobs, "get_session", lambda _client, _id: reads.pop(0) if len(reads) > 1 else reads[0])
    task = FakeTask()
    assert restore_sessions.wait_for_session(task, "s1")["status"] == "PENDING"
    assert task.lines[-1] == "SPP job session s1 (job 'onDemandRestore_s1') is PENDING"
    with pytest.raises(WaitTimeout) as caught:  # an action's wait ends only when the session does
        restore_sessions.wait_for_session(FakeTask(timeout=10), "s1", test_active_settles=False)
    message = caught.value.message
    assert "SPP job session s1" in message and "keeps running on the server" in message
    assert "Running this task again follows session s1 instead of starting another restore" in message
    assert caught.value.details["session_id"] == "s1" and caught.value.details["status"] == "PENDING"


# -- what a settled session did, read in vCenter ------------------------------------------------------------------

@pytest.fixture
def vcenter(monkeypatch):
    """vCenter's VMs as restore_sessions reads them (by list and by moref), scripted by the test."""
    vms = {}
    monkeypatch.setattr(vsphere_vms, "list_vms_with_markers", lambda _client: list(vms.values()))
    monkeypatch.setattr(vsphere_vms, "vm_details", lambda _client, moref: dict(vms[moref]) if moref in vms else None)
    return vms


def test_the_restored_vm_is_the_one_vcenter_shows_under_the_restore_s_name(vcenter, monkeypatch):
    monkeypatch.setattr(spp_jobs, "get_session_logs",
                        lambda _client, _id, types=None: [{"message": "Datastore ds1 is almost full."}])
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    vcenter.update({"vm-10": vc_vm("web01", "vm-10"), "vm-20": vc_vm("web01_TEST", "vm-20", uuid="t")})
    task = FakeTask()
    task.known_morefs = {"vm-10"}
    details = restore_sessions._restored_details(task, active_test_session("s1"), src, POINT, "web01_TEST", True)
    assert details["moref"] == "vm-20"
    with pytest.raises(TaskFailed) as caught:
        restore_sessions._restored_details(task, session("s1", "COMPLETED"), src, POINT, "web01_CLONE", True)
    assert caught.value.message == (
        "the restore of web01 ended COMPLETED (session s1), but vCenter has no VM named web01_CLONE that this restore "
        "may have made; the session's warnings and errors: Datastore ds1 is almost full.")


def test_a_failed_production_restore_says_that_the_current_vm_is_untouched(vcenter, monkeypatch):
    monkeypatch.setattr(spp_jobs, "get_session_logs",
                        lambda _client, _id, types=None: [{"type": "ERROR", "message": "vSnap mount failed"}])
    current = dict(vc_vm("web01", "vm-10"), nics=[], macs=[])
    vcenter["vm-10"] = current
    src = source_of([current], [spp_vm("a1")])
    task = FakeTask(request(mode="production", overwrite=True))
    with pytest.raises(TaskFailed) as caught:
        restore_sessions._restored_details(task, session("s1", "FAILED"), src, POINT, "web01", True)
    assert caught.value.message == (
        "the restore of web01 ended FAILED (session s1): vSnap mount failed. The production VM web01 (vm-10) is "
        "untouched: it still exists, poweredOn, with instance UUID %s." % UUID)


def test_a_posted_restore_is_named_through_mapvm_and_found_by_its_job_name(vcenter, monkeypatch):
    sent = []

    def start_restore(_client, payload):
        sent.append(payload)
        vcenter["vm-20"] = vc_vm("web01_TEST", "vm-20", uuid="t")  # what the restore makes
        return {"name": "onDemandRestore_1", "id": "1006"}  # no sessionId, as on record

    monkeypatch.setattr(spp_restore, "start_restore", start_restore)
    monkeypatch.setattr(spp_restore, "sessions_of_job", lambda _client, name: [session("177", "RUNNING")])
    monkeypatch.setattr(spp_restore, "site_href", lambda _client, _copy: None)
    monkeypatch.setattr(spp_jobs, "get_session", lambda _client, sid: active_test_session(sid))
    vcenter["vm-10"] = vc_vm("web01", "vm-10")
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    src["hypervisor_id"] = "1001"
    task = FakeTask()
    task.known_morefs = {"vm-10"}
    point_version = {"id": "v1", "protectionInfo": {"protectionTime": T0}, "links": {"self": {"href": "v"}}}
    work = restore_steps.PlannedRestore(src, POINT, spp_vm("a1"), point_version, None, "web01_TEST")
    work.plan = restore_plan.plan_present(request(), src, POINT, "web01_TEST", [], None, None)
    work.placement = {"target": None, "datastore_map": {}, "network_map": {}}
    found, details = restore_sessions.do_restore(task, work)
    assert found["id"] == "177" and details["moref"] == "vm-20"
    destination = sent[0]["spec"]["subpolicy"][0]["destination"]
    assert destination["mapvm"] == {spp_vm("a1")["links"]["self"]["href"]: {"name": "web01_TEST"}}
    assert destination["systemDefined"] is True


def test_a_test_restore_action_is_posted_only_on_an_active_test_restore(vcenter, monkeypatch):
    reads = {"s1": [active_test_session("s1"), session("s1", "RUNNING"), session("s1", "COMPLETED")]}
    monkeypatch.setattr(spp_jobs, "get_session",
                        lambda _client, sid: reads[sid].pop(0) if len(reads[sid]) > 1 else reads[sid][0])
    posted = []
    monkeypatch.setattr(spp_restore, "session_action", lambda _client, one, action: posted.append((one["id"], action)))
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    test_vm = vc_vm("web01_TEST", "vm-20", uuid="t")
    vcenter["vm-20"] = dict(test_vm, name="web01")  # rrp gave the test VM the source's name
    session_, outcome = restore_sessions.do_action(FakeTask(), "rrp", "s1", src, test_vm)
    assert posted == [("s1", "rrp")] and session_["status"] == "COMPLETED" and outcome["name"] == "web01"
    # Run again once the session has ended: vCenter shows the effect, nothing is posted.
    assert restore_sessions.do_action(FakeTask(), "rrp", "s1", src, test_vm)[1]["moref"] == "vm-20"
    assert posted == [("s1", "rrp")]
    with pytest.raises(InvalidRequest) as caught:
        restore_sessions.do_action(FakeTask(), "cleanup", "s1", src, test_vm)
    assert "test restore session s1 is COMPLETED, not an active test restore (PENDING with action links)" in \
        caught.value.message


def test_an_action_whose_effect_vcenter_does_not_show_fails(vcenter, monkeypatch):
    reads = [active_test_session("s1"), session("s1", "COMPLETED")]
    monkeypatch.setattr(spp_jobs, "get_session", lambda _client, _sid: reads.pop(0) if len(reads) > 1 else reads[0])
    monkeypatch.setattr(spp_restore, "session_action", lambda _client, _one, _action: None)
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda _client, _id, types=None: [])
    src = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    test_vm = vc_vm("web01_TEST", "vm-20", uuid="t")
    vcenter["vm-20"] = test_vm
    with pytest.raises(TaskFailed) as caught:
        restore_sessions.do_action(FakeTask(), "cleanup", "s1", src, test_vm)
    assert caught.value.message == ("cleanup of test restore session s1 ended COMPLETED, but the test VM web01_TEST "
                                    "(vm-20) is still in vCenter")


# -- applying a plan (services/restore_steps.py) ------------------------------------------------------------------

def test_every_step_a_plan_names_has_a_function():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    named = set()
    for req in (request(), request(state="cloned")):
        named.update(restore_plan.plan_restore(req, source, POINT, "web01_TEST", None, None, None)["steps"])
    for req, target in ((request(state="promoted", overwrite=True), "web01_TEST"),
                        (request(mode="production", keep_current=True), "web01"),
                        (request(mode="production", overwrite=True), "web01")):
        named.update(restore_plan.plan_replacing(req, source, target, [vc_vm("web01", "vm-10")],
                                                 {"policies": ["Gold"]})["steps"])
    named.update(restore_plan.plan_absent(request(state="absent"), None, [{"name": "x"}])["steps"])
    assert named == set(restore_steps.STEPS)
    assert set(restore_plan.ACTIONS.values()) <= set(restore_steps.STEPS)


def keep_current_restore(monkeypatch, fail_with, posted=False):
    """A production restore with keep_current whose restore step fails with ``fail_with`` (after its POST left when
    ``posted``); returns the task, the planned restore, the renames and the request records written."""
    renames, records = [], []
    monkeypatch.setattr(vsphere_vms, "rename_vm", lambda _client, moref, name, timeout: renames.append((moref, name)))
    monkeypatch.setattr(restore_requests, "write_record", lambda _client, key, record: records.append(record) or record)
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    source["spp_id"] = "a1"
    req = request(mode="production", keep_current=True)
    task = FakeTask(req)

    def failing_restore(*_args, **_kwargs):
        task.restore_posted = posted
        raise fail_with

    monkeypatch.setattr(restore_sessions, "do_restore", failing_restore)
    work = restore_steps.PlannedRestore(source, POINT, target_name="web01")
    work.key, work.policies = "recovery_point:latest", ["Gold"]
    work.plan = restore_plan.plan_present(req, source, POINT, "web01", [vc_vm("web01", "vm-10")], None, None,
                                          progress={"policies": ["Gold"]})
    return task, work, renames, records


def test_a_failed_restore_gives_the_current_vm_its_name_back(monkeypatch):
    task, work, renames, records = keep_current_restore(
        monkeypatch, TaskFailed("the restore of web01 ended FAILED.", session_id="5"))
    assert work.plan["steps"] == ["record", "rename_current", "restore", "power_off_current", "protect", "mark",
                                  "forget"]
    with pytest.raises(TaskFailed) as caught:
        restore_steps.apply(task, work)
    assert caught.value.message == ("the restore of web01 ended FAILED. The current VM web01 (vm-10) was renamed "
                                    "web01_OLD for the restore, and has its name back.")
    assert caught.value.details == {"session_id": "5"}
    assert renames == [("vm-10", "web01_OLD"), ("vm-10", "web01")]
    assert work.done == ["record", "rename_current"]
    assert records[0]["step"] == "started" and records[0]["policies"] == ["Gold"] and records[-1] is None


def test_a_failed_undo_says_what_state_production_is_in(monkeypatch):
    task, work, renames, _records = keep_current_restore(monkeypatch, ValueError("boom"))

    def rename(_client, moref, name, timeout):
        if name == "web01":
            raise TaskFailed("Rename_Task failed: NoPermission")
        renames.append((moref, name))

    monkeypatch.setattr(vsphere_vms, "rename_vm", rename)
    monkeypatch.setattr(vsphere_vms, "vm_details", lambda _client, moref: dict(vc_vm("web01_OLD", moref)))
    with pytest.raises(TaskFailed) as caught:
        restore_steps.apply(task, work)
    assert caught.value.message == (
        "ValueError: boom. Giving it its name back failed as well (Rename_Task failed: NoPermission): no VM carries "
        "the name web01 now. The current VM vm-10 is now named web01_OLD, poweredOn. Rename VM vm-10 to web01 in "
        "vCenter, or run this task again: it resumes from the request record.")


def test_a_restore_that_may_still_run_keeps_the_rename(monkeypatch):
    task, work, renames, records = keep_current_restore(monkeypatch, AmbiguousResult("the answer was lost"),
                                                        posted=True)
    with pytest.raises(AmbiguousResult) as caught:
        restore_steps.apply(task, work)
    assert renames == [("vm-10", "web01_OLD")], "the next run follows the restore; the name stays free for it"
    assert "Run this task again: it resumes from the request record" in caught.value.message
    assert records[-1]["step"] == "started", "the record stays for the next run"


def test_a_restore_not_waited_for_stops_the_steps(monkeypatch):
    monkeypatch.setattr(restore_sessions, "do_restore", lambda *_args, **_kwargs: ({"id": 42}, None))
    monkeypatch.setattr(restore_requests, "write_record", lambda _client, key, record: record)
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    source["spp_id"] = "a1"
    req = request(state="promoted", wait=False, overwrite=True)
    work = restore_steps.PlannedRestore(source, POINT, target_name="web01_TEST")
    work.key = "recovery_point:latest"
    work.plan = restore_plan.plan_present(req, source, POINT, "web01_TEST", [], None, None, progress={})
    work.diff = {"before": {}, "after": {}}
    task = FakeTask(req)
    restore_steps.apply(task, work)
    assert work.done == ["record", "restore"] and work.running and work.session_id == "42"
    result = restore_service._applied_result(task, work)
    assert (result["state"], result["name"], result["session_id"], result["changed"]) == (
        "running", "web01_TEST", "42", True)
