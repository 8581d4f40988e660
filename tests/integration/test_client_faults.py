# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's SPP client against faults injected into the emulator: each run ends in success or one clear typed
error. The client is the subject here, so it is called directly; what reached the server and what it did are read
from the emulator's admin API (request counts, its own record of the job sessions)."""

from __future__ import annotations

import time

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import AmbiguousResult
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs

pytestmark = pytest.mark.integration


def _count(lab, key):
    return lab.admin("GET", "/requests")["counts"].get(key, 0)


def test_survives_503s_on_gets(fresh_lab):
    fresh_lab.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/hypervisor", "status": 503, "count": 2})
    fresh_lab.admin("DELETE", "/requests")
    with fresh_lab.spp_client() as spp:
        assert spp_listing.list_vms(spp)
    assert _count(fresh_lab, "GET /api/hypervisor") >= 3  # two refusals, then the answer


def test_honours_retry_after_on_429(fresh_lab):
    fresh_lab.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/hypervisor", "status": 429,
                                        "retry_after": 1, "count": 1})
    with fresh_lab.spp_client() as spp:
        spp.login()
        started = time.monotonic()
        assert spp_listing.list_hypervisors(spp)
        assert time.monotonic() - started >= 1.0


def test_logs_in_again_after_the_session_expired(fresh_lab):
    with fresh_lab.spp_client() as spp:
        spp.login()
        fresh_lab.admin("DELETE", "/requests")
        fresh_lab.admin("POST", "/sessions/expire")
        assert spp_listing.list_hypervisors(spp)
    assert _count(fresh_lab, "POST /api/endeavour/session") == 1


def _job_starts(lab):
    return {k: v for k, v in lab.admin("GET", "/requests")["counts"].items() if k.startswith("POST /api/endeavour/job/")}


@pytest.mark.parametrize("fault", [{"drop_after_effect": True}, {"status": 503, "after_effect": True},
                                   {"status": 502, "after_effect": True}, {"tls_error_after_effect": True}],
                         ids=["dropped", "503-after-effect", "502-after-effect", "tls-error"])
def test_does_not_repeat_a_job_start_whose_answer_was_lost_and_follows_its_session(fresh_lab, fault):
    reader = fresh_lab.spp
    before = {s["id"] for s in reader.sessions("Hypervisor Inventory")}
    with fresh_lab.spp_client() as spp:
        job = spp_jobs.find_job(spp, "Hypervisor Inventory")
        fresh_lab.admin("POST", "/faults", dict(fault, method="POST", path_prefix="/api/endeavour/job", count=1))
        fresh_lab.admin("DELETE", "/requests")
        session = spp_jobs.start_job(spp, job, timeout=30)
    assert list(_job_starts(fresh_lab).values()) == [1], "the start was sent once"
    started = [s for s in reader.sessions("Hypervisor Inventory") if s["id"] not in before]
    assert [s["id"] for s in started] == [session["id"]], "the start did take effect, once, and it is followed"


def test_a_job_start_refused_by_a_503_is_not_resent_and_fails_after_looking(fresh_lab):
    reader = fresh_lab.spp
    before = {s["id"] for s in reader.sessions("Hypervisor Inventory")}
    with fresh_lab.spp_client() as spp:
        job = spp_jobs.find_job(spp, "Hypervisor Inventory")
        # Answered instead of the request: nothing starts. The client cannot tell it from a proxy's 503 after the
        # effect, so it does not resend; it looks for a session, finds none, and says where to look.
        fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/api/endeavour/job", "status": 503,
                                            "count": 1})
        fresh_lab.admin("DELETE", "/requests")
        with pytest.raises(AmbiguousResult) as caught:
            spp_jobs.start_job(spp, job, timeout=2)
        assert "got HTTP 503" in caught.value.message and "job sessions" in caught.value.message
    assert list(_job_starts(fresh_lab).values()) == [1]
    assert [s for s in reader.sessions("Hypervisor Inventory") if s["id"] not in before] == []


def test_a_tls_error_after_a_get_was_sent_is_retried(fresh_lab):
    fresh_lab.admin("POST", "/faults", {"method": "GET", "path_prefix": "/api/hypervisor",
                                        "tls_error_after_effect": True, "count": 1})
    fresh_lab.admin("DELETE", "/requests")
    with fresh_lab.spp_client() as spp:
        assert spp_listing.list_hypervisors(spp)
    assert _count(fresh_lab, "GET /api/hypervisor") == 2, "the broken answer, then the retry"
