# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_run: the pure parts of the service (targets, pre-flight, grouping, skip, outcomes, messages), and the
two SPP calls it adds (ad hoc backup, multi-session wait) against the scripted server."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import backup_run as br
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    Conflict,
    InvalidRequest,
    RuleViolation,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import backup as spp_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions

from spp_fake_server import DROP, Reply

HOUR_MS = 3600 * 1000
NOW = 1_800_000_000_000


def record(name, moref, policies=(), known=True, snapshots=False, disks=None, uuid=None):
    return {"name": name, "moref": moref, "instance_uuid": uuid or "uuid-" + moref, "spp_id": "spp-" + moref if known else None,
            "known_to_backup": known, "policies": sorted(policies), "has_snapshots": snapshots,
            "disks": disks if disks is not None else [{"label": "Hard disk 1", "mode": "normal", "policies": []}]}


# -- durations and times --------------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, seconds", [("30m", 1800), ("4h", 14400), ("1d", 86400), ("1h30m", 5400),
                                           ("2w", 1209600), (" 45 s ", 45), ("1H", 3600)])
def test_parse_duration(text, seconds):
    assert br.parse_duration(text, "skip_if_backed_up_within") == seconds


@pytest.mark.parametrize("text", ["", "4", "h", "4x", "4h-1m", "0m", "-1h", "1.5h"])
def test_parse_duration_rejects(text):
    with pytest.raises(InvalidRequest) as caught:
        br.parse_duration(text, "skip_if_backed_up_within")
    assert "skip_if_backed_up_within" in str(caught.value)


def test_iso_time():
    assert br.iso_time(0) == "1970-01-01T00:00:00Z"
    assert br.iso_time(None) is None


# -- targets ------------------------------------------------------------------------------------------------------

def test_resolve_targets_by_name_moref_and_uuid_in_order_without_repeats():
    records = [record("web01", "vm-1"), record("db01", "vm-2", uuid="5003-aa"), record("app", "vm-3")]
    targets, problems = br.resolve_targets(["db01", "vm-1", "5003-aa", "web01"], records)
    assert [t["moref"] for t in targets] == ["vm-2", "vm-1"] and problems == []


def test_resolve_targets_lists_every_unknown_and_ambiguous_name():
    records = [record("twin", "vm-1"), record("twin", "vm-2"), record("web01", "vm-3")]
    targets, problems = br.resolve_targets(["twin", "ghost", "web01", "vm-2"], records)
    assert [t["moref"] for t in targets] == ["vm-3", "vm-2"]
    assert [(p["rule"], p["vm"]) for p in problems] == [("ambiguous_name", "twin"), ("vm_not_found", "ghost")]
    assert "vm-1, vm-2" in problems[0]["reason"]


def test_policy_members_include_disk_level_assignments():
    disk_only = record("d", "vm-2", disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["Gold"]}])
    records = [record("a", "vm-1", ["Gold"]), disk_only, record("c", "vm-3", ["Silver"])]
    assert [r["name"] for r in br.policy_members(records, "Gold")] == ["a", "d"]


# -- pre-flight ---------------------------------------------------------------------------------------------------

def test_choose_policy_first_vm_level_policy_not_held():
    vm = record("web01", "vm-1", ["Bronze", "Gold", "Silver"])
    assert br.choose_policy(vm, held=set()) == ("Bronze", None)
    assert br.choose_policy(vm, held={"Bronze"}) == ("Gold", None)


def test_choose_policy_explicit_must_be_one_of_the_vm_policies_and_not_held():
    vm = record("web01", "vm-1", ["Gold"], disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["DR"]}])
    assert br.choose_policy(vm, set(), "DR") == ("DR", None)
    sla, problem = br.choose_policy(vm, set(), "Silver")
    assert sla is None and problem["rule"] == "policy_not_assigned" and "Gold, DR (disk)" in problem["reason"]
    sla, problem = br.choose_policy(vm, {"Gold"}, "Gold")
    assert sla is None and problem["rule"] == "policy_held" and "backup_sla_policy" in problem["fix"]


def test_choose_policy_without_policies():
    assert br.choose_policy(record("a", "vm-1"), set())[1]["rule"] == "no_policy"
    disk_only = record("b", "vm-2", disks=[{"label": "Hard disk 2", "mode": "normal", "policies": ["DR"]}])
    sla, problem = br.choose_policy(disk_only, set())
    assert sla is None and problem["rule"] == "no_policy" and "only disks carry policies (DR)" in problem["reason"]
    sla, problem = br.choose_policy(record("c", "vm-3", ["Gold", "Silver"]), {"Gold", "Silver"})
    assert sla is None and problem["rule"] == "all_policies_held" and "Gold, Silver" in problem["reason"]


def test_preflight_reports_every_refusal_of_every_target():
    targets = [
        record("fine", "vm-1", ["Gold"]),
        record("new", "vm-2", known=False),
        record("bare", "vm-3"),
        record("held", "vm-4", ["Silver"]),
        record("snap", "vm-5", ["Gold"], snapshots=True),
        record("snap-but-backed-up", "vm-6", ["Gold"], snapshots=True),
    ]
    chosen, violations = br.preflight(targets, {"Silver"}, {"vm-1": None, "vm-5": None, "vm-6": NOW})
    assert chosen == {"vm-1": "Gold", "vm-6": "Gold"}
    assert [(v["vm"], v["rule"]) for v in violations] == [
        ("new", "unknown_to_backup"), ("bare", "no_policy"), ("held", "all_policies_held"),
        ("snap", "first_backup_with_snapshots")]
    assert "never deletes a snapshot" in violations[-1]["fix"]
    assert "rescan_until_visible: [new]" in violations[0]["fix"]
    message = str(RuleViolation(violations, outcome="no backup was started"))
    assert message.startswith("4 rule violation(s); no backup was started:")
    assert all(name in message for name in ("new", "bare", "held", "snap"))


def test_recent_targets():
    targets = [record("a", "vm-1"), record("b", "vm-2"), record("c", "vm-3")]
    last = {"vm-1": NOW - HOUR_MS, "vm-2": NOW - 5 * HOUR_MS, "vm-3": None}
    assert br.recent_targets(targets, last, NOW, 4 * 3600) == {"vm-1"}
    assert br.recent_targets(targets, last, NOW, None) == set()


# -- grouping -----------------------------------------------------------------------------------------------------

def test_build_groups_one_per_sla_in_name_order():
    targets = [record("a", "vm-1"), record("b", "vm-2"), record("c", "vm-3"), record("d", "vm-4")]
    chosen = {"vm-1": "Silver", "vm-2": "Gold", "vm-3": "Silver", "vm-4": "Gold"}
    groups = br.build_groups(targets, chosen, skipped={"vm-4"})
    assert groups == [
        {"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-2"]},
        {"policy": "Silver", "job": "vmware_Silver", "action": "adhoc", "morefs": ["vm-1", "vm-3"]},
    ]


def test_build_groups_whole_policy_starts_its_job_unless_some_are_skipped():
    targets = [record("a", "vm-1"), record("b", "vm-2")]
    chosen = {"vm-1": "Gold", "vm-2": "Gold"}
    group = br.build_groups(targets, chosen, set(), whole_policy="Gold", job_names={"vmware_Gold"})[0]
    assert group["action"] == "start_job"
    group = br.build_groups(targets, chosen, {"vm-1"}, whole_policy="Gold", job_names={"vmware_Gold"})[0]
    assert group["action"] == "adhoc" and group["morefs"] == ["vm-2"]
    assert br.build_groups(targets, chosen, {"vm-1", "vm-2"}, whole_policy="Gold", job_names={"vmware_Gold"}) == []


def test_running_conflicts_for_if_running_fail():
    groups = [{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-1", "vm-2"]},
              {"policy": "Silver", "job": "vmware_Silver", "action": "adhoc", "morefs": ["vm-3"]}]
    problems = br.running_conflicts(groups, {"vmware_Gold": "17"}, {"vm-1": "a", "vm-2": "b", "vm-3": "c"})
    assert len(problems) == 1 and problems[0]["vm"] == "a, b" and "session 17" in problems[0]["reason"]


# -- outcomes -----------------------------------------------------------------------------------------------------

ERROR = {"type": "ERROR", "messageId": "CTGGA2391", "message": "Backup of virtual machine web01 failed: boom",
         "messageParams": ["web01", "boom"]}
WARN = {"type": "WARN", "messageId": "CTGGA2393", "message": "Disk Hard disk 2 of virtual machine web01 is rdm: ..."}


def test_mentions_matches_whole_names_only():
    assert br.mentions(ERROR, "web01")
    assert br.mentions({"message": "VM web01 failed"}, "web01")
    assert not br.mentions({"message": "VM web010 failed"}, "web01")
    assert not br.mentions({"message": "VM web01-old failed"}, "web01")
    assert not br.mentions({"message": "VM x-web01 failed"}, "web01")


@pytest.mark.parametrize("version, entries, started, status, stats, outcome", [
    ({"id": "v1"}, [WARN], True, "COMPLETED", {}, "success"),
    (None, [ERROR], True, "PARTIAL", {"failed": 1}, "failed"),
    (None, [WARN], True, "COMPLETED", {"skipped": 1}, "skipped"),
    (None, [], True, "COMPLETED", {"failed": 0}, "skipped"),
    (None, [], True, "FAILED", {"failed": 1}, "failed"),
    (None, [], True, "PARTIAL", {"failed": 1}, "failed"),
    (None, [], False, "COMPLETED", {}, None),  # someone else's run, without this VM: it needs its own backup
    (None, [ERROR], False, "PARTIAL", {}, "failed"),
])
def test_vm_outcome(version, entries, started, status, stats, outcome):
    session = {"status": status, "properties": {"statistics": [{"resourceType": "vm", **stats}]}}
    assert br.vm_outcome("web01", session, version, entries, started) == outcome


def test_not_captured_disks():
    disks = [{"label": "Hard disk 1", "mode": "normal", "policies": []},
             {"label": "Hard disk 2", "mode": "independent", "policies": []},
             {"label": "Hard disk 3", "mode": "rdm", "policies": ["DR"]},
             {"label": "Hard disk 4", "mode": "normal", "policies": ["DR"]}]
    vm = record("web01", "vm-1", ["Gold"], disks=disks)
    assert br.not_captured_disks(vm, "Gold") == ["Hard disk 2", "Hard disk 3"]
    assert br.not_captured_disks(vm, "DR") == ["Hard disk 1", "Hard disk 2", "Hard disk 3"]


def test_recovery_point_and_log_line():
    version = {"id": 42, "protectionInfo": {"protectionTime": 1000}}
    assert br.recovery_point(version) == {"id": "42", "time": 1000, "time_iso": "1970-01-01T00:00:01Z"}
    assert br.recovery_point(None) is None
    line = br.log_line(dict(ERROR, jobsessionId=7, logTime=2000))
    assert line == {"session_id": "7", "time": 2000, "time_iso": "1970-01-01T00:00:02Z", "type": "ERROR",
                    "message_id": "CTGGA2391", "message": ERROR["message"]}


def test_failure_message_names_each_failed_vm_with_its_error_line():
    vms = [{"name": "web01", "outcome": "failed", "session_id": "7", "messages": [br.format_entry(WARN), br.format_entry(ERROR)]},
           {"name": "db01", "outcome": "success", "session_id": "7", "messages": []},
           {"name": "app01", "outcome": "failed", "session_id": "8", "messages": []}]
    text = br.failure_message(vms, [{"id": "7", "status": "PARTIAL"}, {"id": "8", "status": "FAILED"}])
    assert text.startswith("the backup failed for 2 of 3 VM(s) (1 success):")
    assert "- web01 (session 7): ERROR CTGGA2391: Backup of virtual machine web01 failed: boom" in text
    assert "WARN" not in text.split("\n")[1]
    assert "- app01 (session 8): no recovery point was recorded" in text
    assert "7 PARTIAL, 8 FAILED" in text


def test_timeout_message_names_the_running_sessions_and_claims_no_failure():
    running = [("17", {"id": "17", "status": "RUNNING", "percent": 40, "jobName": "vmware_Gold"})]
    vms = [{"name": "web01", "outcome": "running"}, {"name": "db01", "outcome": "success"}]
    text = br.timeout_message(1, running, vms)
    assert "SPP job session 17 (job 'vmware_Gold') is RUNNING at 40%" in text
    assert "keeps running on the server" in text and "follow session 17" in text
    assert "has not failed" in text and "Still running for: web01." in text
    assert "failed in a session" not in text


# -- the SPP calls ------------------------------------------------------------------------------------------------

VM = {"id": "abc", "name": "web01", "links": {"self": {"href": "https://spp/api/hypervisor/1001/vm/abc?from=hlo"}}}


def test_adhoc_payload():
    assert spp_backup.adhoc_payload("Gold", [VM]) == {
        "slaPolicyName": "Gold", "subtype": "vmware", "resource": ["https://spp/api/hypervisor/1001/vm/abc?from=hlo"]}


def test_start_adhoc_backup_returns_the_session_id(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {
        "name": "vmware_Gold", "id": "1005", "jobId": "1005", "sessionId": "1777", "slaPolicyName": "Gold"}}))
    client = make_client(fake_spp)
    assert spp_backup.start_adhoc_backup(client, "Gold", [VM]) == "1777"
    post = [r for r in fake_spp.requests if r.path == "/ngp/hypervisor"][0]
    assert post.query == {"action": "adhoc"} and post.json["resource"] == [VM["links"]["self"]["href"]]


def test_start_adhoc_backup_lost_answer_is_never_resent(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", DROP)
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        spp_backup.start_adhoc_backup(client, "Gold", [VM])
    assert "may have started the backup of web01 with SLA 'Gold'" in str(caught.value)
    assert "sessions of job 'vmware_Gold'" in str(caught.value)
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1


def test_start_adhoc_backup_conflict_when_the_job_runs(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(409, {"statusCode": 409, "response": {
        "id": "JobAlreadyRunningException", "description": "concurrent runs for the same job is not supported"}}))
    client = make_client(fake_spp)
    with pytest.raises(Conflict):
        spp_backup.start_adhoc_backup(client, "Gold", [VM])
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1


def test_wait_for_sessions_polls_all_in_one_loop(fake_spp, make_client):
    reads = {"1": 0, "2": 0}

    def session(session_id, until):
        def answer(_request):
            reads[session_id] += 1
            done = reads[session_id] >= until
            return Reply(200, {"id": session_id, "status": "COMPLETED" if done else "RUNNING", "percent": 100 if done else 50})
        return answer

    fake_spp.route("GET", "/api/endeavour/jobsession/1", session("1", 2))
    fake_spp.route("GET", "/api/endeavour/jobsession/2", session("2", 4))
    client = make_client(fake_spp)
    seen = []
    result = spp_jobs.wait_for_sessions(client, ["1", "2"], timeout=5, poll=0.01, progress=seen.append)
    assert {k: v["status"] for k, v in result.items()} == {"1": "COMPLETED", "2": "COMPLETED"}
    assert reads == {"1": 2, "2": 4}, "an ended session is not read again"


def test_wait_for_sessions_timeout_names_only_the_running_ones(fake_spp, make_client):
    fake_spp.route("GET", "/api/endeavour/jobsession/1", Reply(200, {"id": "1", "status": "COMPLETED"}))
    fake_spp.route("GET", "/api/endeavour/jobsession/2", Reply(200, {"id": "2", "status": "RUNNING", "percent": 30,
                                                                     "jobName": "vmware_Gold"}))
    client = make_client(fake_spp)
    seen = {}
    with pytest.raises(WaitTimeout) as caught:
        spp_jobs.wait_for_sessions(client, ["1", "2"], timeout=0.1, poll=0.02, seen=seen)
    text = str(caught.value)
    assert "SPP job session 2 (job 'vmware_Gold') is RUNNING at 30%" in text and "keeps running" in text
    assert "session 1 " not in text
    assert caught.value.details["sessions"] == [{"id": "2", "status": "RUNNING", "percent": 30}]
    assert seen["1"]["status"] == "COMPLETED"


def test_version_of_session_reads_the_list_only_when_a_newer_point_exists(fake_spp, make_client):
    vm = {"name": "web01", "links": {"latestversion": {"href": fake_spp.href("/api/hypervisor/1001/vm/abc/latestversion")},
                                     "versions": {"href": fake_spp.href("/api/hypervisor/1001/vm/abc/version")}}}
    mine = {"id": "v1", "sessionId": "7", "protectionInfo": {"protectionTime": 100}}
    newer = {"id": "v2", "sessionId": "9", "protectionInfo": {"protectionTime": 200}}
    fake_spp.route("GET", "/api/hypervisor/1001/vm/abc/latestversion", Reply(200, newer))
    fake_spp.route("GET", "/api/hypervisor/1001/vm/abc/version", Reply(200, {"versions": [newer, mine], "total": 2}))
    client = make_client(fake_spp)
    assert spp_versions.version_of_session(client, vm, "7", since=50)["id"] == "v1"
    assert spp_versions.version_of_session(client, vm, "9")["id"] == "v2"
    assert fake_spp.count("GET", "/api/hypervisor/1001/vm/abc/version") == 1
    assert spp_versions.version_of_session(client, vm, "8", since=300) is None, "the newest point is older: no list"
    assert fake_spp.count("GET", "/api/hypervisor/1001/vm/abc/version") == 1


# -- the start phase ----------------------------------------------------------------------------------------------

class _NoClient:
    def log(self, message):
        pass


def test_a_409_after_another_group_started_names_the_started_session(monkeypatch):
    run = br.BackupRun(_NoClient(), None)
    run.records = {"vm-1": record("a", "vm-1"), "vm-2": record("b", "vm-2")}
    answers = iter(["101", Conflict(409, "JobAlreadyRunningException", "concurrent runs")])

    def start(_client, _sla, _vms):
        answer = next(answers)
        if isinstance(answer, Exception):
            raise answer
        return answer

    monkeypatch.setattr(spp_backup, "start_adhoc_backup", start)
    monkeypatch.setattr(spp_jobs, "find_job", lambda client, name: {"name": name})
    monkeypatch.setattr(spp_jobs, "running_session", lambda client, job: {"id": "99", "status": "RUNNING", "percent": 10})
    groups = [{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-1"]},
              {"policy": "Silver", "job": "vmware_Silver", "action": "adhoc", "morefs": ["vm-2"]}]
    with pytest.raises(br.JobAlreadyRunning) as caught:
        run.execute(groups, timeout=10, poll_interval=1, if_running="fail")
    text = str(caught.value)
    assert "job vmware_Silver of SLA policy Silver is already running (SPP job session 99 is RUNNING at 10%)" in text
    assert "Job session(s) 101 (Gold) of this run had already started and keep running on the server." in text
    assert caught.value.details["changed"] is True and caught.value.details["running_session"] == "99"
    assert [s["id"] for s in caught.value.details["sessions"]] == ["101"]


def test_a_409_without_a_running_session_is_not_hidden(monkeypatch):
    run = br.BackupRun(_NoClient(), None)
    run.records = {"vm-1": record("a", "vm-1")}

    def start(_client, _sla, _vms):
        raise Conflict(409, None, "something else")

    monkeypatch.setattr(spp_backup, "start_adhoc_backup", start)
    monkeypatch.setattr(spp_jobs, "find_job", lambda client, name: {"name": name})
    monkeypatch.setattr(spp_jobs, "running_session", lambda client, job: None)
    with pytest.raises(Conflict):
        run.execute([{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-1"]}], 10, 1)
