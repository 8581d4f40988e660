# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract of the emulator's faults that strike after the request took effect: ``after_effect`` (a status, or a
latency, after the request was handled: a proxy's 503 after the backend acted) and ``tls_error_after_effect`` (a TLS
error on the open connection after the request was handled). Without ``after_effect``, a status answers instead of
handling the request."""

from __future__ import annotations

import json
import time

import pytest
import requests

from conftest import now_ms
from spp_emulator.errors import BadRequest
from spp_emulator.faults import FaultRegistry, parse_fault

ADHOC = {"action": "adhoc"}


def _adhoc(spp, vm, timeout=60):
    body = {"slaPolicyName": "Gold", "subtype": "vmware", "resource": [vm["links"]["self"]["href"]]}
    return spp.http.request("POST", spp.url + "/ngp/hypervisor", params=ADHOC, json=body, timeout=timeout,
                            headers={"X-Endeavour-Sessionid": spp.session_id})


def _gold_sessions(spp, since_ms):
    criteria = json.dumps([{"property": "jobName", "value": "vmware_Gold", "op": "="},
                           {"property": "start", "value": since_ms, "op": ">="}])
    return spp.get("/api/endeavour/jobsession", filter=criteria)["sessions"]


# --- parse_fault and the plan of one request (no lab) -------------------------------------------------------------


@pytest.mark.parametrize("body, message", [
    ({"status": 503, "after_effect": "yes"}, "after_effect must be true or false"),
    ({"drop_after_effect": True, "after_effect": True}, "already happen after the effect"),
    ({"tls_error_after_effect": True, "after_effect": True}, "already happen after the effect"),
    ({"status": 503, "tls_error_after_effect": True}, "one of them, not several"),
    ({"drop_after_effect": True, "tls_error_after_effect": True}, "one of them, not several"),
    ({"after_effect": True}, "needs one of status, latency_ms, drop_after_effect or tls_error_after_effect"),
])
def test_parse_fault_refuses_meaningless_combinations(body, message):
    with pytest.raises(BadRequest) as caught:
        parse_fault(body)
    assert message in str(caught.value)


def test_a_plan_waits_after_the_effect_only_for_after_effect_faults():
    registry = FaultRegistry()
    registry.add(parse_fault({"method": "POST", "path_prefix": "/ngp", "latency_ms": 100}))
    registry.add(parse_fault({"method": "POST", "path_prefix": "/ngp", "latency_ms": 200, "after_effect": True}))
    registry.add(parse_fault({"method": "POST", "path_prefix": "/ngp", "status": 503, "after_effect": True}))
    plan = registry.take("POST", "/ngp/hypervisor")
    assert (plan.latency_seconds, plan.latency_after_seconds) == (0.1, 0.2)
    assert plan.status == 503 and plan.after_effect and plan.handles_request
    assert registry.describe() == [], "each fault was used up"
    registry.add(parse_fault({"method": "POST", "path_prefix": "/ngp", "status": 503}))
    refused = registry.take("POST", "/ngp/hypervisor")
    assert refused.status == 503 and not refused.after_effect and not refused.handles_request
    registry.add(parse_fault({"method": "POST", "path_prefix": "/ngp", "tls_error_after_effect": True}))
    broken = registry.take("POST", "/ngp/hypervisor")
    assert broken.tls_error_after_effect and broken.handles_request and broken.status is None


# --- against the emulator ---------------------------------------------------------------------------------------


def test_a_status_after_the_effect_answers_it_once_the_request_took_effect(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    fault = {"method": "POST", "path_prefix": "/ngp/hypervisor", "status": 503, "after_effect": True}
    listed = spp.admin("POST", "/faults", fault)["faults"]
    assert listed[0]["after_effect"] is True and listed[0]["status"] == 503
    spp.admin("DELETE", "/requests")
    since = now_ms()
    answer = _adhoc(spp, fresh_vm)
    assert answer.status_code == 503, answer.text
    body = answer.json()
    assert set(body) == {"statusCode", "response"} and body["statusCode"] == 503
    assert "after the request took effect" in body["response"]["description"]
    assert len(_gold_sessions(spp, since)) == 1, "the backup started although the answer says 503"
    counted = spp.admin("GET", "/requests")
    assert counted["counts"]["POST /ngp/hypervisor"] == 1
    assert counted["actions"] == {"POST /ngp/hypervisor?action=adhoc": 1}, "counted by action too"


def test_a_status_without_after_effect_answers_instead_of_the_request(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "status": 503})
    since = now_ms()
    assert _adhoc(spp, fresh_vm).status_code == 503
    assert _gold_sessions(spp, since) == [], "nothing started"


def test_latency_after_the_effect_delays_the_answer_not_the_effect(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "latency_ms": 600,
                                  "after_effect": True})
    since = now_ms()
    answer = _adhoc(spp, fresh_vm)
    answered = now_ms()
    assert answer.status_code == 201, answer.text
    started = _gold_sessions(spp, since)
    assert len(started) == 1 and answered - started[0]["start"] >= 500, "the session started before the answer"


def test_a_read_timeout_after_the_effect(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "latency_ms": 1500,
                                  "after_effect": True})
    since = now_ms()
    with pytest.raises(requests.exceptions.ReadTimeout):
        _adhoc(spp, fresh_vm, timeout=0.5)
    assert len(_gold_sessions(spp, since)) == 1
    time.sleep(1.2)  # let the delayed answer go out before the reset of the next test


def test_a_tls_error_after_the_effect(spp, fresh_vm):
    spp.assign([fresh_vm], ["Gold"])
    spp.admin("POST", "/faults", {"method": "POST", "path_prefix": "/ngp/hypervisor", "tls_error_after_effect": True})
    since = now_ms()
    with pytest.raises(requests.exceptions.SSLError) as caught:
        _adhoc(spp, fresh_vm)
    assert "BAD_RECORD_MAC" in str(caught.value) or "bad record mac" in str(caught.value)
    assert len(_gold_sessions(spp, since)) == 1, "the backup started although the TLS stream broke"
    assert spp.raw("GET", "/api/site").status_code == 200, "the next connection works"
