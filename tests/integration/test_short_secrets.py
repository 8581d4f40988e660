# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Secrets at the edges (issue 14), against a lab of its own whose passwords are short: ``ab`` for the backup server
and ``Zq`` for vCenter. Redaction used to skip secrets shorter than four characters.

Modules run at -vvv and the inventory plugin at -vvvv, on success and on error paths (an unknown tag goes through
the tagging API's error path); neither password shows as a word of its own, and no SPP session id shows at all. (A
short password may well show inside longer words, "ab" in "table": that tells nothing, and Ansible itself masks the
no_log values inside words of a module's result.) A URL with credentials in it is refused, and neither the module
nor the plugin repeats them; an http:// URL warns unless spp_allow_http says it is meant.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import vcenter
from conftest import Environment, _external_env
from lab import Lab

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("short_secrets")]  # one lab, started once
ANSIBLE_INVENTORY = os.path.join(os.path.dirname(sys.executable), "ansible-inventory")
SPP_PASSWORD = "ab"
VCENTER_PASSWORD = "Zq"
URL_PASSWORD = "Url-pw-7"


def as_a_word(secret, text):
    """Where ``secret`` stands in ``text`` touching no letter or digit (the collection's redaction rule for short
    secrets); None when it never does."""
    return re.search(r"(?<![^\W_])%s(?![^\W_])" % re.escape(secret), text)


@pytest.fixture(scope="module")
def short_lab(tmp_path_factory):
    if _external_env():
        pytest.skip("needs the lab: its passwords are chosen when it starts")
    lab = Lab(str(tmp_path_factory.mktemp("short-secrets-lab")), vms=2, cluster_hosts=1, hosts=1, speed=0.05,
              spp_password=SPP_PASSWORD, vcenter_password=VCENTER_PASSWORD)
    lab.start()
    try:
        yield Environment(lab.env, emulated=True)
    finally:
        lab.stop()


def inventory(lab, directory, verbosity=4, env=None):
    """``ansible-inventory --list`` with the coverage plugin at ``-v`` * verbosity; (return code, all output)."""
    config = os.path.join(str(directory), "short.sovereign_coverage.yml")
    with open(config, "w", encoding="utf-8") as handle:
        handle.write("plugin: sovereign.vm_backup.coverage\n")
    run_env = lab.command_env(dict(env or {}, ANSIBLE_INVENTORY_UNPARSED_FAILED="true"))
    done = subprocess.run([ANSIBLE_INVENTORY, "-i", config, "--list", "-" + "v" * verbosity], env=run_env,
                          capture_output=True, text=True, timeout=600, check=False)
    return done.returncode, done.stdout + done.stderr


def test_short_passwords_and_session_ids_never_show_at_high_verbosity(short_lab, tmp_path):
    assert short_lab.env["SPP_PASSWORD"] == SPP_PASSWORD and short_lab.env["VMWARE_PASSWORD"] == VCENTER_PASSWORD
    with short_lab.vcenter() as client:
        vcenter.tag_vms(client, short_lab.env, "short-secrets", ["DC0_H0_VM0"])
    outputs = []
    _rc, output, result = short_lab.playbook(
        "vm_backup_policy", {"module_args": {"tag": "short-secrets", "policies": ["Gold"]}}, verbosity=3)
    assert result["changed"], output[-3000:]
    assert '"module_args"' in output, "-vvv shows the module's arguments: a leak would be seen"
    outputs.append(output)
    _rc, output, result = short_lab.playbook(
        "vm_backup_policy", {"module_args": {"tag": "no-such-tag", "policies": ["Gold"]}}, verbosity=3, expect_rc=2)
    assert "no-such-tag" in result["msg"] and result["failed"]
    outputs.append(output)
    _rc, output, result = short_lab.playbook("backup_inventory", {}, verbosity=3)
    assert result["vms"]
    outputs.append(output)
    returncode, output = inventory(short_lab, tmp_path)
    assert returncode == 0 and "DC0_H0_VM0" in output, output[-3000:]
    assert "logged in to SPP" in output, "-vvvv shows the SPP client's log: a leak would be seen"
    outputs.append(output)

    state = short_lab.admin("GET", "/state")
    assert len(state["login_session_ids"]) >= 4, "every run logged in"
    everything = "\n".join(outputs)
    for session_id in state["login_session_ids"]:
        assert session_id not in everything
    for password in (SPP_PASSWORD, VCENTER_PASSWORD):
        found = as_a_word(password, everything)
        assert not found, everything[max(0, found.start() - 300):found.end() + 300]


def test_credentials_in_spp_url_are_refused_and_never_repeated(short_lab, tmp_path):
    url = short_lab.env["SPP_URL"].replace("https://", "https://admin:%s@" % URL_PASSWORD)
    _rc, output, result = short_lab.playbook("backup_inventory", {"connection_overrides": {"spp_url": url}},
                                             verbosity=3, expect_rc=2)
    assert "must not hold a user name or password" in result["msg"]
    assert URL_PASSWORD not in output, "neither in the message nor in invocation.module_args"
    returncode, output = inventory(short_lab, tmp_path, env={"SPP_URL": url})
    assert returncode != 0 and "must not hold a user name or password" in output
    assert URL_PASSWORD not in output


def test_an_http_url_warns_unless_allowed(short_lab):
    """The lab serves https only, so the run fails after the warning; what counts is that the warning reaches the
    user, and that spp_allow_http quiets it."""
    url = short_lab.env["SPP_URL"].replace("https://", "http://")
    _rc, output, _result = short_lab.playbook("backup_inventory", {"connection_overrides": {"spp_url": url}},
                                              expect_rc=2)
    assert "spp_url uses http://" in " ".join(output.split())
    _rc, output, _result = short_lab.playbook(
        "backup_inventory", {"connection_overrides": {"spp_url": url, "spp_allow_http": True}}, expect_rc=2)
    assert "spp_url uses http://" not in " ".join(output.split())
