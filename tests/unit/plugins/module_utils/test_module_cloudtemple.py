# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_module`` with ``backup_service: cloudtemple`` (issue 15): the backends it chooses, one console client for both
seams, vCenter only when its options are given, the options checked being the console's, capabilities asked before
any call, and the connection options every module gets."""

from __future__ import annotations

import contextlib

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_backup import CloudTempleBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.cloudtemple_inventory import CloudTempleInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory

from test_module import FakeModule, SPP_PARAMS, VCENTER_PARAMS  # pylint: disable=import-error

CT_PARAMS = {"backup_service": "cloudtemple", "cloudtemple_url": "https://shiva.example.com",
             "cloudtemple_client_id": "token-id", "cloudtemple_secret_id": "Not-a-real-secret-1"}


@pytest.fixture
def factories(monkeypatch):
    """The three client factories as context managers that log their life in ``events``."""
    events = []
    made = {}

    def factory(side):
        @contextlib.contextmanager
        def build(params, logger=None):
            made.setdefault(side, []).append(params)
            events.append("open " + side)
            try:
                yield "%s-client" % side
            finally:
                events.append("close " + side)
        return build

    monkeypatch.setattr(_connection, "spp_client_from_params", factory("spp"))
    monkeypatch.setattr(_connection, "vsphere_client_from_params", factory("vsphere"))
    monkeypatch.setattr(_connection, "cloudtemple_client_from_params", factory("console"))
    return events, made


def test_without_vcenter_one_console_client_serves_both_seams(factories):
    events, made = factories
    module = FakeModule(CT_PARAMS, events=events)
    with _module.seams(module) as (backup, inventory):
        events.append("work")
    assert isinstance(backup, CloudTempleBackupService) and isinstance(inventory, CloudTempleInventory)
    assert backup.client == inventory.client == "console-client"
    assert events == ["open console", "work", "close console"] and len(made["console"]) == 1
    assert "spp" not in made and "vsphere" not in made


def test_with_vcenter_options_the_vms_come_from_vcenter(factories):
    events, made = factories
    with _module.seams(FakeModule(dict(CT_PARAMS, **VCENTER_PARAMS), events=events)) as (backup, inventory):
        events.append("work")
    assert isinstance(backup, CloudTempleBackupService) and isinstance(inventory, VsphereInventory)
    assert events == ["open console", "open vsphere", "work", "close vsphere", "close console"]


@pytest.mark.parametrize("backup, inventory, expected", [(False, True, ["open console"]), (True, False, ["open console"])])
def test_one_side_alone_still_needs_the_console(factories, backup, inventory, expected):
    events, _made = factories
    with _module.seams(FakeModule(CT_PARAMS), backup=backup, inventory=inventory) as pair:
        assert [side is not None for side in pair] == [backup, inventory]
    assert events[:1] == expected


def test_the_options_checked_are_the_consoles_and_vcenters_only_when_used(factories):
    events, made = factories
    module = FakeModule({"backup_service": "cloudtemple", "cloudtemple_url": "https://shiva.example.com"})
    with pytest.raises(SystemExit):
        with _module.seams(module):
            pass
    (name, kwargs), = module.calls
    assert name == "fail_json" and made == {}
    assert kwargs["missing"] == ["cloudtemple_client_id (environment variable CLOUDTEMPLE_CLIENT_ID)",
                                 "cloudtemple_secret_id (environment variable CLOUDTEMPLE_SECRET_ID)"]
    assert "(needed with backup_service cloudtemple)" in kwargs["msg"] and "spp_url" not in kwargs["msg"]
    module = FakeModule(dict(CT_PARAMS, vcenter_hostname="vc"))  # partly given: all of them are required
    with pytest.raises(SystemExit):
        with _module.seams(module):
            pass
    assert module.calls[0][1]["missing"] == ["vcenter_username (environment variable VMWARE_USER)",
                                             "vcenter_password (environment variable VMWARE_PASSWORD)"]


def test_a_required_capability_is_refused_before_any_client_connects(factories):
    """vm_restore with the console: Unsupported before vCenter's login (the console client makes no call when built)."""
    events, _made = factories
    module = FakeModule(dict(CT_PARAMS, **VCENTER_PARAMS), events=events)
    with pytest.raises(SystemExit):
        _module.run_with_seams(module, lambda backup, inventory: pytest.fail("called"), requires=("restore",))
    (name, kwargs), = module.calls
    assert name == "fail_json" and kwargs["capability"] == "restore"
    assert kwargs["msg"].startswith("restoring a VM (vm_restore) is not offered by the Cloud Temple console API: the "
                                    "public console API offers no restore route")
    assert "the VM's Backups tab (\"Sauvegardes\"), then Restore (\"Restaurer\")" in kwargs["msg"]
    assert "open vsphere" not in events and events[-1] == "fail_json"


def test_spp_keeps_its_backends_and_offers_what_is_required(factories):
    events, _made = factories
    with _module.seams(FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS)), requires=("restore",)) as (backup, inventory):
        assert isinstance(backup, SppBackupService) and isinstance(inventory, VsphereInventory)
    assert events == ["open spp", "open vsphere", "close vsphere", "close spp"]


def test_backup_beside_reuses_the_inventorys_console_client(factories):
    events, made = factories
    module = FakeModule(CT_PARAMS)
    with _module.seams(module, backup=False) as (_none, inventory):
        with _module.backup_beside(module, inventory)() as backup:
            assert isinstance(backup, CloudTempleBackupService) and backup.client is inventory.client
    assert len(made["console"]) == 1
    module = FakeModule(dict(CT_PARAMS, **VCENTER_PARAMS))
    with _module.seams(module, backup=False) as (_none, inventory):
        with _module.backup_beside(module, inventory)() as backup:
            assert isinstance(backup, CloudTempleBackupService) and backup.client == "console-client"
    assert len(made["console"]) == 2, "the vCenter inventory has no console client: one is built, once"


def test_an_http_console_url_warns_once(factories):
    module = FakeModule(dict(CT_PARAMS, cloudtemple_url="http://shiva.example.com"))
    with _module.seams(module):
        pass
    assert [text for call, text in module.calls if call == "warn"] == [_connection.CLOUDTEMPLE_HTTP_WARNING]


def test_open_seams_raises_typed_errors_without_a_module(factories):
    _events, made = factories
    with pytest.raises(_module.VmBackupError) as caught:
        with _module.open_seams({"backup_service": "cloudtemple"}):
            pass
    assert "cloudtemple_client_id" in caught.value.message and made == {}
    warnings = []
    with _module.open_seams(dict(CT_PARAMS, cloudtemple_url="http://x"), warn=warnings.append) as pair:
        assert isinstance(pair[0], CloudTempleBackupService) and isinstance(pair[1], CloudTempleInventory)
    assert warnings == [_connection.CLOUDTEMPLE_HTTP_WARNING]


def test_connected_module_adds_the_service_options_and_hides_url_secrets(monkeypatch):
    built = []
    module = FakeModule({"cloudtemple_url": "https://id:S3cret-x@shiva.example.com", "spp_url": None})
    monkeypatch.setattr(_module, "AnsibleModule", lambda **kwargs: built.append(kwargs) or module)
    _module.connected_module({}, spp=True, vcenter=False)
    spec = built[-1]["argument_spec"]
    assert set(_connection.service_argument_spec()) <= set(spec) and set(_connection.spp_argument_spec()) <= set(spec)
    assert module.no_log_values == {"id:S3cret-x", "S3cret-x"}
    _module.connected_module({}, spp=False, vcenter=True)
    assert "backup_service" not in built[-1]["argument_spec"]
