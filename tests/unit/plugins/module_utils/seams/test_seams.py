# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The two seams (issue 15): capabilities and their refusals, ``Unsupported`` before any call whatever the service
or the backend does, and the SPP and vSphere backends offering everything and delegating to the client functions."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import Unsupported, VmBackupError
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams import backup_service, vm_inventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import assignments
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import powerstate
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import restore as restore_service
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import sla_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore

from restore_fixtures import request


def never_called(self, *args, **kwargs):
    """What a fake backend answers for a method its test does not expect to be called."""
    raise NotImplementedError("a call the test did not expect")


class BareBackup(backup_service.BackupService):
    """A backend that offers no capability and implements nothing: any call a service makes raises
    an error (NotImplementedError, or TypeError for a capability's hook), so a service that fails with ``Unsupported``
    made no call before it."""

    kind = "bare"
    label = "the bare test service"
    REFUSALS = {"restore": "it has no restore route", "sla_policy_write": "new policies are a support request"}

    assign = backup_sessions = find_policy = last_backups = policy_jobs = policy_sets = never_called
    read_joined = rescan = running_session = session = sites = sla_policies = never_called
    start_policy_backup = wait_sessions = never_called


class BareInventory(vm_inventory.VmInventory):
    """A VM inventory that offers no capability; ``vms`` answers its listing, and power actions are recorded."""

    kind = "bare"
    label = "the bare test inventory"

    def __init__(self, vms=()):
        self.vms = list(vms)
        self.actions = []

    @property
    def instance_uuid(self):
        return "vc-uuid"

    def list_vms(self, page_size=1000, devices=True):
        return [dict(vm) for vm in self.vms]

    def power_on(self, moref, timeout=600, progress=None):
        self.actions.append(("power_on", moref))

    vm_details = power_off = never_called


class FullInventory(BareInventory):
    OFFERS = frozenset(vm_inventory.OPERATIONS)


@pytest.mark.parametrize("interface", [backup_service.BackupService, vm_inventory.VmInventory])
def test_a_backend_that_lacks_a_method_every_backend_needs_cannot_be_built(interface):
    incomplete = type("Incomplete", (interface,), {})
    with pytest.raises(TypeError, match="abstract"):
        incomplete()
    # The hooks of capabilities are not among them: a backend that does not offer one need not implement it.
    assert not any(name.startswith("_") for name in interface.__abstractmethods__)
    assert {"read_joined", "assign", "list_vms", "power_on"} & set(interface.__abstractmethods__)


def test_a_backend_that_offers_a_capability_without_its_hook_fails_as_a_programming_error():
    class Boastful(BareBackup):
        OFFERS = frozenset(["job_logs"])

    with pytest.raises(TypeError, match="Boastful offers job_logs but does not implement it"):
        Boastful().session_logs("1")


def test_every_capability_has_an_operation_and_the_real_backends_offer_them_all():
    assert SppBackupService.OFFERS == frozenset(backup_service.OPERATIONS)
    assert VsphereInventory.OFFERS == frozenset(vm_inventory.OPERATIONS)
    backup = SppBackupService(object())
    assert all(backup.offers(capability) for capability in backup_service.OPERATIONS)
    for capability in backup_service.OPERATIONS:
        backup.require(capability)  # no error
    assert (backup.kind, backup.label) == ("spp", "IBM Storage Protect Plus")
    assert (VsphereInventory(object()).kind, VsphereInventory(object()).label) == ("vsphere", "vCenter")


def test_an_unknown_capability_is_a_programming_error_not_a_refusal():
    with pytest.raises(ValueError, match="unknown capability restores"):
        SppBackupService(object()).offers("restores")
    with pytest.raises(ValueError, match="unknown capability restore of VsphereInventory"):
        VsphereInventory(object()).require("restore")  # a backup capability asked of the inventory


def test_a_refusal_names_the_operation_the_service_and_the_backends_reason():
    with pytest.raises(Unsupported) as caught:
        BareBackup().require("restore")
    error = caught.value
    assert isinstance(error, VmBackupError)
    assert error.message == "restoring a VM (vm_restore) is not offered by the bare test service: it has no restore route."
    assert error.details == {"operation": "restoring a VM (vm_restore)", "service": "the bare test service",
                             "capability": "restore", "backend": "bare"}
    with pytest.raises(Unsupported, match="^a backup of chosen VMs only .* is not offered by the bare test service: "
                                          "it has no such operation.$"):
        BareBackup().require("vm_backup")  # no reason given by the backend


@pytest.mark.parametrize("method, args, capability", [
    ("vm_options", ("s1",), "backup_options"),
    ("set_options", (["s1"], {}), "backup_options"),
    ("start_vm_backup", ("Gold", ["s1"]), "vm_backup"),
    ("session_logs", ("7",), "job_logs"),
    ("session_points", ([], {}), "recovery_points"),
    ("latest_point", ("s1",), "recovery_points"),
    ("restorer", (), "restore"),
    ("policy_admin", (), "sla_policy_write"),
])
def test_the_methods_of_a_capability_refuse_before_the_backends_hook(method, args, capability):
    with pytest.raises(Unsupported) as caught:
        getattr(BareBackup(), method)(*args)
    assert caught.value.details["capability"] == capability


@pytest.mark.parametrize("method, args, capability", [
    ("reset", ("vm-1",), "reset"),
    ("shutdown_guest", ("vm-1",), "guest_shutdown"),
    ("tag_members", (["backup"],), "tags"),
    ("find_folder", ("/DC0/vm",), "folders"),
    ("rename", ("vm-1", "x"), "rename"),
    ("list_vms_with_markers", (), "markers"),
    ("set_marker", ("vm-1", {}), "markers"),
    ("set_test_record", ("vm-1", {}), "markers"),
    ("restore_requests", (), "markers"),
    ("write_restore_request", ("k", None), "markers"),
])
def test_the_inventorys_capabilities_refuse_the_same_way(method, args, capability):
    with pytest.raises(Unsupported) as caught:
        getattr(BareInventory(), method)(*args)
    assert caught.value.details["capability"] == capability
    assert "is not offered by the bare test inventory" in caught.value.message


# -- services: a backend without the capability fails before any call ----------------------------------------------


def test_vm_restore_without_restore_fails_before_any_call():
    with pytest.raises(Unsupported) as caught:
        restore_service.converge(BareBackup(), FullInventory(), request())
    assert caught.value.details["capability"] == "restore"


def test_vm_restore_without_markers_on_the_inventory_fails_before_any_call():
    class RestoringBackup(BareBackup):
        OFFERS = frozenset(["restore"])

    with pytest.raises(Unsupported) as caught:
        restore_service.converge(RestoringBackup(), BareInventory(), request())
    assert caught.value.details["capability"] == "markers"
    assert "custom attributes on VMs" in caught.value.message


class ReadOnlyPolicies(BareBackup):
    """A backend without policy writes that can read its policies (Gold, whose job is not held)."""

    def sla_policies(self, page_size=1000):
        return [{"id": "p1", "name": "Gold", "description": "", "spec": {"subpolicy": [
            {"type": "REPLICATION", "software": True, "site": "Primary", "retention": {"age": 30}}]}}]

    def policy_jobs(self, page_size=1000):
        return {"Gold": {"job": "vmware_Gold", "held": False, "running": False, "session_id": None}}


@pytest.mark.parametrize("name, options, capability", [
    ("Bronze", {}, "sla_policy_write"),  # creating
    ("Gold", {"retention": {"days": 7}}, "sla_policy_write"),  # changing
    ("Gold", {"state": "absent"}, "sla_policy_write"),  # deleting
    ("Gold", {"held": True}, "hold_release"),  # holding
])
def test_backup_sla_policy_without_policy_writes_reads_then_refuses_before_any_write(name, options, capability):
    """Issue 15: read-only. A write would go through policy_admin(), which the bare backend refuses; the service
    refuses with the backend's own words before it asks for it."""
    with pytest.raises(Unsupported) as caught:
        sla_policies.ensure_sla_policy(ReadOnlyPolicies(), name, **options)
    assert caught.value.details["capability"] == capability
    assert caught.value.message.endswith(ReadOnlyPolicies.REFUSALS.get(capability, "it has no such operation") + ".")


def test_backup_sla_policy_without_policy_writes_is_ok_for_a_policy_as_asked():
    result = sla_policies.ensure_sla_policy(ReadOnlyPolicies(), "Gold", retention={"days": 30}, held=False)
    assert (result["changed"], result["actions"], result["policy"]["held"]) == (False, [], False)


def test_backup_sla_policy_held_without_hold_release_fails_before_any_call():
    class WritingBackup(BareBackup):
        OFFERS = frozenset(["sla_policy_write"])

    with pytest.raises(Unsupported) as caught:
        sla_policies.ensure_sla_policy(WritingBackup(), "Gold", held=False)
    assert caught.value.details["capability"] == "hold_release"


@pytest.mark.parametrize("items, defaults", [
    ([{"vm": "web01", "policies": ["Gold"], "quiesce": True}], {}),
    ([{"vm": "web01", "policies": ["Gold"]}], {"fallback_to_crash_consistent": False}),
])
def test_vm_backup_policy_setting_options_without_them_fails_before_any_call(items, defaults):
    with pytest.raises(Unsupported) as caught:
        assignments.converge(BareBackup(), FullInventory(), items, option_defaults=defaults)
    assert caught.value.details["capability"] == "backup_options"


@pytest.mark.parametrize("items, scope", [([{"folder": "/DC0/vm/prod", "policies": ["Gold"]}], None),
                                          ([{"vm": "web01", "policies": ["Gold"]}], "/DC0/vm/prod")])
def test_vm_backup_policy_by_folder_without_folders_fails_before_any_call(items, scope):
    with pytest.raises(Unsupported) as caught:
        assignments.converge(BareBackup(), BareInventory(), items, scope=scope)
    assert caught.value.details["capability"] == "folders"


def test_vm_backup_run_without_ad_hoc_backups_never_asks_for_one():
    """Issue 15: a backend without ad hoc backups runs whole policies (start_policy_backup), never start_vm_backup,
    whose refusal is the seam's; the run itself is tested in services/test_cloudtemple_services.py."""
    with pytest.raises(Unsupported) as caught:
        BareBackup().start_vm_backup("Gold", ["s-1"])
    assert caught.value.details["capability"] == "vm_backup"
    assert not BareBackup().offers("vm_backup")


@pytest.mark.parametrize("state, power, capability", [("restarted", "poweredOn", "reset"),
                                                      ("shutdown-guest", "poweredOn", "guest_shutdown")])
def test_vm_powerstate_without_the_action_fails_before_acting(state, power, capability):
    inventory = BareInventory([{"name": "web01", "moref": "vm-1", "instance_uuid": "u1", "power_state": power,
                                "template": False}])
    with pytest.raises(Unsupported) as caught:
        powerstate.converge(inventory, "web01", state, lambda: pytest.fail("read the backup service"))
    assert caught.value.details["capability"] == capability and inventory.actions == []


# -- the SPP backend: SPP's raw objects stay inside ----------------------------------------------------------------


def _spp_vm(spp_id, moref, policies=(), hypervisor="hv1"):
    return {"id": spp_id, "name": moref, "hypervisorKey": hypervisor, "storageProfiles": list(policies),
            "nativeObject": {"mor": {"val": moref}}, "config": {"instanceUuid": "uuid-" + moref}}


def test_read_joined_lists_spp_before_asking_for_vcenter_and_keeps_the_raw_objects(monkeypatch):
    order = []
    monkeypatch.setattr(spp_listing, "list_hypervisors", lambda client, **kw: order.append("hypervisors") or [
        {"id": "hv1", "uniqueId": "vc-uuid"}])
    monkeypatch.setattr(spp_listing, "list_vms", lambda client, **kw: order.append("vms") or [_spp_vm("s1", "vm-1")])
    monkeypatch.setattr(spp_listing, "list_vdisks", lambda client, **kw: order.append("vdisks") or [])

    def vcenter():
        order.append("vcenter")
        return "vc-uuid", [{"name": "web01", "moref": "vm-1", "instance_uuid": "uuid-vm-1", "disks": []}]

    backup = SppBackupService(object())
    vms, vcenter_only, backup_only = backup.read_joined(vcenter)
    assert order == ["hypervisors", "vms", "vdisks", "vcenter"], "vCenter's listing is awaited last"
    assert [r["spp_id"] for r in vms] == ["s1"] and vcenter_only == [] and backup_only == []
    assert backup.vms_by_id == {"s1": _spp_vm("s1", "vm-1")}
    order.clear()
    backup.read_joined(vcenter, with_disks=False)
    assert "vdisks" not in order


def test_policy_jobs_maps_spp_job_names_to_policies(monkeypatch):
    jobs = [{"name": "vmware_Gold", "status": "HELD"}, {"name": "vmware_Silver", "status": "RUNNING"},
            {"name": "Hypervisor Inventory", "status": "IDLE"}]
    monkeypatch.setattr(spp_jobs, "list_jobs", lambda client, **kw: jobs)
    found = SppBackupService(object()).policy_jobs()
    assert set(found) == {"Gold", "Silver"}, "a job that is no policy's is left out"
    assert (found["Gold"]["job"], found["Gold"]["held"], found["Gold"]["running"]) == ("vmware_Gold", True, False)
    assert (found["Silver"]["held"], found["Silver"]["running"]) == (False, True)


def test_policy_sets_work_out_the_hypervisors_once_for_the_check_before_and_after(monkeypatch):
    listed = []
    monkeypatch.setattr(spp_listing, "list_hypervisors", lambda client, **kw: listed.append("all") or [{"id": "hv1"}])
    monkeypatch.setattr(spp_listing, "list_vms", lambda client, **kw: [_spp_vm("s1", "vm-1", ["Gold"])])
    backup = SppBackupService(object())
    backup.vms_by_id = {"s1": {"id": "s1"}}  # its hypervisor unknown: every vCenter is listed, once
    assert backup.policy_sets([("s1", None), ("s9", None)]) == {("s1", None): ["Gold"], ("s9", None): None}
    backup.policy_sets([("s1", None), ("s9", None)])
    assert listed == ["all"]


def test_the_restorer_calls_the_spp_restore_functions_with_its_client(monkeypatch):
    seen = []
    monkeypatch.setattr(spp_restore, "list_restore_sessions", lambda client, since: seen.append((client, since)) or [])
    restorer = SppBackupService("the client").restorer()
    assert restorer.restore_sessions(5) == [] and seen == [("the client", 5)]
