# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SPP resource functions (inventory, policies, jobs) against the scripted server."""

from __future__ import annotations

import json

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    AmbiguousResult,
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
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        policies.create_sla_policy(client, {"name": "Diamond"})
    assert "'Diamond' may have been created" in str(caught.value)
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
                 running=False, show_live=True):
        self.fake = fake
        self.job_id = job_id
        self.name = name
        self.sessions = {}
        self.reads = {}
        self.reads_until_done = reads_until_done
        self.final = final
        self.show_live = show_live
        self.last = None
        if running:
            self._new_session(status="RUNNING")
        job_path = "/api/endeavour/job/%s" % job_id
        fake.route("GET", "/api/endeavour/job", lambda request: Reply(200, {"jobs": [self.job()], "total": 1}))
        fake.route("GET", job_path, lambda request: Reply(200, self.job()))
        fake.route("POST", job_path, self.start)
        fake.route("GET", job_path + "/livejobsessions", self.live)
        fake.route("GET", "/api/endeavour/log/job", self.logs)
        self.log_requests = []

    def job(self):
        path = "/api/endeavour/job/%s" % self.job_id
        links = {"self": {"href": self.fake.href(path)},
                 "start": {"href": self.fake.href(path + "?action=start&actionname=start")},
                 "livejobsessions": {"href": self.fake.href(path + "/livejobsessions")},
                 "hold": {"href": self.fake.href(path + "?action=hold&actionname=hold")}}
        job = {"id": self.job_id, "name": self.name, "status": "RUNNING" if self._running() else "IDLE",
               "links": links}
        if self.last:
            job["lastrun"] = {"sessionId": self.last, "status": self.sessions[self.last]["status"]}
        return job

    def _running(self):
        return any(not spp_answers.is_settled(session["status"]) for session in self.sessions.values())

    def _new_session(self, status="PENDING"):
        session_id = str(1577841955375 + len(self.sessions))
        self.sessions[session_id] = {"id": session_id, "jobId": self.job_id, "jobName": self.name,
                                     "status": status, "percent": 0, "start": len(self.sessions)}
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
        self._new_session()
        return Reply(200, self.job())

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
    fake_spp.route("POST", "/api/endeavour/job/1003", DROP)
    client = make_client(fake_spp)
    with pytest.raises(AmbiguousResult) as caught:
        jobs.start_job(client, server.job())
    assert "may have started job 'Hypervisor Inventory'; check its job sessions" in str(caught.value)
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
