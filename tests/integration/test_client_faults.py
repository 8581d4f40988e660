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


def test_does_not_repeat_a_job_start_whose_answer_was_lost(fresh_lab):
    with fresh_lab.spp_client() as spp:
        job = spp_jobs.find_job(spp, "Hypervisor Inventory")
        fresh_lab.admin("POST", "/faults", {"method": "POST", "path_prefix": "/api/endeavour/job",
                                            "drop_after_effect": True, "count": 1})
        fresh_lab.admin("DELETE", "/requests")
        with pytest.raises(AmbiguousResult) as caught:
            spp_jobs.start_job(spp, job)
        assert "job sessions" in caught.value.message
    starts = {k: v for k, v in fresh_lab.admin("GET", "/requests")["counts"].items()
              if k.startswith("POST /api/endeavour/job/")}
    assert list(starts.values()) == [1], starts
    reader = fresh_lab.spp
    assert reader.job("Hypervisor Inventory")["id"] == job["id"]
    assert len(reader.sessions("Hypervisor Inventory")) >= 1  # the start did take effect, once
