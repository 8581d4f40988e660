# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""vm_backup_run: the SPP calls it adds (ad hoc backup, multi-session wait) against the scripted server, and the start
phase of the service. Its decisions are tested in tests/unit/plugins/module_utils/pure/test_backup_run_plan.py."""

from __future__ import annotations

import json
import time

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import spp_backup as spp_backup_seam
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import backup_run as br
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    Conflict,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import backup as spp_backup
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import versions as spp_versions

from spp_fake_server import DROP, Reply


def record(name, moref, policies=(), known=True, snapshots=False, disks=None, uuid=None):
    return {"name": name, "moref": moref, "instance_uuid": uuid or "uuid-" + moref, "spp_id": "spp-" + moref if known else None,
            "known_to_backup": known, "policies": sorted(policies), "has_snapshots": snapshots,
            "disks": disks if disks is not None else [{"label": "Hard disk 1", "mode": "normal", "policies": []}]}


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


def _sessions_route(fake_spp, sessions):
    """The job-session listing with its filters (jobName, jobId, start >=) and total 0 (APAR IT45897)."""
    def listing(request):
        found = list(sessions)
        for criterion in json.loads(request.query.get("filter") or "[]"):
            key, value = criterion["property"], criterion["value"]
            found = [s for s in found if (s[key] >= value if criterion["op"] == ">=" else str(s[key]) == str(value))]
        return Reply(200, {"sessions": found, "total": 0})
    fake_spp.route("GET", "/api/endeavour/jobsession", listing)


def test_start_adhoc_backup_finds_its_session_by_job_name_and_start_time(fake_spp, make_client):
    """Public record: the answer has only name and id; an earlier run of the job (and lastrun) is never taken."""
    now = int(time.time() * 1000)
    sessions = [{"id": "1500", "jobId": "1005", "jobName": "vmware_Gold", "start": now - 3_600_000},
                {"id": "1600", "jobId": "1006", "jobName": "vmware_Silver", "start": now + 5}]
    _sessions_route(fake_spp, sessions)

    def post(_request):
        sessions.append({"id": "1777", "jobId": "1005", "jobName": "vmware_Gold", "start": int(time.time() * 1000)})
        return Reply(201, {"statusCode": 201, "response": {"name": "vmware_Gold", "id": "1005"}})

    fake_spp.route("POST", "/ngp/hypervisor", post)
    client = make_client(fake_spp)
    assert spp_backup.start_adhoc_backup(client, "Gold", [VM], poll=0.01) == "1777"
    listing = [r for r in fake_spp.requests if r.path == "/api/endeavour/jobsession"][0]
    criteria = json.loads(listing.query["filter"])
    assert {"property": "jobName", "value": "vmware_Gold", "op": "="} in criteria
    assert [c["op"] for c in criteria if c["property"] == "start"] == [">="]
    assert fake_spp.count("GET", "/api/endeavour/job") == 0, "the job's lastrun is not read"


def test_start_adhoc_backup_waits_for_a_session_that_shows_up_late(fake_spp, make_client):
    sessions = []
    _sessions_route(fake_spp, sessions)
    reads = {"n": 0}

    def jobs_listing(_request):
        reads["n"] += 1
        if reads["n"] == 2:  # the session shows up after the first round of reads
            sessions.append({"id": "1888", "jobId": "1005", "jobName": "vmware_Gold", "start": int(time.time() * 1000)})
        return Reply(200, {"jobs": [{"id": "1005", "name": "vmware_Gold", "links": {}}], "total": 1})

    fake_spp.route("GET", "/api/endeavour/job", jobs_listing)
    fake_spp.route("GET", "/api/endeavour/job/1005", Reply(200, {"id": "1005", "name": "vmware_Gold", "links": {}}))
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {"name": "vmware_Gold",
                                                                                          "id": "1005"}}))
    client = make_client(fake_spp)
    assert spp_backup.start_adhoc_backup(client, "Gold", [VM], poll=0.01) == "1888"


def test_start_adhoc_backup_times_out_clearly_and_never_posts_twice(fake_spp, make_client):
    _sessions_route(fake_spp, [{"id": "1500", "jobId": "1005", "jobName": "vmware_Gold", "start": 1}])
    fake_spp.route("GET", "/api/endeavour/job", Reply(200, {"jobs": [], "total": 0}))
    fake_spp.route("POST", "/ngp/hypervisor", Reply(201, {"statusCode": 201, "response": {"name": "x", "id": "1"}}))
    client = make_client(fake_spp)
    with pytest.raises(WaitTimeout) as caught:
        spp_backup.start_adhoc_backup(client, "Gold", [VM], timeout=0.2, poll=0.05)
    text = str(caught.value)
    assert "no session of job 'x' or 'vmware_Gold' started since then" in text and "before running it again" in text
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1


def test_start_adhoc_backup_lost_answer_is_never_resent(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", DROP)
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        spp_backup.start_adhoc_backup(client, "Gold", [VM])
    assert "may have started the backup of web01 with SLA 'Gold'" in str(caught.value)
    assert "sessions of job 'vmware_Gold'" in str(caught.value)
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1


def test_start_adhoc_backup_lost_answer_without_a_new_session_is_raised_after_looking(fake_spp, make_client):
    _sessions_route(fake_spp, [{"id": "1500", "jobId": "1005", "jobName": "vmware_Gold", "start": 1}])
    fake_spp.route("GET", "/api/endeavour/job", Reply(200, {"jobs": [], "total": 0}))
    fake_spp.route("POST", "/ngp/hypervisor", Reply(503, {"statusCode": 503, "response": {"id": "Unavailable"}}))
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        spp_backup.start_adhoc_backup(client, "Gold", [VM], timeout=0.3, poll=0.05)
    assert "got HTTP 503" in str(caught.value) and "sessions of job 'vmware_Gold'" in str(caught.value)
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1
    assert fake_spp.count("GET", "/api/endeavour/jobsession") >= 1, "it looked for the session before giving up"


@pytest.mark.parametrize("fault", ["drop", 503, 504], ids=["dropped", "503-after-effect", "504-after-effect"])
def test_start_adhoc_backup_whose_answer_was_lost_after_it_started_follows_its_session(fake_spp, make_client, fault):
    now = int(time.time() * 1000)
    sessions = [{"id": "1500", "jobId": "1005", "jobName": "vmware_Gold", "start": now - 3_600_000}]
    _sessions_route(fake_spp, sessions)

    def started_then_lost(_request):
        sessions.append({"id": "1777", "jobId": "1005", "jobName": "vmware_Gold", "start": int(time.time() * 1000)})
        return DROP if fault == "drop" else Reply(fault, {"statusCode": fault, "response": {"id": "Unavailable"}})

    fake_spp.route("POST", "/ngp/hypervisor", started_then_lost)
    client = make_client(fake_spp)
    assert spp_backup.start_adhoc_backup(client, "Gold", [VM], timeout=5, poll=0.05) == "1777"
    assert fake_spp.count("POST", "/ngp/hypervisor") == 1, "never sent twice"


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
    logged_in = True  # the per-VM reads after a session run in a pool of threads, which logs in first

    def log(self, message):
        pass


def test_a_409_after_another_group_started_names_the_started_session(monkeypatch):
    run = br.BackupRun(SppBackupService(_NoClient()), None)
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
    run = br.BackupRun(SppBackupService(_NoClient()), None)
    run.records = {"vm-1": record("a", "vm-1")}

    def start(_client, _sla, _vms):
        raise Conflict(409, None, "something else")

    monkeypatch.setattr(spp_backup, "start_adhoc_backup", start)
    monkeypatch.setattr(spp_jobs, "find_job", lambda client, name: {"name": name})
    monkeypatch.setattr(spp_jobs, "running_session", lambda client, job: None)
    with pytest.raises(Conflict):
        run.execute([{"policy": "Gold", "job": "vmware_Gold", "action": "adhoc", "morefs": ["vm-1"]}], 10, 1)


def test_settle_gives_each_vm_the_log_lines_about_it(monkeypatch):
    run = br.BackupRun(SppBackupService(_NoClient()), None)
    run.records = {"vm-1": record("web01", "vm-1"), "vm-2": record("web010", "vm-2"), "vm-3": record("db01", "vm-3")}
    error = {"type": "ERROR", "messageId": "E1", "message": "Backup of virtual machine web01 failed: boom"}
    warn = {"type": "WARN", "messageId": "W1", "message": "Disk Hard disk 2 of virtual machine web010 is rdm"}
    monkeypatch.setattr(spp_jobs, "get_session", lambda client, session_id: {"id": session_id, "status": "PARTIAL"})
    monkeypatch.setattr(spp_jobs, "get_session_logs", lambda client, session_id, types: [error, warn])
    run.backup.vms_by_id = {"spp-vm-3": {"id": "spp-vm-3", "name": "db01"}}
    monkeypatch.setattr(spp_versions, "version_of_session",
                        lambda client, vm, session_id, since=None: {"id": "v3"} if vm.get("name") == "db01" else None)
    leftover = run._settle({"id": "7", "started": True, "morefs": ["vm-1", "vm-2", "vm-3"]})
    assert leftover == []
    assert {moref: (o["outcome"], o["messages"]) for moref, o in run.outcomes.items()} == {
        "vm-1": ("failed", ["ERROR E1: Backup of virtual machine web01 failed: boom"]),
        "vm-2": ("skipped", ["WARN W1: Disk Hard disk 2 of virtual machine web010 is rdm"]),
        "vm-3": ("success", []),
    }


# -- the last backup time: from the listing when it has it, else from latestversion (spp-api.md 14.15) -------------


def _prepared(monkeypatch, records, last_backups, **options):
    """``BackupRun.prepare`` over joined ``records``; ``last_backups`` answers ``spp_listing.last_backups``."""
    asked = []

    def read_last(_client, vms, **_options):
        asked.append(sorted(vm["id"] for vm in vms))
        return {vm["id"]: last_backups[vm["id"]] for vm in vms}

    run = br.BackupRun(SppBackupService(_NoClient()), None, now_ms=10_000_000)
    monkeypatch.setattr(run.reader, "read", lambda: (records, [], []))
    run.backup.vms_by_id = {r["spp_id"]: {"id": r["spp_id"], "name": r["name"]} for r in records}
    monkeypatch.setattr(spp_listing, "last_backups", read_last)
    monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **_kwargs: [{"name": "Gold"}])
    monkeypatch.setattr(spp_jobs, "list_jobs", lambda client, **_kwargs: [{"name": "vmware_Gold", "status": "IDLE"}])
    monkeypatch.setattr(spp_versions, "latest_version", lambda client, vm: pytest.fail("read again"))
    return run, run.prepare(**options), asked


def test_skip_if_backed_up_within_reads_latestversion_once_and_says_so(monkeypatch):
    version = {"id": "v1", "sessionId": "55", "protectionInfo": {"protectionTime": 9_000_000}}
    records = [record("web01", "vm-1", ["Gold"]), record("web02", "vm-2", ["Gold"])]
    last = {"spp-vm-1": {"time": 9_000_000, "policy": "Gold", "source": "latestversion", "version": version},
            "spp-vm-2": {"time": None, "policy": None, "source": "latestversion", "version": None}}
    run, prepared, asked = _prepared(monkeypatch, records, last, vms=["web01", "web02"], within_seconds=3600)
    groups, _plan, order = prepared
    assert asked == [["spp-vm-1", "spp-vm-2"]], "only the targets, in one call"
    assert [g["morefs"] for g in groups] == [["vm-2"]] and order == ["vm-1", "vm-2"]
    skipped = run.outcomes["vm-1"]
    assert skipped["outcome"] == "skipped" and skipped["version"] is version and skipped["session_id"] == "55"
    assert "read from its latestversion" in skipped["messages"][0]


def test_the_first_backup_check_uses_the_same_source(monkeypatch):
    records = [record("web01", "vm-1", ["Gold"], snapshots=True), record("web02", "vm-2", ["Gold"], snapshots=True)]
    last = {"spp-vm-1": {"time": 9_000_000, "policy": "Gold", "source": "latestversion", "version": None},
            "spp-vm-2": {"time": None, "policy": None, "source": "recovery_search", "version": None}}
    with pytest.raises(br.RuleViolation) as caught:
        _prepared(monkeypatch, records, last, vms=["web01", "web02"])
    assert [(v["vm"], v["rule"]) for v in caught.value.details["violations"]] == [
        ("web02", "first_backup_with_snapshots")]


# -- settling in bulk (issue 14): a whole-policy run of many VMs ------------------------------------------------------

SESSION_START = 1_000_000


def _bulk_lab(fake_spp, make_client, count, catalogue_answer=None, session_of=lambda index: "77"):
    """A run of ``count`` VMs in session "77", over the scripted server: VM i has a point from this session when i % 4
    is 0, an older point only when i % 4 is 1 (its catalogue item says when), an older point that the catalogue does not
    date when i % 4 is 2, and no point at all when i % 4 is 3 (absent from the catalogue). One ERROR line names vm-0003."""
    import threading  # pylint: disable=import-outside-toplevel

    run = br.BackupRun(SppBackupService(make_client(fake_spp)), None)
    run.records = {"vm-%d" % i: record("web %04d" % i, "vm-%d" % i) for i in range(count)}
    run.backup.vms_by_id = {
        "spp-vm-%d" % i: {"id": "spp-vm-%d" % i, "name": "web %04d" % i, "links": {"latestversion": {
            "href": fake_spp.href("/api/hypervisor/1001/vm/spp-vm-%d/latestversion" % i)}}} for i in range(count)}
    run.seen["77"] = {"id": "77", "status": "PARTIAL", "start": SESSION_START}
    in_flight = {"now": 0, "most": 0}
    lock = threading.Lock()

    def latest(request):
        index = int(request.path.split("/")[-2].rsplit("-", 1)[1])
        with lock:
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])
        time.sleep(0.01)
        with lock:
            in_flight["now"] -= 1
        if index % 4 == 3:
            return Reply(404, {"id": "RecoveryPointNotFoundException", "description": "no point"})
        new = index % 4 == 0
        return Reply(200, {"id": "v%d" % index, "sessionId": session_of(index) if new else "70", "protectionInfo": {
            "protectionTime": SESSION_START + 10 if new else SESSION_START - 10}})

    for index in range(count):
        fake_spp.route("GET", "/api/hypervisor/1001/vm/spp-vm-%d/latestversion" % index, latest)
    catalogue = [{"id": "spp-vm-%d" % i, "protectionInfo": (
        {"protectionTime": SESSION_START - 10} if i % 4 == 1 else {"protectionTime": SESSION_START + 10} if i % 4 == 0
        else {})} for i in range(count) if i % 4 != 3]

    def search(request):
        start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
        return Reply(200, {"vms": catalogue[start:start + size], "total": len(catalogue)})

    fake_spp.route("POST", "/api/hypervisor/search", catalogue_answer or search)
    fake_spp.route("GET", "/api/endeavour/log/job", Reply(200, {"logs": [
        {"type": "ERROR", "messageId": "E1", "message": "Backup of virtual machine web 0003 failed: no snapshot"}],
        "total": 1}))
    return run, in_flight


def _reads(fake_spp):
    return sum(1 for request in fake_spp.requests if request.path.endswith("/latestversion"))


def test_a_big_run_reads_only_the_vms_that_may_have_a_new_point_in_parallel(fake_spp, make_client):
    count = 200
    run, in_flight = _bulk_lab(fake_spp, make_client, count)
    leftover = run._settle_all([{"id": "77", "started": True, "morefs": list(run.records)}])
    assert leftover == {"77": []}
    assert fake_spp.count("POST", "/api/hypervisor/search") == 1, "one paged query of the recovery catalogue"
    # read: the new points (i % 4 == 0) and the undated ones (i % 4 == 2); never the older or absent ones
    assert _reads(fake_spp) == count // 2
    assert 1 < in_flight["most"] <= spp_listing.PARALLEL_READS, "a bounded pool of threads, not a plain loop"
    assert fake_spp.count("GET", "/api/endeavour/log/job") == 1
    outcomes = {moref: run.outcomes[moref]["outcome"] for moref in run.records}
    assert {outcomes["vm-%d" % i] for i in range(0, count, 4)} == {"success"}
    assert run.outcomes["vm-0"]["version"]["id"] == "v0"
    assert outcomes["vm-3"] == "failed" and run.outcomes["vm-3"]["messages"] == [
        "ERROR E1: Backup of virtual machine web 0003 failed: no snapshot"]
    assert {outcomes["vm-%d" % i] for i in range(1, count, 4)} == {"skipped"}, "no point, no log line"


def test_a_small_run_reads_its_vms_directly(fake_spp, make_client):
    run, _in_flight = _bulk_lab(fake_spp, make_client, spp_listing.DIRECT_READS_UP_TO)
    run._settle_all([{"id": "77", "started": True, "morefs": list(run.records)}])
    assert fake_spp.count("POST", "/api/hypervisor/search") == 0, "a few reads cost less than the whole catalogue"
    assert _reads(fake_spp) == spp_listing.DIRECT_READS_UP_TO


def test_without_the_catalogue_search_every_vm_is_read(fake_spp, make_client):
    count = 40
    run, _in_flight = _bulk_lab(fake_spp, make_client, count, catalogue_answer=Reply(
        404, {"id": "NotFound", "description": "no search"}))
    run._settle_all([{"id": "77", "started": True, "morefs": list(run.records)}])
    assert _reads(fake_spp) == count
    assert {run.outcomes["vm-%d" % i]["outcome"] for i in range(0, count, 4)} == {"success"}


def test_sessions_that_end_together_share_one_catalogue_search(fake_spp, make_client):
    count = 60
    run, _in_flight = _bulk_lab(fake_spp, make_client, count, session_of=lambda index: "77" if index < 30 else "78")
    run.seen["78"] = dict(run.seen["77"], id="78")
    morefs = list(run.records)
    settled = run._settle_all([{"id": "77", "started": True, "morefs": morefs[:30]},
                               {"id": "78", "started": True, "morefs": morefs[30:]}])
    assert settled == {"77": [], "78": []}
    assert fake_spp.count("POST", "/api/hypervisor/search") == 1
    assert fake_spp.count("GET", "/api/endeavour/log/job") == 2, "one log listing per session"
    assert [run.outcomes["vm-%d" % i]["session_id"] for i in (0, 32)] == ["77", "78"]
    assert {run.outcomes["vm-%d" % i]["outcome"] for i in range(0, count, 4)} == {"success"}


def test_the_log_matcher_is_built_once_per_run(fake_spp, make_client, monkeypatch):
    built = []
    real = br.LogMentions

    def counting(names):
        built.append(len(names))
        return real(names)

    monkeypatch.setattr(br, "LogMentions", counting)
    run, _in_flight = _bulk_lab(fake_spp, make_client, 20, session_of=lambda index: "77" if index < 10 else "78")
    run.seen["78"] = dict(run.seen["77"], id="78")
    morefs = list(run.records)
    run._settle_all([{"id": "77", "started": True, "morefs": morefs[:10]}])
    run._settle_all([{"id": "78", "started": True, "morefs": morefs[10:]}])
    assert built == [20]


@pytest.mark.parametrize("item, since, expected", [
    (None, SESSION_START, False),  # absent from the catalogue: no point at all
    ({"protectionInfo": {"protectionTime": SESSION_START - 1}}, SESSION_START, False),
    ({"protectionInfo": {"protectionTime": SESSION_START}}, SESSION_START, True),
    ({"protectionInfo": {}}, SESSION_START, True),  # not dated (the public record): read it
    ({"protectionInfo": {"protectionTime": 5}}, None, True),
])
def test_may_hold_a_point_since(item, since, expected):
    assert spp_backup_seam._may_hold_a_point_since(item, since) is expected
