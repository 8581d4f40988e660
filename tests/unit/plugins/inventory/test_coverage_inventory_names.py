# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The coverage inventory plugin's names (issue 10), pure: a VM named like the controller or an implicit group gets
another host name, and policies whose names make the same group name get distinct groups."""

from __future__ import annotations

import hashlib
import random

import pytest

from ansible import constants as C
from ansible.release import __version__ as ansible_version
from ansible_collections.sovereign.vm_backup.plugins.inventory import coverage

from test_coverage_inventory import record, report


def hostnames_of(names, **options):
    """The inventory hostnames of VMs called ``names`` (morefs vm-1, vm-2 ...), with the three reports."""
    records = [record(name, "vm-%d" % number) for number, name in enumerate(names, 1)]
    return coverage.inventory_hostnames(records, reserved=coverage.reserved_host_names(), **options)


def sha(label):
    return hashlib.sha256(label.encode("utf-8")).hexdigest()[:8]


# -- host names -----------------------------------------------------------------------------------------------------


def test_the_reserved_names_are_ansibles_localhost_names_and_implicit_groups():
    reserved = coverage.reserved_host_names()
    assert set(C.LOCALHOST) <= reserved, "read from ansible-core, whichever version"
    assert {"localhost", "127.0.0.1", "::1", "all", "ungrouped"} <= reserved
    # Names Ansible never makes its localhost: ordinary hosts, kept (delegate_to must name the host exactly).
    assert not {"localhost.localdomain", "127.0.0.2", "LOCALHOST", "web01"} & reserved


def test_a_vm_named_like_the_controller_or_an_implicit_group_gets_name_and_moref():
    names, duplicates, reserved = hostnames_of(
        ["localhost", "127.0.0.1", "::1", "all", "ungrouped", "localhost.localdomain", "web01"])
    assert names == ["localhost_vm-1", "127.0.0.1_vm-2", "::1_vm-3", "all_vm-4", "ungrouped_vm-5",
                     "localhost.localdomain", "web01"]
    assert reserved == {"localhost": ["localhost_vm-1"], "127.0.0.1": ["127.0.0.1_vm-2"], "::1": ["::1_vm-3"],
                        "all": ["all_vm-4"], "ungrouped": ["ungrouped_vm-5"]}
    assert duplicates == {}


def test_several_vms_named_localhost_are_reported_as_reserved_and_none_is_localhost():
    names, duplicates, reserved = hostnames_of(["localhost", "localhost"])
    assert names == ["localhost_vm-1", "localhost_vm-2"]
    assert reserved == {"localhost": ["localhost_vm-1", "localhost_vm-2"]} and duplicates == {}


def test_a_renamed_vm_never_takes_the_name_of_another_vm():
    # A VM called "localhost_vm-1" would otherwise be the same host as the VM localhost (vm-1), and hide it.
    for seed in range(4):
        records = [record("localhost", "vm-1"), record("localhost_vm-1", "vm-2"), record("web", "vm-3"),
                   record("web", "vm-4"), record("web_vm-4", "vm-5")]
        random.Random(seed).shuffle(records)
        names, _duplicates, _reserved = coverage.inventory_hostnames(records, reserved=coverage.reserved_host_names())
        by_moref = {r["moref"]: name for r, name in zip(records, names)}
        assert by_moref == {"vm-1": "localhost_vm-1_vm-1", "vm-2": "localhost_vm-1", "vm-3": "web_vm-3",
                            "vm-4": "web_vm-4_vm-4", "vm-5": "web_vm-4"}


def test_hosts_named_by_moref_or_uuid_never_need_a_new_name():
    for option in ("moref", "instance_uuid"):
        names, duplicates, reserved = hostnames_of(["localhost", "all"], hostnames=option)
        assert names == (["vm-1", "vm-2"] if option == "moref" else ["uuid-vm-1", "uuid-vm-2"])
        assert duplicates == reserved == {}


def test_the_inventory_has_no_host_called_localhost_and_keeps_the_vms_name():
    data = report()
    data["vms"].append(record("localhost", "vm-30", flags=["unprotected", "violation"]))
    built = coverage.build_inventory(coverage.inventory_source(data))
    assert "localhost" not in built["hosts"]
    assert built["hosts"]["localhost_vm-30"]["sovereign_backup_name"] == "localhost"
    assert built["groups"]["unprotected"] == ["bare", "localhost_vm-30", "newborn"]
    assert built["reserved"] == {"localhost": ["localhost_vm-30"]}


def test_template_like_names_are_kept_as_they_are():
    """Marking them unsafe is the plugin's part (see the plugin tests); the names themselves are not changed."""
    names, duplicates, reserved = hostnames_of(["{{ 7*7 }}", "{% raw %}", "#jinja2:x:1"])
    assert names == ["{{ 7*7 }}", "{% raw %}", "#jinja2:x:1"] and duplicates == reserved == {}


# -- group names ----------------------------------------------------------------------------------------------------


def test_policies_that_make_the_same_group_name_get_distinct_documented_names():
    groups, collisions = coverage.distinct_group_names(["policy_Gold-EU", "policy_Gold.EU", "policy_Silver"])
    # The values the plugin's documentation gives, and how anyone can compute them.
    assert groups == {"policy_Gold-EU": "policy_Gold_EU_8a50eb47", "policy_Gold.EU": "policy_Gold_EU_2297b5de",
                      "policy_Silver": "policy_Silver"}
    assert sha("policy_Gold-EU") == "8a50eb47" and sha("policy_Gold.EU") == "2297b5de"
    assert collisions == {"policy_Gold_EU": {"policy_Gold-EU": "policy_Gold_EU_8a50eb47",
                                             "policy_Gold.EU": "policy_Gold_EU_2297b5de"}}


def test_a_policy_whose_name_needs_no_change_keeps_its_group():
    groups, collisions = coverage.distinct_group_names(["policy_Gold_EU", "policy_Gold-EU"])
    assert groups == {"policy_Gold_EU": "policy_Gold_EU", "policy_Gold-EU": "policy_Gold_EU_8a50eb47"}
    assert list(collisions) == ["policy_Gold_EU"]


def test_a_group_keeps_its_name_when_other_policies_come_and_go():
    alone, _collisions = coverage.distinct_group_names(["policy_Gold-EU", "policy_Gold.EU"])
    more, _collisions = coverage.distinct_group_names(["policy_Gold-EU", "policy_Gold.EU", "policy_Gold EU", "policy_Gold/EU"])
    assert {label: more[label] for label in alone} == alone
    assert len(set(more.values())) == 4


def test_without_collisions_the_names_are_the_plain_safe_names_with_the_prefix():
    groups, collisions = coverage.distinct_group_names(["policy_Held-1", "stale", "compliant"], prefix="bk-")
    assert groups == {"policy_Held-1": "bk_policy_Held_1", "stale": "bk_stale", "compliant": "bk_compliant"}
    assert collisions == {}


def test_a_policy_named_like_anothers_suffixed_group_does_not_share_it():
    crafted = "policy_Gold_EU_" + sha("policy_Gold-EU")
    groups, _collisions = coverage.distinct_group_names(["policy_Gold-EU", "policy_Gold.EU", crafted])
    assert groups[crafted] == crafted, "its name needed no change"
    assert groups["policy_Gold-EU"] == "policy_Gold_EU_" + hashlib.sha256(b"policy_Gold-EU").hexdigest()
    assert len(set(groups.values())) == 3


@pytest.mark.parametrize("seed", range(5))
def test_every_label_gets_its_own_valid_group(seed):
    alphabet = "Ab1_-. /é"
    rng = random.Random(seed)
    labels = {"policy_" + "".join(rng.choices(alphabet, k=rng.randint(1, 3))) for _label in range(60)}
    groups, _collisions = coverage.distinct_group_names(labels, prefix="x_")
    assert len(set(groups.values())) == len(labels)
    assert all(coverage.group_name("", group) == group for group in groups.values()), "already safe"


def test_vms_of_policies_with_the_same_group_name_are_not_mixed():
    data = report()
    data["vms"] += [record("eu1", "vm-31", policies=["Gold-EU"]), record("eu2", "vm-32", policies=["Gold.EU"])]
    data["summary"]["per_policy"].update({"Gold-EU": {"vms": 1, "held": False}, "Gold.EU": {"vms": 1, "held": False}})
    built = coverage.build_inventory(coverage.inventory_source(data))
    assert "policy_Gold_EU" not in built["groups"]
    assert built["groups"]["policy_Gold_EU_8a50eb47"] == ["eu1"]
    assert built["groups"]["policy_Gold_EU_2297b5de"] == ["eu2"]
    assert built["group_collisions"] == {
        "policy_Gold_EU": {"policy_Gold-EU": "policy_Gold_EU_8a50eb47", "policy_Gold.EU": "policy_Gold_EU_2297b5de"}}
    assert coverage.group_source("policy_Gold-EU") == "SLA policy Gold-EU"
    assert coverage.group_source("stale") == "flag stale"


# -- what could be a template ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, template", [
    ("{{ 7*7 }}", True), ("{% if 1 %}x{% endif %}", True), ("{# comment #}", True), ("web{1}", True),
    ("#jinja2:variable_start_string:'<',variable_end_string:'>'\n<7*7>", True),
    ("web01", False), ("localhost", False), ("#web", False), ("a|b", False), ("vm-42", False),
])
def test_could_be_a_template(text, template):
    assert coverage.could_be_a_template(text) is template


@pytest.mark.parametrize("text", ["{{ 7*7 }}", "{%- raw %}", "{#", "#jinja2:variable_start_string:'<'\n<x>",
                                  "#jinja2:block_start_string:'[%'\n[% if 1 %]", "web01", "a|b", "a.b[0]", "#x",
                                  "<x>", "[% if 1 %]", "${x}", "$(id)"])
def test_what_ansible_core_before_2_19_would_render_could_be_a_template(text):
    """The rule matches the templar of the ansible-core that renders unmarked strings (skipped from 2.19 on)."""
    if tuple(int(part) for part in ansible_version.split(".")[:2]) >= (2, 19):
        pytest.skip("ansible-core %s renders no untrusted string" % ansible_version)
    from ansible.parsing.dataloader import DataLoader  # pylint: disable=import-outside-toplevel
    from ansible.template import Templar  # pylint: disable=import-outside-toplevel

    rendered = Templar(loader=DataLoader()).is_possibly_template(text)
    assert rendered <= coverage.could_be_a_template(text), "a text Ansible would render is marked"


# -- host names that are group names (issue 14) ---------------------------------------------------------------------


def test_a_vm_named_like_a_group_of_the_plugin_gets_name_and_moref_with_a_warning(monkeypatch):
    """Ansible reads a host pattern that names a host and a group as the host: with a VM named ``unprotected``, the
    play ``hosts: unprotected`` would run on that VM alone instead of on every unprotected VM."""
    data = report()
    data["vms"] += [record("unprotected", "vm-40", policies=["Gold"]), record("policy_Gold", "vm-41", flags=["unprotected", "violation"]),
                    record("backup_stale", "vm-42", policies=["Gold"])]
    for prefix, renamed in (("", {"unprotected": ["unprotected_vm-40"], "policy_Gold": ["policy_Gold_vm-41"]}),
                            ("backup_", {"backup_stale": ["backup_stale_vm-42"]})):
        built = coverage.build_inventory(coverage.inventory_source(data), group_prefix=prefix)
        assert built["named_like_groups"] == renamed and built["reserved"] == {} and built["duplicates"] == {}
        assert not set(built["hosts"]) & set(built["groups"])
        for name, (host,) in renamed.items():
            assert built["hosts"][host]["sovereign_backup_name"] == name
    built = coverage.build_inventory(coverage.inventory_source(data))
    assert "unprotected_vm-40" in built["groups"]["compliant"] and "policy_Gold_vm-41" in built["groups"]["unprotected"]

    warnings = []
    monkeypatch.setattr(coverage.display, "warning", warnings.append)
    coverage.InventoryModule()._warn_about_changed_names(built)
    assert ("unprotected is a group of this inventory, and a host pattern that names a host and a group means the "
            "host, so the VM named unprotected is the inventory host unprotected_vm-40; sovereign_backup_name keeps "
            "the name") in warnings
