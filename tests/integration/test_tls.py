# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Certificate verification against both lab servers, through a real module run."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.integration


def _run(lab, overrides, expect_rc):
    env = {"SPP_CA_PATH": None, "VMWARE_CA_PATH": None}  # only what the task says counts
    return lab.playbook("backup_inventory", {"connection_overrides": overrides}, env=env, expect_rc=expect_rc)


def test_verification_with_the_lab_ca_works(fresh_lab):
    ca = fresh_lab.env["SPP_CA_PATH"]
    _rc, _out, result = _run(fresh_lab, {"spp_validate_certs": True, "spp_ca_path": ca,
                                         "vcenter_validate_certs": True, "vcenter_ca_path": ca}, 0)
    assert result["vms"]


def test_spp_without_ca_fails_and_says_why(fresh_lab):
    ca = fresh_lab.env["SPP_CA_PATH"]
    _rc, output, _result = _run(fresh_lab, {"spp_validate_certs": True, "vcenter_ca_path": ca}, 2)
    assert "TLS certificate verification failed for %s" % fresh_lab.env["SPP_URL"] in output
    assert "spp_ca_path" in output and "Traceback" not in output


def test_vcenter_without_ca_fails_and_says_why(fresh_lab):
    ca = fresh_lab.env["SPP_CA_PATH"]
    _rc, output, _result = _run(fresh_lab, {"spp_ca_path": ca, "vcenter_validate_certs": True}, 2)
    assert "TLS certificate verification failed for https://127.0.0.1:%s" % fresh_lab.env["VMWARE_PORT"] in output
    assert "vcenter_ca_path" in output and "Traceback" not in output


def test_verification_off_works_on_both(fresh_lab):
    _rc, _out, result = _run(fresh_lab, {"spp_validate_certs": False, "vcenter_validate_certs": False}, 0)
    assert result["vms"]
