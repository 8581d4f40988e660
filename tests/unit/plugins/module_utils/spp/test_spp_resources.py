# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SPP resource functions (inventory, policies, jobs) against the scripted server."""

from __future__ import annotations

import json
import threading
import time

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
    ApiError,
    Conflict,
    NotFound,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing, jobs, policies

from spp_fake_server import DROP, Reply
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers

# -- inventory ----------------------------------------------------------------------------------------------------


def test_list_vms_pages_every_vmware_hypervisor(fake_spp, make_client):
    fake_spp.route("GET", "/api/hypervisor", Reply(200, {"hypervisors": [
        {"id": "1001", "type": "vmware", "uniqueId": "uuid-a"},
        {"id": "1002", "type": "hyperv"},
        {"id": "1003", "type": "vmware", "uniqueId": "uuid-b"},
    ], "total": 3}))
    for hypervisor, count in (("1001", 3), ("1003", 1)):
        vms = [{"id": "%s-%d" % (hypervisor, number), "name": "vm%d" % number} for number in range(count)]

        def page(request, vms=vms):
            assert request.query["from"] == "hlo"
            start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
            return Reply(200, {"vms": vms[start:start + size], "total": len(vms)})

        fake_spp.route("GET", "/api/hypervisor/%s/vm" % hypervisor, page)
    client = make_client(fake_spp)
    vms = listing.list_vms(client, page_size=2)
    assert [vm["id"] for vm in vms] == ["1001-0", "1001-1", "1001-2", "1003-0"]
    assert fake_spp.count("GET", "/api/hypervisor/1002/vm") == 0
    assert fake_spp.count("GET", "/api/hypervisor/1001/vm") == 2


def test_list_vdisks_searches(fake_spp, make_client):
    fake_spp.route("POST", "/api/hypervisor/search", Reply(200, {"vdisks": [{"id": "d1"}], "total": 1}))
    client = make_client(fake_spp)
    assert listing.list_vdisks(client) == [{"id": "d1"}]
    request = fake_spp.requests[-1]
    assert request.query["resourceType"] == "vdisk" and request.query["from"] == "hlo"
    assert request.json == {"name": "*", "hypervisorType": "vmware"}


def test_search_vms_keeps_exact_names(fake_spp, make_client):
    fake_spp.route("POST", "/api/hypervisor/search", Reply(200, {"vms": [{"name": "web01"}, {"name": "web011"}]}))
    client = make_client(fake_spp)
    assert listing.search_vms(client, "web01", source="recovery") == [{"name": "web01"}]
    assert fake_spp.requests[-1].query["from"] == "recovery"


# -- policies -----------------------------------------------------------------------------------------------------

GOLD = {"id": "2000", "name": "Gold", "links": {"self": {"href": "https://spp/api/spec/storageprofile/2000"}}}
VM = {"id": "4f0c", "name": "web01", "metadataPath": "/MS:1001/VM:4f0c",
      "links": {"self": {"href": "https://spp/api/hypervisor/1001/vm/4f0c?from=hlo"},
                "options": {"href": "https://spp/api/hypervisor/1001/vm/4f0c/options"}}}


def test_sla_crud(fake_spp, make_client):
    fake_spp.route("GET", "/ngp/slapolicy", Reply(200, {"slapolicies": [GOLD], "total": 1}))
    fake_spp.route("POST", "/ngp/slapolicy", Reply(201, dict(GOLD, id="2005", name="Diamond")))
    fake_spp.route("PUT", "/ngp/slapolicy/2005", Reply(200, dict(GOLD, id="2005", name="Diamond")))
    fake_spp.route("DELETE", "/ngp/slapolicy/2005", Reply(204), Reply(404, {"id": "NotFound"}))
    client = make_client(fake_spp)
    assert policies.list_sla_policies(client) == [GOLD]
    assert policies.find_sla_policy(client, "Gold") == GOLD
    with pytest.raises(NotFound) as caught:
        policies.find_sla_policy(client, "Platinum")
    assert "known: Gold" in str(caught.value)
    assert policies.create_sla_policy(client, {"name": "Diamond"})["id"] == "2005"
    assert policies.update_sla_policy(client, "2005", {"name": "Diamond"})["name"] == "Diamond"
    assert policies.delete_sla_policy(client, "2005") is True
    assert policies.delete_sla_policy(client, "2005", missing_ok=True) is False


def test_create_sla_is_not_repeated_when_its_answer_is_lost(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/slapolicy", DROP)
    fake_spp.route("GET", "/ngp/slapolicy", Reply(200, {"slapolicies": [GOLD], "total": 1}))
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        policies.create_sla_policy(client, {"name": "Diamond"})
    assert "'Diamond' may have been created" in str(caught.value)
    assert fake_spp.count("POST", "/ngp/slapolicy") == 1


def test_a_created_sla_whose_answer_is_lost_is_found_by_name(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/slapolicy", DROP)
    diamond = dict(GOLD, id="2005", name="Diamond")
    fake_spp.route("GET", "/ngp/slapolicy", Reply(200, {"slapolicies": [GOLD, diamond], "total": 2}))
    client = make_client(fake_spp)
    assert policies.create_sla_policy(client, {"name": "Diamond"}) == diamond
    assert fake_spp.count("POST", "/ngp/slapolicy") == 1


def test_apply_sla_policies_is_retried_because_it_is_idempotent(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", DROP, Reply(200, {"statusCode": 200, "response": {"ok": True}}))
    client = make_client(fake_spp)
    assert policies.apply_sla_policies(client, [VM], [GOLD]) == {"ok": True}
    posts = [request for request in fake_spp.requests if request.path == "/ngp/hypervisor"]
    assert len(posts) == 2
    assert posts[-1].query == {"action": "applySLAPolicies"}
    assert posts[-1].json["slapolicies"] == [{"href": GOLD["links"]["self"]["href"], "id": "2000", "name": "Gold"}]


def test_apply_sla_policies_conflict(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(409, {"statusCode": 409, "response": {
        "id": "SlaHeld", "description": "SLA policy Gold is held", "title": "Error"}}))
    client = make_client(fake_spp)
    with pytest.raises(Conflict) as caught:
        policies.apply_sla_policies(client, [VM], [GOLD])
    assert caught.value.description == "SLA policy Gold is held"


def test_options(fake_spp, make_client):
    fake_spp.route("POST", "/ngp/hypervisor", Reply(200, {"statusCode": 200, "response": {}}))
    fake_spp.route("GET", "/api/hypervisor/1001/vm/4f0c/options", Reply(200, {"options": {
        "makeApplicationConsistent": True}}))
    client = make_client(fake_spp)
    policies.apply_options(client, [VM], {"makeApplicationConsistent": False})
    assert fake_spp.requests[-1].query == {"action": "applyOptions"}
    assert fake_spp.requests[-1].json["options"] == {"makeApplicationConsistent": False}
    assert policies.get_vm_options(client, VM) == {"makeApplicationConsistent": True}


# -- jobs ---------------------------------------------------------------------------------------------------------


class JobServer:
    """Enough of SPP's job model to start, follow and wait: one job, sessions that advance on each read."""

    def __init__(self, fake, name="Hypervisor Inventory", job_id="1003", reads_until_done=2, final="COMPLETED",
                 running=False, show_live=True, schema=None, lastrun=True, done_at_once=False):
        self.fake = fake
        self.job_id = job_id
        self.name = name
        self.sessions = {}
        self.reads = {}
        self.reads_until_done = reads_until_done
        self.final = final
        self.show_live = show_live
        self.schema = schema  # the answer of links.start.schema, or None for a job without one
        self.lastrun = lastrun  # whether the job shows lastrun (the public record does not promise it)
        self.done_at_once = done_at_once  # a quick run: over, and gone from the live list, before the first read
        self.last = None
        self.start_bodies = []
        if running:
            self._new_session(status="RUNNING")
        job_path = "/api/endeavour/job/%s" % job_id
        fake.route("GET", "/api/endeavour/job", lambda request: Reply(200, {"jobs": [self.job()], "total": 1}))
        fake.route("GET", job_path, lambda request: Reply(200, self.job()))
        fake.route("POST", job_path, self.start)
        fake.route("GET", job_path + "/livejobsessions", self.live)
        fake.route("GET", job_path + "/schema", lambda request: Reply(200, self.schema))
        fake.route("GET", "/api/endeavour/jobsession", self.listing)
        fake.route("GET", "/api/endeavour/log/job", self.logs)
        self.log_requests = []

    def job(self):
        path = "/api/endeavour/job/%s" % self.job_id
        links = {"self": {"href": self.fake.href(path)},
                 "start": {"href": self.fake.href(path + "?action=start&actionname=start")},
                 "livejobsessions": {"href": self.fake.href(path + "/livejobsessions")},
                 "hold": {"href": self.fake.href(path + "?action=hold&actionname=hold")}}
        if self.schema is not None:
            links["start"] = {"href": self.fake.href(path + "?action=start"),
                              "schema": self.fake.href(path + "/schema?action=start")}
        job = {"id": self.job_id, "name": self.name, "status": "RUNNING" if self._running() else "IDLE",
               "links": links}
        if self.last and self.lastrun:
            job["lastrun"] = {"sessionId": self.last, "status": self.sessions[self.last]["status"]}
        return job

    def _running(self):
        return any(not spp_answers.is_settled(session["status"]) for session in self.sessions.values())

    def _new_session(self, status="PENDING", start=None):
        session_id = str(1577841955375 + len(self.sessions))
        self.sessions[session_id] = {"id": session_id, "jobId": self.job_id, "jobName": self.name,
                                     "status": status, "percent": 0,
                                     "start": start if start is not None else int(time.time() * 1000)}
        self.reads[session_id] = 0
        self.last = session_id
        self.fake.route("GET", "/api/endeavour/jobsession/%s" % session_id,
                        lambda request, sid=session_id: self.read(sid))
        return session_id

    def start(self, request):
        if request.query.get("action") == "hold":
            return Reply(200, dict(self.job(), status="HELD"))
        if self._running():
            return Reply(409, {"id": "JobAlreadyRunning", "description": "concurrent runs for the same job is not "
                                                                         "supported", "title": "Error"})
        self.start_bodies.append(request.json)
        if self.schema is not None and "actionname" not in request.query and not (request.json or {}).get("actionname"):
            return Reply(400, {"id": "BadRequest", "description": "This job requires an action parameter"})
        self._new_session(status="COMPLETED" if self.done_at_once else "PENDING")
        return Reply(200, self.job())

    def listing(self, request):
        """The job-session listing with its filters, reporting total 0 as some SPP builds do (APAR IT45897)."""
        sessions = list(self.sessions.values())
        for criterion in json.loads(request.query.get("filter") or "[]"):
            key, value = criterion["property"], criterion["value"]
            if criterion["op"] == ">=":
                sessions = [s for s in sessions if s[key] >= value]
            else:
                sessions = [s for s in sessions if str(s[key]) == str(value)]
        start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
        return Reply(200, {"sessions": sessions[start:start + size], "total": 0})

    def read(self, session_id):
        session = self.sessions[session_id]
        self.reads[session_id] += 1
        if not spp_answers.is_settled(session["status"], True):
            if self.reads[session_id] >= self.reads_until_done:
                session.update(status=self.final, percent=100)
            else:
                session.update(status="RUNNING", percent=50)
        return Reply(200, dict(session))

    def live(self, request):
        live = [session for session in self.sessions.values() if not spp_answers.is_settled(session["status"])]
        return Reply(200, {"sessions": live if self.show_live else [], "total": len(live)})

    def logs(self, request):
        self.log_requests.append(request)
        return Reply(200, {"logs": [{"type": "ERROR", "message": "vCenter vc01 unreachable"}], "total": 1})


def test_find_job(fake_spp, make_client):
    JobServer(fake_spp)
    client = make_client(fake_spp)
    assert jobs.find_job(client, "Hypervisor Inventory")["id"] == "1003"
    with pytest.raises(NotFound) as caught:
        jobs.find_job(client, "vmware_Gold")
    assert "no job named 'vmware_Gold'" in str(caught.value) and "Hypervisor Inventory" in str(caught.value)


@pytest.mark.parametrize("show_live", [True, False])
def test_start_job_finds_the_new_session(fake_spp, make_client, show_live):
    server = JobServer(fake_spp, show_live=show_live)
    client = make_client(fake_spp)
    job = jobs.find_job(client, "Hypervisor Inventory")
    session = jobs.start_job(client, job, poll=0.01)
    assert session["id"] == server.last
    start = [request for request in fake_spp.requests if request.method == "POST" and "job" in request.path]
    assert len(start) == 1 and start[0].query == {"action": "start", "actionname": "start"}


def test_start_job_lost_answer(fake_spp, make_client):
    server = JobServer(fake_spp)
    fake_spp.route("POST", "/api/endeavour/job/1003", DROP)  # the start never reached the job: no session
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        jobs.start_job(client, server.job(), timeout=0.3, poll=0.05)
    assert "may have started job 'Hypervisor Inventory'; check its job sessions" in str(caught.value)
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 1
    assert server.sessions == {}


@pytest.mark.parametrize("fault", ["drop", 503, 502], ids=["dropped", "503-after-effect", "502-after-effect"])
@pytest.mark.parametrize("show_live", [True, False])
def test_start_job_whose_lost_answer_is_followed_by_its_session(fake_spp, make_client, log_lines, fault, show_live):
    server = JobServer(fake_spp, show_live=show_live, lastrun=False)
    earlier = server._new_session(status="COMPLETED", start=int(time.time() * 1000) - 3_600_000)

    def started_then_lost(request):
        server.start(request)
        return DROP if fault == "drop" else Reply(fault, {"id": "Unavailable", "description": "proxy"})

    fake_spp.route("POST", "/api/endeavour/job/1003", started_then_lost)
    client = make_client(fake_spp)
    session = jobs.start_job(client, server.job(), timeout=5, poll=0.05)
    assert session["id"] == server.last != earlier
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 1, "never sent twice"
    assert any("was lost, but its session %s started since" % server.last in line for line in log_lines)


def test_start_job_lost_answer_when_the_sessions_cannot_be_read(fake_spp, make_client):
    server = JobServer(fake_spp)
    fake_spp.route("POST", "/api/endeavour/job/1003", DROP)
    fake_spp.route("GET", "/api/endeavour/job/1003/livejobsessions", Reply(404, {"id": "NotFound"}))
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult):
        jobs.start_job(client, server.job(), timeout=5, poll=0.05)
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 1


def test_start_job_conflict_when_running(fake_spp, make_client):
    server = JobServer(fake_spp, running=True)
    client = make_client(fake_spp)
    with pytest.raises(Conflict) as caught:
        jobs.start_job(client, server.job())
    assert caught.value.status == 409


def test_run_inventory_starts_and_waits(fake_spp, make_client):
    server = JobServer(fake_spp, reads_until_done=3)
    client = make_client(fake_spp)
    seen = []
    session = jobs.run_inventory(client, timeout=5, poll=0.01, progress=seen.append)
    assert session["status"] == "COMPLETED" and session["id"] == server.last
    assert [item["status"] for item in seen][-1] == "COMPLETED"
    assert len(server.sessions) == 1


def test_run_inventory_attaches_to_a_running_session(fake_spp, make_client, log_lines):
    server = JobServer(fake_spp, running=True)
    running = server.last
    client = make_client(fake_spp)
    session = jobs.run_inventory(client, timeout=5, poll=0.01)
    assert session["id"] == running and len(server.sessions) == 1
    assert any("already running" in line for line in log_lines)


def test_run_inventory_failure_names_the_errors(fake_spp, make_client):
    server = JobServer(fake_spp, final="FAILED")
    client = make_client(fake_spp)
    with pytest.raises(TaskFailed) as caught:
        jobs.run_inventory(client, timeout=5, poll=0.01)
    assert "ended FAILED" in str(caught.value) and "vCenter vc01 unreachable" in str(caught.value)
    criteria = json.loads(server.log_requests[-1].query["filter"])
    assert {"property": "jobsessionId", "value": server.last, "op": "="} in criteria
    assert {"property": "type", "value": ["ERROR"], "op": "IN"} in criteria


def test_wait_for_session_timeout_says_the_job_goes_on(fake_spp, make_client):
    server = JobServer(fake_spp, reads_until_done=10_000)
    session_id = server._new_session()
    client = make_client(fake_spp)
    with pytest.raises(WaitTimeout) as caught:
        jobs.wait_for_session(client, session_id, timeout=0.2, poll=0.05)
    text = str(caught.value)
    assert session_id in text and "RUNNING at 50%" in text and "keeps running" in text
    assert caught.value.details == {"session_id": session_id, "status": "RUNNING", "percent": 50}


def test_wait_for_session_settles_on_resource_active_when_asked(fake_spp, make_client):
    server = JobServer(fake_spp, final="RESOURCE ACTIVE")
    session_id = server._new_session()
    client = make_client(fake_spp)
    session = jobs.wait_for_session(client, session_id, timeout=5, poll=0.01, settle_on_resource_active=True)
    assert session["status"] == "RESOURCE ACTIVE"
    with pytest.raises(WaitTimeout):
        jobs.wait_for_session(client, session_id, timeout=0.1, poll=0.02)


def test_hold_follows_the_link_and_fails_clearly_without_one(fake_spp, make_client):
    server = JobServer(fake_spp)
    client = make_client(fake_spp)
    assert jobs.hold_job(client, server.job())["status"] == "HELD"
    assert fake_spp.requests[-1].query == {"action": "hold", "actionname": "hold"}
    with pytest.raises(Conflict) as caught:
        jobs.release_job(client, server.job())
    assert "offers no 'release' action" in str(caught.value)


def test_get_session_logs_filters_and_sorts(fake_spp, make_client):
    server = JobServer(fake_spp)
    client = make_client(fake_spp)
    assert jobs.get_session_logs(client, "42") == [{"type": "ERROR", "message": "vCenter vc01 unreachable"}]
    query = server.log_requests[-1].query
    assert json.loads(query["filter"]) == [{"property": "jobsessionId", "value": "42", "op": "="}]
    assert json.loads(query["sort"]) == [{"property": "logTime", "direction": "ASC"}]


# -- what the public record forces (spp-api.md 14.14, 14.17) -----------------------------------------------------


def test_start_job_sends_the_actionname_of_its_start_schema(fake_spp, make_client):
    schema = {"parameter": {"actionname": {"values": [{"name": "Backup to vSnap", "value": "policy-backup"},
                                                      {"name": "Replication", "value": "policy-replication"}]}}}
    server = JobServer(fake_spp, schema=schema)
    client = make_client(fake_spp)
    session = jobs.start_job(client, jobs.find_job(client, "Hypervisor Inventory"), poll=0.01)
    assert session["id"] == server.last
    assert server.start_bodies == [{"actionname": "policy-backup"}], "the first workflow, as IBM's JobAPI.run sends"
    post = [r for r in fake_spp.requests if r.method == "POST" and r.path.startswith("/api/endeavour/job")][0]
    assert post.query == {"action": "start"}
    schema_read = [r for r in fake_spp.requests if r.path.endswith("/schema")][0]
    assert schema_read.query == {"action": "start"}


def test_start_job_without_a_schema_sends_an_empty_body(fake_spp, make_client):
    server = JobServer(fake_spp)
    client = make_client(fake_spp)
    jobs.start_job(client, server.job(), poll=0.01)
    assert server.start_bodies == [{}]


def test_a_start_schema_without_workflows_is_refused_before_the_post(fake_spp, make_client):
    server = JobServer(fake_spp, schema={"parameter": {"actionname": {"values": []}}})
    client = make_client(fake_spp)
    with pytest.raises(ApiError) as caught:
        jobs.start_job(client, server.job(), poll=0.01)
    assert "offers no workflow" in str(caught.value) and "nothing was started" in str(caught.value)
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 0


def test_a_quick_run_is_found_among_the_sessions_started_since_the_post(fake_spp, make_client):
    """No live session, no lastrun: the session listing (total 0, APAR IT45897) still finds it; older runs are not
    taken for it."""
    server = JobServer(fake_spp, show_live=False, lastrun=False, done_at_once=True)
    older = server._new_session(status="COMPLETED", start=int(time.time() * 1000) - 3_600_000)
    client = make_client(fake_spp)
    session = jobs.start_job(client, server.job(), poll=0.01)
    assert session["id"] == server.last and session["id"] != older
    listing = [r for r in fake_spp.requests if r.path == "/api/endeavour/jobsession"][-1]
    criteria = json.loads(listing.query["filter"])
    assert {"property": "jobId", "value": "1003", "op": "="} in criteria
    assert any(c["property"] == "start" and c["op"] == ">=" for c in criteria)


def test_start_job_times_out_clearly_when_no_session_shows_up(fake_spp, make_client):
    server = JobServer(fake_spp, show_live=False, lastrun=False)
    fake_spp.route("GET", "/api/endeavour/jobsession", Reply(200, {"sessions": [], "total": 0}))
    client = make_client(fake_spp)
    with pytest.raises(WaitTimeout) as caught:
        jobs.start_job(client, server.job(), timeout=0.2, poll=0.05)
    assert "did not show up within 0.2 s" in str(caught.value)
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 1, "a start is never sent twice"


def test_session_listings_with_total_zero_are_read_to_the_end(fake_spp, make_client):
    """APAR IT45897: total 0 on every page; full pages are followed until a short one."""
    sessions = [{"id": str(n), "type": "protection", "start": 1000 + n} for n in range(7)]

    def page(request):
        start, size = int(request.query["pageStartIndex"]), int(request.query["pageSize"])
        return Reply(200, {"sessions": sessions[start:start + size], "total": 0})

    fake_spp.route("GET", "/api/endeavour/jobsession", page)
    client = make_client(fake_spp)
    assert [s["id"] for s in jobs.list_backup_sessions(client, 0, page_size=3)] == [str(n) for n in range(7)]
    assert fake_spp.count("GET", "/api/endeavour/jobsession") == 3
    sessions.append({"id": "7", "type": "protection", "start": 1007})  # 8 = a multiple of 4: one more, empty page
    assert len(jobs.list_backup_sessions(client, 0, page_size=4)) == 8
    assert fake_spp.count("GET", "/api/endeavour/jobsession") == 6


def test_a_job_without_hold_link_names_the_links_it_offers(fake_spp, make_client):
    server = JobServer(fake_spp)
    job = server.job()
    del job["links"]["hold"]
    client = make_client(fake_spp)
    with pytest.raises(Conflict) as caught:
        jobs.hold_job(client, job)
    text = str(caught.value)
    assert "offers no 'hold' action while its status is IDLE" in text
    assert "its links are livejobsessions, self, start" in text
    assert fake_spp.count("POST", "/api/endeavour/job/1003") == 0
    assert jobs.missing_action(server.job(), "hold") is None


# -- per-VM reads where the public record has no bulk route --------------------------------------------------------


def _vm(fake, number, protection=None):
    path = "/api/hypervisor/1001/vm/vm%d" % number
    vm = {"id": "vm%d" % number, "name": "web%02d" % number, "protectionInfo": protection or {},
          "links": {"self": {"href": fake.href(path + "?from=hlo")},
                    "vdisks": {"href": fake.href(path + "/vdisk?from=hlo")},
                    "latestversion": {"href": fake.href(path + "/latestversion?from=recovery")}}}
    return vm


def test_read_in_parallel_keeps_order_and_bounds_the_threads(fake_spp, make_client):
    lock, state = threading.Lock(), {"now": 0, "most": 0}

    def read(item):
        with lock:
            state["now"] += 1
            state["most"] = max(state["most"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return item * 2

    client = make_client(fake_spp)
    assert listing.read_in_parallel(client, read, range(40), workers=4) == [n * 2 for n in range(40)]
    assert 1 < state["most"] <= 4
    assert client.logged_in, "one login before the threads start, so that they share it"
    with pytest.raises(ZeroDivisionError):
        listing.read_in_parallel(client, lambda n: 1 // (n - 5), range(10), workers=3)


def test_vdisks_come_from_each_vms_link_when_the_search_answers_404(fake_spp, make_client):
    vms = [_vm(fake_spp, n) for n in range(5)]
    for vm in vms:
        disks = [{"id": "%s-d%d" % (vm["id"], k), "name": "Hard disk %d" % (k + 1)} for k in range(2)]
        fake_spp.route("GET", "/api/hypervisor/1001/vm/%s/vdisk" % vm["id"], Reply(200, {"vdisks": disks, "total": 2}))
    client = make_client(fake_spp)
    disks, source = listing.read_vdisks(client, vms=vms)
    assert source == listing.DISKS_FROM_VM_LINKS and len(disks) == 10
    assert disks[0] == {"id": "vm0-d0", "name": "Hard disk 1", "vmId": "vm0", "vmName": "web00"}
    assert fake_spp.count("POST", "/api/hypervisor/search") == 1
    assert fake_spp.count("GET", "/api/hypervisor/1001/vm/vm3/vdisk") == 1
    assert listing.list_vdisks(client, vms=vms[:1]) == disks[:2]


def test_vdisks_come_from_the_search_when_the_server_has_it(fake_spp, make_client):
    fake_spp.route("POST", "/api/hypervisor/search", Reply(200, {"vdisks": [{"id": "d1"}], "total": 1}))
    client = make_client(fake_spp)
    assert listing.read_vdisks(client, vms=[]) == ([{"id": "d1"}], listing.DISKS_FROM_SEARCH)


def test_last_backups_read_the_listing_first(fake_spp, make_client):
    vms = [_vm(fake_spp, 1, {"protectionTime": 1700, "storageProfileName": "Gold"})]
    client = make_client(fake_spp)
    assert listing.last_backups(client, vms) == {
        "vm1": {"time": 1700, "policy": "Gold", "source": "vm_listing", "version": None}}
    assert len(fake_spp.requests) == 0, "no request at all"


def test_last_backups_of_a_few_vms_read_each_latestversion(fake_spp, make_client):
    vms = [_vm(fake_spp, n) for n in range(3)]
    version = {"id": "v9", "sessionId": "77", "protectionInfo": {"protectionTime": 1800, "storageProfileName": "Gold"}}
    fake_spp.route("GET", "/api/hypervisor/1001/vm/vm1/latestversion", Reply(200, version))
    client = make_client(fake_spp)
    found = listing.last_backups(client, vms)
    assert found["vm1"] == {"time": 1800, "policy": "Gold", "source": "latestversion", "version": version}
    assert found["vm0"] == {"time": None, "policy": None, "source": "latestversion", "version": None}, "404: none"
    assert fake_spp.count("POST", "/api/hypervisor/search") == 0, "too few VMs to search the recovery catalogue"


def test_last_backups_of_many_vms_search_the_recovery_catalogue_first(fake_spp, make_client):
    vms = [_vm(fake_spp, n) for n in range(60)]
    backed_up = [vms[4], vms[40]]

    def search(request):
        assert request.query["resourceType"] == "vm" and request.query["from"] == "recovery"
        assert request.json == {"name": "*", "hypervisorType": "vmware"}
        return Reply(200, {"vms": backed_up, "total": 0})

    fake_spp.route("POST", "/api/hypervisor/search", search)
    for vm, when in ((vms[4], 1900), (vms[40], 2000)):
        fake_spp.route("GET", "/api/hypervisor/1001/vm/%s/latestversion" % vm["id"],
                       Reply(200, {"id": "v", "protectionInfo": {"protectionTime": when, "storageProfileName": "Gold"}}))
    client = make_client(fake_spp)
    found = listing.last_backups(client, vms)
    assert {vm_id: entry["time"] for vm_id, entry in found.items() if entry["time"]} == {"vm4": 1900, "vm40": 2000}
    assert found["vm4"]["source"] == "latestversion" and found["vm5"]["source"] == "recovery_search"
    reads = [r for r in fake_spp.requests if r.path.endswith("/latestversion")]
    assert len(reads) == 2, "only the VMs that have recovery points are read"


def test_last_backups_read_every_vm_when_the_recovery_search_is_refused(fake_spp, make_client):
    vms = [_vm(fake_spp, n) for n in range(20)]
    fake_spp.route("POST", "/api/hypervisor/search", Reply(400, {"id": "BadRequest", "description": "no"}))
    client = make_client(fake_spp)
    found = listing.last_backups(client, vms)
    assert {entry["source"] for entry in found.values()} == {"latestversion"} and len(found) == 20
    assert len([r for r in fake_spp.requests if r.path.endswith("/latestversion")]) == 20


def test_a_report_searches_the_recovery_catalogue_even_for_a_few_vms(fake_spp, make_client):
    vms = [_vm(fake_spp, n) for n in range(3)]
    listed = dict(vms[1], protectionInfo={"protectionTime": 2100, "storageProfileName": "Silver"})
    fake_spp.route("POST", "/api/hypervisor/search", Reply(200, {"vms": [listed], "total": 1}))
    client = make_client(fake_spp)
    found = listing.last_backups(client, vms, search_first=True)
    assert found["vm1"] == {"time": 2100, "policy": "Silver", "source": "recovery_search", "version": None}
    assert found["vm0"]["source"] == "recovery_search" and found["vm0"]["time"] is None
    assert not [r for r in fake_spp.requests if "/vm/" in r.path], "no per-VM read when the search says it all"
