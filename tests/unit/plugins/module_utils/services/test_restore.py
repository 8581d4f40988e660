# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The I/O of vm_restore: the marker text in vCenter, the restore request and session action against the scripted
SPP server, the waits for restore sessions (restore_sessions), and the step table that applies a plan."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _wait
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    Conflict,
    InvalidRequest,
    TaskFailed,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_plan
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore_sessions
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import vms as vsphere_vms

from restore_fixtures import BASE, POINT, T0, copy, entry, marker, request, session, source_of, spp_vm, vc_vm, version
from spp_fake_server import DROP, Reply


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


# -- the restore request (spp/restore.py) -------------------------------------------------------------------------

def test_payload_of_a_default_test_restore():
    source, point = spp_vm("a1"), version("v1", T0)
    payload = spp_restore.build_restore_payload(source, point, "test")
    entry_ = payload["spec"]["source"][0]
    assert entry_["href"] == "%s/a1?from=recovery" % BASE and entry_["id"] == "a1"
    assert entry_["version"] == {"href": point["links"]["self"]["href"],
                                 "metadata": {"useLatest": False, "protectionTime": T0}}
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["type"] == "IV" and subpolicy["source"] is None
    assert subpolicy["destination"] == {"systemDefined": True}
    option = subpolicy["option"]
    assert option["mode"] == "test" and option["vmNameSuffix"] == "_TEST"
    assert option["poweron"] is False and option["allowvmoverwrite"] is False and option["streaming"] is False


def test_payload_of_a_clone_with_a_name_a_copy_and_an_alternate_location():
    source, point = spp_vm("a1"), version("v1", T0)
    offload = copy("c9", "SPPOFFLOAD", point["links"]["self"]["href"])
    destination = spp_restore.build_destination(
        source_href=source["links"]["self"]["href"], name="web01_REST",
        target={"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        datastore_map={"https://spp/ds/1": "https://spp/ds/2"}, network_map={"https://spp/n/1": "https://spp/n/2"},
        folder="/DC0/vm/restored")
    payload = spp_restore.build_restore_payload(source, point, "clone", copy=offload, name="web01_REST",
                                                destination=destination, power_on=True)
    subpolicy = payload["spec"]["subpolicy"][0]
    assert subpolicy["destination"] == {
        "target": {"href": "https://spp/h/1", "name": "esx1", "resourceType": "host"},
        "mapvm": {"%s/a1?from=recovery" % BASE: {"name": "web01_REST"}},
        "mapRRPdatastore": {"https://spp/ds/1": "https://spp/ds/2"},
        "mapvirtualnetwork": {"https://spp/n/1": {"recovery": "https://spp/n/2", "test": "https://spp/n/2"}},
        "vmfolderpath": "/DC0/vm/restored"}
    assert subpolicy["option"]["mode"] == "clone" and subpolicy["option"]["poweron"] is True
    assert "vmNameSuffix" not in subpolicy["option"]
    assert subpolicy["source"] == {"copy": {"site": {"href": "https://spp/api/site/2000"}, "isOffload": True}}
    assert payload["spec"]["source"][0]["version"]["copy"] == {"href": offload["links"]["self"]["href"]}


def test_payload_of_a_production_restore():
    payload = spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", allow_overwrite=True)
    option = payload["spec"]["subpolicy"][0]["option"]
    assert option["mode"] == "recovery" and option["allowvmoverwrite"] is True and "vmNameSuffix" not in option
    assert spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "clone",
                                             allow_overwrite=True)["spec"]["subpolicy"][0]["option"][
        "allowvmoverwrite"] is False, "overwrite is for production only"
    with pytest.raises(InvalidRequest):
        spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "production", name="x")


def test_default_names():
    assert spp_answers.default_name("test", "web01") == "web01_TEST"
    assert spp_answers.default_name("clone", "web01") == "web01_CLONE"
    assert spp_answers.default_name("clone", "web01", "web01_REST") == "web01_REST"
    assert spp_answers.default_name("production", "web01", "ignored") == "web01"


def test_session_readers():
    restore_session = session("s1", "RESOURCE ACTIVE", [entry()])
    assert spp_answers.is_restore_session(restore_session)
    assert not spp_answers.is_restore_session({"jobName": "vmware_Gold", "serviceId": "x", "properties": {}})
    assert spp_answers.find_entry(restore_session, ["a1"], "v1", "test")["moref"] == "vm-20"
    assert spp_answers.find_entry(restore_session, ["a1"], "v1", "clone") is None
    assert spp_answers.find_entry(restore_session, ["zz"], "v1") is None
    assert [spp_answers.entry_state(entry(status=s)) for s in
            ("active", "restored", "moved to production", "kept as clone", "cleaned up")] == [
        "restored", "restored", "promoted", "cloned", "absent"]
    assert mentions_any([{"message": "Restoring virtual machine web01 from ..."}], ["web01"])
    assert not mentions_any([{"message": "Virtual machine web01_TEST restored."}], ["web01"])
    assert mentions_any([{"messageParams": ["web01"]}], ["web01"])


# -- against the scripted server ----------------------------------------------------------------------------------

def test_start_restore_is_sent_once_and_a_lost_answer_says_what_to_look_for(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", DROP)
    client = make_client(fake_spp)
    payload = spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0), "test")
    with pytest.raises(AmbiguousResult) as caught:
        spp_restore.start_restore(client, payload)
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1
    assert "look for its restore job session" in caught.value.message and "web01" in caught.value.message


def test_start_restore_returns_the_session(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {
        "name": "onDemandRestore_1", "id": "1006", "sessionId": "177"}}))
    client = make_client(fake_spp)
    answer = spp_restore.start_restore(client, spp_restore.build_restore_payload(spp_vm("a1"), version("v1", T0),
                                                                                 "clone"))
    assert answer["sessionId"] == "177"
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "restore"} and sent.json["spec"]["subpolicy"][0]["option"]["mode"] == "clone"


def test_session_action_follows_the_link_by_name(fake_spp, make_client):
    fake_spp.route("POST", "/api/endeavour/jobsession/177", Reply(201, {"id": "177", "status": "RUNNING"}))
    client = make_client(fake_spp)
    active = {"id": "177", "status": "RESOURCE ACTIVE",
              "links": {"rrp": {"href": fake_spp.url + "/api/endeavour/jobsession/177?action=rrp"}}}
    assert spp_restore.session_action(client, active, "rrp")["status"] == "RUNNING"
    sent = fake_spp.requests[-1]
    assert sent.query == {"action": "rrp"} and sent.json == {}
    with pytest.raises(Conflict) as caught:
        spp_restore.session_action(client, active, "cleanup")
    assert "offers no 'cleanup' action" in caught.value.message and "actions offered: rrp" in caught.value.message


# -- waiting for restore sessions (services/restore_sessions.py) --------------------------------------------------

class FakeTask:
    """What restore_sessions reads of a RestoreTask, with a clock that only sleep moves."""

    def __init__(self, req=None, timeout=3600):
        self.now = 0.0
        self.spp = "spp"
        self.vsphere = "vsphere"
        self.request = req or request()
        self.check_mode = False
        self.lines = []
        self.log = self.lines.append
        self.sleep = self.advance
        self.deadline = _wait.Deadline(timeout, self.clock)
        self.seen_sessions = set()
        self.warnings = []

    def clock(self):
        return self.now

    def advance(self, seconds):
        self.now += seconds

    def now_ms(self):
        return T0 + int(self.now * 1000)


@pytest.fixture
def listings(monkeypatch):
    """Scripted answers of list_restore_sessions, one per call (the last one repeats); no session has logs."""
    answers = []

    def list_restore_sessions(_client, since_ms):
        assert since_ms == T0 - restore_sessions.SESSION_LOOKBACK_MS
        current = answers[0]
        if len(answers) > 1:
            answers.pop(0)
        if isinstance(current, Exception):
            raise current
        return current

    monkeypatch.setattr(spp_restore, "list_restore_sessions", list_restore_sessions)
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda _client, _session_id: [])
    return answers


def test_sessions_that_say_nothing_are_waited_for_until_they_do(listings):
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    listings.extend([[session("s5", "PENDING")], [session("s5", "PENDING")],
                     [session("s5", "RESOURCE ACTIVE", [entry()])]])
    task = FakeTask()
    matches = restore_sessions.matching_sessions(task, source, "v1", "test", "web01_TEST")
    assert [(s["id"], e["moref"]) for s, e in matches] == [("s5", "vm-20")]
    assert task.lines == ["waiting for restore session(s) s5 to name the VM they restore"] * 2
    assert task.seen_sessions == {"s5"}
    assert 2 <= task.now < 3


def test_sessions_that_say_nothing_are_given_up_on_after_a_minute(listings):
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    listings.append([session("s1", "RESOURCE ACTIVE", [entry()]), session("s5", "PENDING")])
    task = FakeTask()
    matches = restore_sessions.matching_sessions(task, source, "v1", "test", "web01_TEST")
    assert [s["id"] for s, _e in matches] == ["s1"]
    assert task.now == pytest.approx(restore_sessions.DECIDE_SECONDS)
    assert task.deadline.remaining() == pytest.approx(3600 - restore_sessions.DECIDE_SECONDS)
    # A task with less time left than that waits only what it has.
    short = FakeTask(timeout=5)
    restore_sessions.matching_sessions(short, source, "v1", "test", "web01_TEST")
    assert short.now == pytest.approx(5)


def test_after_a_lost_answer_only_a_new_session_counts(listings):
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    old = session("s1", "RESOURCE ACTIVE", [entry()])
    listings.extend([[old, session("s2", "PENDING")], [old, session("s2", "RUNNING", [entry(moref="vm-21")])]])
    task = FakeTask()
    task.seen_sessions.add("s1")
    assert restore_sessions.find_after_loss(task, source, "v1", "test", "web01_TEST")["id"] == "s2"
    assert task.lines == ["the restore answer was lost; looking for the restore session it started (1 undecided)"]


def test_after_a_lost_answer_the_search_ends(listings):
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    listings.append([])
    task = FakeTask()
    assert restore_sessions.find_after_loss(task, source, "v1", "test", "web01_TEST") is None
    assert task.now == pytest.approx(restore_sessions.FIND_AFTER_LOSS_SECONDS)
    listings[:] = [ApiError(503, description="busy")]
    failing = FakeTask()
    assert restore_sessions.find_after_loss(failing, source, "v1", "test", "web01_TEST") is None
    assert failing.lines[0].startswith("could not look for the restore session after the lost answer")


# -- applying a plan (services/restore.py) ------------------------------------------------------------------------

def test_every_step_a_plan_names_has_a_function():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    named = set()
    for req in (request(), request(state="promoted"), request(state="cloned"),
                request(mode="production", keep_current=True), request(mode="production", overwrite=True)):
        named.update(restore_plan.plan_restore(req, source, POINT, "web01_TEST", None, None, None)["steps"])
    named.update(restore_plan.plan_absent(request(state="absent"), None, [{"name": "x"}])["steps"])
    assert named == set(restore_service.STEPS)
    assert set(restore_plan.ACTIONS.values()) <= set(restore_service.STEPS)


def keep_current_restore(monkeypatch, fail_with):
    """A production restore with keep_current whose restore step fails with ``fail_with``; returns the renames."""
    renames = []
    monkeypatch.setattr(vsphere_vms, "rename_vm", lambda _client, moref, name, timeout: renames.append((moref, name)))

    def failing_restore(*_args):
        raise fail_with

    monkeypatch.setattr(restore_sessions, "do_restore", failing_restore)
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    req = request(mode="production", keep_current=True)
    work = restore_service.PlannedRestore(source, POINT, target_name="web01")
    work.plan = restore_plan.plan_present(req, source, POINT, "web01", [vc_vm("web01", "vm-10")], None, None)
    return FakeTask(req), work, renames


def test_a_failed_restore_gives_the_current_vm_its_name_back(monkeypatch):
    task, work, renames = keep_current_restore(monkeypatch, TaskFailed("the restore of web01 ended FAILED.",
                                                                       session_id="5"))
    with pytest.raises(TaskFailed) as caught:
        restore_service._apply(task, work)
    assert caught.value.message == ("the restore of web01 ended FAILED. It was renamed web01_OLD for the restore, "
                                    "and has its name back.")
    assert caught.value.details == {"session_id": "5"}
    assert renames == [("vm-10", "web01_OLD"), ("vm-10", "web01")]
    assert work.done == ["rename_current"]


def test_a_restore_that_may_still_run_keeps_the_rename(monkeypatch):
    task, work, renames = keep_current_restore(monkeypatch, AmbiguousResult("the answer was lost"))
    with pytest.raises(AmbiguousResult):
        restore_service._apply(task, work)
    assert renames == [("vm-10", "web01_OLD")], "the next run follows the restore; the name stays free for it"


def test_a_restore_not_waited_for_stops_the_steps(monkeypatch):
    monkeypatch.setattr(restore_sessions, "do_restore", lambda *_args: ({"id": 42}, None))
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    req = request(state="promoted", wait=False)
    work = restore_service.PlannedRestore(source, POINT, target_name="web01_TEST")
    work.plan = restore_plan.plan_present(req, source, POINT, "web01_TEST", [], None, None)
    work.diff = {"before": {}, "after": {}}
    task = FakeTask(req)
    restore_service._apply(task, work)
    assert work.done == ["restore"] and work.running and work.session_id == "42"
    result = restore_service._applied_result(task, work)
    assert (result["state"], result["name"], result["session_id"], result["changed"]) == (
        "running", "web01_TEST", "42", True)
