# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which warnings in an ansible command's output fail a test: ours do, a third party's do not."""

from __future__ import annotations

import os

from ansible_warnings import ROOT, collection_names, our_warnings

SITE = "/work/venv/lib/python3.11/site-packages"
CRYPTOGRAPHY_IN_ANSIBLE_CORE = (
    SITE + "/ansible/_internal/_ssh/_ssh_agent.py:18: CryptographyDeprecationWarning: DSA is deprecated and support"
    " will be removed in a future release.\n  from cryptography.hazmat.primitives.asymmetric.dsa import (\n")


def test_a_third_party_deprecation_is_not_ours():
    text = CRYPTOGRAPHY_IN_ANSIBLE_CORE + SITE + "/cryptography/x509/base.py:7: DeprecationWarning: old API\n"
    assert our_warnings(text) == []


def test_a_python_warning_from_our_files_is_ours_wherever_the_collection_lies():
    payload = ("/tmp/ansible_vm_restore_payload_x/ansible_vm_restore_payload.zip/ansible_collections/sovereign/"
               "vm_backup/plugins/module_utils/_restore.py:12: DeprecationWarning: datetime.utcnow() is deprecated")
    checkout = os.path.join(ROOT, "plugins", "inventory", "coverage.py") + ":3: UserWarning: careful"
    found = our_warnings("\n".join([CRYPTOGRAPHY_IN_ANSIBLE_CORE, payload, checkout]))
    assert found == [payload, checkout]


def test_the_checkouts_own_virtual_environment_is_not_the_collection():
    inside_venv = os.path.join(ROOT, ".venv", "lib", "python3.11", "site-packages", "ansible", "x.py")
    assert our_warnings(inside_venv + ":1: DeprecationWarning: not ours") == []


def test_an_ansible_warning_that_names_our_module_option_or_role_is_ours_with_its_continuation_lines():
    text = ("[WARNING]: Platform linux on host localhost is using the discovered Python interpreter\n"
            "[DEPRECATION WARNING]: The option spp_timeout is deprecated. This feature\n"
            "will be removed in version 3.0.\n"
            "  Deprecation warnings can be disabled by setting deprecation_warnings=False\n"
            "[WARNING]: sovereign.vm_backup.vm_restore: the policy Gold is held\n"
            "[WARNING]: Collection community.general does not support Ansible version 2.17\n"
            "[WARNING]: role restore_test: skipped the clean-up\n")
    found = our_warnings(text)
    assert found == ["[DEPRECATION WARNING]: The option spp_timeout is deprecated. This feature",
                     "[WARNING]: sovereign.vm_backup.vm_restore: the policy Gold is held",
                     "[WARNING]: role restore_test: skipped the clean-up"]


def test_an_indented_continuation_stays_with_its_warning():
    text = "[DEPRECATION WARNING]: Something is deprecated.\n  Origin: %s/roles/restore_test/tasks/main.yml:4:3\n" % (
        os.path.realpath(ROOT))
    assert our_warnings(text) == [text.rstrip("\n")]


def test_generic_words_name_nothing():
    names = collection_names()
    assert {"vm_restore", "spp_timeout", "restore_test", "keep_current"} <= names
    assert not {"name", "state", "vm", "coverage"} & names
    assert our_warnings("[WARNING]: the name of the state is unknown") == []
