# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names that designate several objects (issue 14): each fails before any write, in check mode and in the real run,
with an error that lists the candidates, and a qualified name selects one.

1. A vSphere tag name used in two categories: ``vm_backup_policy`` with ``tag: <name>`` fails listing
   ``category/tag``, even with ``scope`` and ``purge_scope`` (which used to strip the other tag's VMs); ``tag:
   <category>/<name>`` selects exactly.
2. Restore destinations: a second datacenter whose cluster, host, datastore and network carry the names of the first
   one's (made with plain pyVmomi). ``vm_restore`` with each bare name fails listing ``<datacenter>/<name> (href)``
   and posts nothing; ``<datacenter>/<name>`` restores where it says.

End states are read through vCenter with plain pyVmomi and through the emulator's admin API (``/state``, request
counters), never through the collection's readers nor from the module's answer alone. Whatever a test creates is
removed at the end.
"""

from __future__ import annotations

import uuid

import pytest
from pyVmomi import vim

import vcenter
from helpers import CONVERGES, assign_policies, back_up, changed_pattern, vm_names_like

pytestmark = pytest.mark.integration
TWIN = "DC9"
SOURCE = "DC0_H0_VM0"


def durable_state(lab):
    """The emulator's ``/state`` without what every call changes (request counters, login sessions)."""
    state = lab.admin("GET", "/state")
    for key in ("request_counts", "login_session_ids"):
        state.pop(key, None)
    return state


def actions(lab):
    """Hypervisor actions posted since the counters were cleared (applySLAPolicies, restore ...)."""
    return lab.admin("GET", "/requests")["actions"]


def failing_runs(lab, target, module_args):
    """Check mode, then the real run, of a task that must fail; their results."""
    results = []
    for check in (True, False):
        rc, output, result = lab.playbook(target, {"module_args": module_args}, check=check, diff=True,
                                          expect_rc=None)
        assert result is not None, output[-3000:]
        assert rc != 0 and result.get("failed"), "%s must fail (check mode: %s): %s" % (module_args, check, result)
        assert not result.get("changed"), result
        results.append(result)
    return results


# -- 1. a tag name in two categories ------------------------------------------------------------------------------

@pytest.fixture
def shared_tag(fresh_lab):
    """The tag name ``amb-<hex>`` in the categories ``gold-<hex>`` (on DC0_H0_VM0) and ``silver-<hex>`` (on
    DC0_H0_VM1); the categories and their tags are deleted at the end."""
    suffix = uuid.uuid4().hex[:6]
    tag, categories = "amb-" + suffix, []
    try:
        with fresh_lab.vcenter() as client:
            categories.append(vcenter.tag_vms(client, fresh_lab.env, tag, ["DC0_H0_VM0"], category="gold-" + suffix))
            categories.append(vcenter.tag_vms(client, fresh_lab.env, tag, ["DC0_H0_VM1"],
                                              category="silver-" + suffix))
        yield {"tag": tag, "gold": "gold-%s/%s" % (suffix, tag), "silver": "silver-%s/%s" % (suffix, tag)}
    finally:
        for category_id in categories:
            vcenter.delete_tag_category(fresh_lab.env, category_id)


def test_a_tag_name_of_two_categories_fails_before_any_write_listing_them(fresh_lab, shared_tag):
    # DC0_H0_VM1 holds Gold: an authoritative scope that kept only one of the two tags would strip it.
    assign_policies(fresh_lab, vms={"DC0_H0_VM1": ["Gold"]})
    before = durable_state(fresh_lab)
    fresh_lab.admin("DELETE", "/requests")
    args = {"tag": shared_tag["tag"], "policies": ["Silver"], "scope": "/DC0/vm", "purge_scope": True}

    for result in failing_runs(fresh_lab, "vm_backup_policy", args):
        message = result["msg"]
        assert "the tag name %s is used in 2 categories" % shared_tag["tag"] in message, message
        assert "%s, %s" % (shared_tag["gold"], shared_tag["silver"]) in message, message
        assert result["candidates"] == {shared_tag["tag"]: [shared_tag["gold"], shared_tag["silver"]]}, result

    assert actions(fresh_lab) == {}, "nothing was posted to the backup server"
    assert durable_state(fresh_lab) == before, "the backup server's state did not change"
    assert fresh_lab.spp.policies_of("DC0_H0_VM1") == ["Gold"]


def test_category_slash_tag_selects_one_tag(fresh_lab, shared_tag):
    results = fresh_lab.four_runs("vm_backup_policy", {"tag": shared_tag["silver"], "policies": ["Silver"]})
    assert changed_pattern(results) == CONVERGES
    assert [change["vm_name"] for change in results[1]["changes"]] == ["DC0_H0_VM1"], results[1]["changes"]
    state = fresh_lab.spp.state()
    assert sorted(name for name, policies in state["vms"].items() if "Silver" in policies) == ["DC0_H0_VM1"]


# -- 2. restore destinations named like another datacenter's ------------------------------------------------------

@pytest.fixture
def twin_datacenter(fresh_lab, tmp_path):
    """``DC9`` with a cluster DC0_C0, a host DC0_H0, a datastore LocalDS_0 and a network VM Network, as DC0 has;
    SOURCE (on LocalDS_0 and DC0_DVPG0) backed up once with Gold. The datacenter and every clone of SOURCE are removed at the end."""
    if not fresh_lab.emulated:
        pytest.skip("makes a datacenter in the simulator and reads the emulator's admin API")
    try:
        with fresh_lab.vcenter() as client:
            vcenter.add_twin_datacenter(client, TWIN, cluster="DC0_C0", host="DC0_H0", datastore="LocalDS_0",
                                        datastore_path=str(tmp_path))
        assign_policies(fresh_lab, vms={SOURCE: ["Gold"]})
        back_up(fresh_lab, "Gold", [SOURCE])
        fresh_lab.admin("POST", "/inventory")  # the backup server lists DC9's objects from now on
        yield
    finally:
        with fresh_lab.vcenter() as client:
            for name in vcenter.names_like(client, SOURCE + "_"):
                vcenter.destroy_vm(client, name)
            vcenter.remove_twin_datacenter(client, TWIN)
        fresh_lab.admin("POST", "/inventory")


def datacenter_of(entity):
    while entity is not None and not isinstance(entity, vim.Datacenter):
        entity = entity.parent
    return entity.name if entity is not None else None


@pytest.mark.parametrize("option, value, kind, name", [
    ("cluster", "DC0_C0", "cluster", "DC0_C0"),
    ("host", "DC0_H0", "host", "DC0_H0"),
    ("datastore_map", {"LocalDS_0": "LocalDS_0"}, "datastore", "LocalDS_0"),
    ("network_map", {"DC0_DVPG0": "VM Network"}, "network", "VM Network"),
])
def test_a_destination_name_of_two_datacenters_fails_before_any_change(fresh_lab, twin_datacenter, option, value,
                                                                       kind, name):
    before = durable_state(fresh_lab)
    fresh_lab.admin("DELETE", "/requests")
    args = {"vm": SOURCE, "mode": "clone", "name": SOURCE + "_amb", option: value}

    for result in failing_runs(fresh_lab, "vm_restore", args):
        message = result["msg"]
        assert "2 %ss named %s" % (kind, name) in message, message
        assert "DC0/%s (https://" % name in message and "%s/%s (https://" % (TWIN, name) in message, message
        assert "give one as <datacenter>/<name> or the href" in message, message
        assert len(result["candidates"][name]) == 2, result

    assert actions(fresh_lab) == {}, "nothing was posted to the backup server"
    assert durable_state(fresh_lab) == before, "no restore ran"
    assert vm_names_like(fresh_lab, SOURCE) == [SOURCE], "no VM was made"


def test_datacenter_slash_name_restores_there(fresh_lab, twin_datacenter):
    clone = SOURCE + "_amb"
    args = {"vm": SOURCE, "mode": "clone", "name": clone, "cluster": "DC0/DC0_C0",
            "datastore_map": {"LocalDS_0": "DC0/LocalDS_0"}, "network_map": {"DC0_DVPG0": "DC0/VM Network"}}
    checked = fresh_lab.module("vm_restore", args, check=True)
    assert checked["changed"] is True and vm_names_like(fresh_lab, SOURCE) == [SOURCE], checked
    restored = fresh_lab.module("vm_restore", args)
    assert restored["changed"] is True, restored

    with fresh_lab.vcenter() as client:
        vm = vcenter.find_vm(client, clone)
        assert vm is not None, "the clone exists"
        cluster = vm.resourcePool.owner
        assert cluster.name == "DC0_C0" and datacenter_of(cluster) == "DC0", "restored into DC0's cluster"
        assert [(ds.name, datacenter_of(ds)) for ds in vm.datastore] == [("LocalDS_0", "DC0")]
        assert [(net.name, datacenter_of(net)) for net in vm.network] == [("VM Network", "DC0")]
