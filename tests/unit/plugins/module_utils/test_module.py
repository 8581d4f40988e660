# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_module``: the one place that fails the task (``run``), the library and option checks, and the clients a module
gets, with a fake AnsibleModule that records its calls and exits like the real one (``SystemExit``)."""

from __future__ import annotations

import contextlib

import pytest
from ansible.module_utils.basic import missing_required_lib

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.vsphere_inventory import VsphereInventory
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ApiError,
    PolicyInUse,
    RuleViolation,
)

SPP_PARAMS = {"spp_url": "https://spp", "spp_username": "admin", "spp_password": "Not-a-real-pw-1"}
VCENTER_PARAMS = {"vcenter_hostname": "vc", "vcenter_username": "u", "vcenter_password": "Not-a-real-pw-2"}


class FakeModule:
    def __init__(self, params=None, diff=False, events=None):
        self.params = dict(params or {})
        self.no_log_values = set()  # as AnsibleModule: values hidden from the result
        self._diff = diff
        self.calls = []
        self.events = events if events is not None else []

    def fail_json(self, **kwargs):
        self.calls.append(("fail_json", kwargs))
        self.events.append("fail_json")
        raise SystemExit(1)

    def exit_json(self, **kwargs):
        self.calls.append(("exit_json", kwargs))
        self.events.append("exit_json")
        raise SystemExit(0)

    def warn(self, text):
        self.calls.append(("warn", text))

    def log(self, text):
        pass


def run(module, result_or_error):
    def work():
        if isinstance(result_or_error, BaseException):
            raise result_or_error
        return result_or_error

    with pytest.raises(SystemExit):
        _module.run(module, work)
    return module.calls


# -- run ------------------------------------------------------------------------------------------------------------

def test_a_typed_error_is_one_fail_json_with_its_details():
    violation = {"rule": "held_policy", "vm": "web01", "fix": "release Gold"}
    error = RuleViolation([violation])
    calls = run(FakeModule(), error)
    assert calls == [("fail_json", {"msg": error.message, "violations": [violation]})]
    assert calls[0][1]["msg"].startswith("1 rule violation(s); nothing was changed:")


def test_the_details_of_each_error_type_reach_fail_json():
    calls = run(FakeModule(diff=True), PolicyInUse("Gold", ["web01"], ["db01 / Hard disk 2"]))
    assert [name for name, _kwargs in calls] == ["fail_json"]
    assert calls[0][1]["vms"] == ["web01"] and calls[0][1]["disks"] == ["db01 / Hard disk 2"]
    assert "SLA policy Gold is still assigned" in calls[0][1]["msg"]
    calls = run(FakeModule(), ApiError(409, error_id="InUse", description="busy", method="DELETE", url="/x"))
    assert calls == [("fail_json", {"msg": "DELETE /x failed with HTTP 409 (InUse): busy", "status": 409,
                                    "error_id": "InUse", "description": "busy"})]


def test_an_untyped_error_is_not_turned_into_a_failure():
    module = FakeModule()
    with pytest.raises(KeyError):
        _module.run(module, lambda: {}["bug"])
    assert module.calls == []


def test_success_exits_once_with_the_result():
    calls = run(FakeModule(), {"changed": True, "policy": {"name": "Gold"}})
    assert calls == [("exit_json", {"changed": True, "policy": {"name": "Gold"}})]


@pytest.mark.parametrize("diff", [False, True])
def test_diff_is_returned_only_when_asked_for(diff):
    patch = {"before": "a\n", "after": "b\n"}
    calls = run(FakeModule(diff=diff), {"changed": True, "diff": patch})
    assert calls == [("exit_json", {"changed": True, "diff": patch} if diff else {"changed": True})]


def test_warnings_become_module_warnings_and_leave_the_result():
    calls = run(FakeModule(), {"changed": False, "warnings": ["first", "second"]})
    assert calls == [("warn", "first"), ("warn", "second"), ("exit_json", {"changed": False})]


@pytest.mark.parametrize("warnings", [None, []])
def test_no_warnings_make_no_warn_call(warnings):
    calls = run(FakeModule(), {"changed": False, "warnings": warnings})
    assert calls == [("exit_json", {"changed": False})]


# -- require_libraries ----------------------------------------------------------------------------------------------

def test_missing_spp_options_fail_once_with_the_one_message():
    module = FakeModule({"spp_url": "https://spp", "spp_username": "", "spp_password": None})
    with pytest.raises(SystemExit):
        _module.require_libraries(module, spp=True)
    missing = ["spp_username (environment variable SPP_USERNAME)", "spp_password (environment variable SPP_PASSWORD)"]
    assert module.calls == [("fail_json", {"msg": _connection.missing_options_message(missing), "missing": missing})]
    assert "SPP_USERNAME" in module.calls[0][1]["msg"] and "SPP_PASSWORD" in module.calls[0][1]["msg"]


def test_both_groups_missing_are_named_in_one_failure():
    module = FakeModule({})
    with pytest.raises(SystemExit):
        _module.require_libraries(module, spp=True, vsphere=True)
    assert [name for name, _kwargs in module.calls] == ["fail_json"]
    missing = module.calls[0][1]["missing"]
    assert missing == ["spp_url (environment variable SPP_URL)", "spp_username (environment variable SPP_USERNAME)",
                       "spp_password (environment variable SPP_PASSWORD)",
                       "vcenter_hostname (environment variable VMWARE_HOST)",
                       "vcenter_username (environment variable VMWARE_USER)",
                       "vcenter_password (environment variable VMWARE_PASSWORD)"]
    assert module.calls[0][1]["msg"] == _connection.missing_options_message(missing)


def test_only_the_groups_asked_for_are_checked():
    module = FakeModule(SPP_PARAMS)
    _module.require_libraries(module, spp=True, vsphere=False)
    module = FakeModule(VCENTER_PARAMS)
    _module.require_libraries(module, spp=False, vsphere=True)
    module = FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS))
    _module.require_libraries(module, spp=True, vsphere=True)
    assert module.calls == []


def test_missing_requests_is_reported_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(_module.spp_client_module, "HAS_REQUESTS", False)
    monkeypatch.setattr(_module.spp_client_module, "REQUESTS_IMPORT_ERROR", "Traceback: no requests")
    module = FakeModule(SPP_PARAMS)
    with pytest.raises(SystemExit):
        _module.require_libraries(module, spp=True)
    assert module.calls == [("fail_json", {"msg": missing_required_lib("requests"),
                                           "exception": "Traceback: no requests"})]
    module = FakeModule(VCENTER_PARAMS)
    _module.require_libraries(module, spp=False, vsphere=True)  # a vCenter-only module does not need requests
    assert module.calls == []


def test_missing_pyvmomi_is_reported_with_missing_required_lib(monkeypatch):
    monkeypatch.setattr(_module.vsphere_client_module, "HAS_PYVMOMI", False)
    monkeypatch.setattr(_module.vsphere_client_module, "PYVMOMI_IMPORT_ERROR", "Traceback: no pyVmomi")
    module = FakeModule(VCENTER_PARAMS)
    with pytest.raises(SystemExit):
        _module.require_libraries(module, vsphere=True)
    assert module.calls == [("fail_json", {"msg": missing_required_lib("pyvmomi"),
                                           "exception": "Traceback: no pyVmomi"})]
    assert "pyvmomi" in module.calls[0][1]["msg"]


# -- seams and run_with_seams -------------------------------------------------------------------------------

@pytest.fixture
def factories(monkeypatch):
    """Replace the two client factories with context managers that log their life in ``events``."""
    events = []
    made = {}

    def factory(side):
        @contextlib.contextmanager
        def build(params, logger=None):
            made[side] = {"params": params, "logger": logger}
            events.append("open " + side)
            try:
                yield "%s-client" % side
            finally:
                events.append("close " + side)
        return build

    monkeypatch.setattr(_connection, "spp_client_from_params", factory("spp"))
    monkeypatch.setattr(_connection, "vsphere_client_from_params", factory("vsphere"))
    return events, made


def test_seams_hand_the_logger_and_params_to_the_clients(factories):
    _events, made = factories
    module = FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS))
    with _module.seams(module):
        pass
    assert made["spp"]["logger"] == module.log and made["spp"]["params"] is module.params


@pytest.mark.parametrize("url, allow, warned", [
    ("http://spp.example.com", None, True), ("HTTP://spp.example.com", False, True),
    ("http://spp.example.com", True, False), ("https://spp.example.com", None, False), ("spp.example.com", None, False),
])
def test_an_http_spp_url_is_a_module_warning_unless_allowed(factories, url, allow, warned):
    """Issue 14: Basic auth in clear went without a word; the warning reaches the user as a module warning."""
    module = FakeModule(dict(SPP_PARAMS, spp_url=url, spp_allow_http=allow))
    with _module.seams(module, inventory=False):
        pass
    warnings = [text for call, text in module.calls if call == "warn"]
    assert warnings == ([_connection.HTTP_WARNING] if warned else [])
    if warned:
        assert "spp_allow_http: true" in warnings[0] and "SPP_ALLOW_HTTP" in warnings[0]


def test_seams_close_the_clients_when_the_work_fails(factories):
    events, _made = factories
    with pytest.raises(RuntimeError):
        with _module.seams(FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS))):
            raise RuntimeError("bug")
    assert events == ["open spp", "open vsphere", "close vsphere", "close spp"]


def test_seams_check_the_options_before_building_any_client(factories):
    _events, made = factories
    module = FakeModule(SPP_PARAMS)
    with pytest.raises(SystemExit):
        with _module.seams(module):
            pass
    assert made == {} and [name for name, _kwargs in module.calls] == ["fail_json"]
    assert "vcenter_hostname (environment variable VMWARE_HOST)" in module.calls[0][1]["missing"]


def test_seams_wrap_the_clients_in_the_backends_and_close_them(factories):
    events, _made = factories
    module = FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS), events=events)
    with _module.seams(module) as (backup, inventory):
        events.append("work")
    assert isinstance(backup, SppBackupService) and backup.client == "spp-client"
    assert isinstance(inventory, VsphereInventory) and inventory.client == "vsphere-client"
    assert events == ["open spp", "open vsphere", "work", "close vsphere", "close spp"]


@pytest.mark.parametrize("backup, inventory", [(True, False), (False, True)])
def test_seams_yield_none_for_the_side_not_asked_for(factories, backup, inventory):
    _events, made = factories
    with _module.seams(FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS)), backup=backup, inventory=inventory) as pair:
        assert [side is not None for side in pair] == [backup, inventory]
    assert set(made) == {"spp" if backup else "vsphere"}


def test_run_with_seams_calls_with_the_seams_and_exits_after_closing_them(factories):
    events, _made = factories
    module = FakeModule(SPP_PARAMS, events=events)
    seen = []

    def call(backup, inventory):
        seen.append((backup, inventory))
        events.append("call")
        return {"changed": True, "diff": {"before": "", "after": ""}, "warnings": ["careful"]}

    with pytest.raises(SystemExit):
        _module.run_with_seams(module, call, backup=True, inventory=False)
    assert [(backup.client, inventory) for backup, inventory in seen] == [("spp-client", None)]
    assert events == ["open spp", "call", "close spp", "exit_json"]
    assert module.calls == [("warn", "careful"), ("exit_json", {"changed": True})]


def test_run_with_seams_fails_once_after_closing_the_clients(factories):
    events, _made = factories
    module = FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS), events=events)

    def call(backup, inventory):
        raise PolicyInUse("Gold", ["web01"], [])

    with pytest.raises(SystemExit):
        _module.run_with_seams(module, call)
    assert events == ["open spp", "open vsphere", "close vsphere", "close spp", "fail_json"]
    assert [name for name, _kwargs in module.calls] == ["fail_json"] and module.calls[0][1]["vms"] == ["web01"]


def test_run_with_seams_missing_options_fail_once_without_calling(factories):
    events, made = factories
    module = FakeModule(VCENTER_PARAMS)
    with pytest.raises(SystemExit):
        _module.run_with_seams(module, lambda backup, inventory: pytest.fail("called"), backup=True, inventory=True)
    assert made == {} and [name for name, _kwargs in module.calls] == ["fail_json"]
    assert module.calls[0][1]["missing"][:3] == ["spp_url (environment variable SPP_URL)",
                                                 "spp_username (environment variable SPP_USERNAME)",
                                                 "spp_password (environment variable SPP_PASSWORD)"]


def test_an_unsupported_operation_fails_the_task_once_with_its_details(factories):
    """``Unsupported`` (a backend without the capability, raised before any call) becomes one fail_json."""
    events, _made = factories
    module = FakeModule(dict(SPP_PARAMS, **VCENTER_PARAMS), events=events)

    class NoRestore(SppBackupService):
        OFFERS = SppBackupService.OFFERS - {"restore"}
        REFUSALS = {"restore": "this backend has no restore route"}

    def call(backup, inventory):
        NoRestore(backup.client).restorer()
        pytest.fail("restorer() returned")

    with pytest.raises(SystemExit):
        _module.run_with_seams(module, call)
    (name, kwargs), = module.calls
    assert name == "fail_json"
    assert kwargs["msg"] == ("restoring a VM (vm_restore) is not offered by IBM Storage Protect Plus: this backend has "
                             "no restore route.")
    assert (kwargs["capability"], kwargs["backend"]) == ("restore", "spp")
    assert kwargs["service"] == "IBM Storage Protect Plus"


# -- connected_module -------------------------------------------------------------------------------------------------

def test_connected_module_adds_the_connection_options_of_the_servers_asked_for(monkeypatch):
    if not hasattr(_module, "connected_module"):
        pytest.skip("_module.connected_module does not exist")
    built = []
    monkeypatch.setattr(_module, "AnsibleModule", lambda **kwargs: built.append(kwargs) or FakeModule())
    own = {"name": {"type": "str", "required": True}, "spp_timeout": {"type": "int", "default": 5}}
    _module.connected_module(own, spp=True, vcenter=False, supports_check_mode=True)
    spec = built[-1]["argument_spec"]
    assert set(_connection.spp_argument_spec()) <= set(spec) and "vcenter_hostname" not in spec
    assert spec["name"] == own["name"] and spec["spp_timeout"] == {"type": "int", "default": 5}  # the module wins
    assert built[-1]["supports_check_mode"] is True
    _module.connected_module({}, spp=False, vcenter=True)
    assert set(built[-1]["argument_spec"]) == set(_connection.vcenter_argument_spec())


def test_a_password_written_into_spp_url_is_hidden_in_the_result(monkeypatch):
    """Issue 14: the URL is refused, and Ansible's invocation.module_args must not show what it held either."""
    module = FakeModule({"spp_url": "https://admin:Pa55-w0rd@spp.example.com"})
    monkeypatch.setattr(_module, "AnsibleModule", lambda **kwargs: module)
    _module.connected_module({}, spp=True, vcenter=False)
    assert module.no_log_values == {"admin:Pa55-w0rd", "Pa55-w0rd"}
    clean = FakeModule({"spp_url": "https://spp.example.com"})
    monkeypatch.setattr(_module, "AnsibleModule", lambda **kwargs: clean)
    _module.connected_module({}, spp=True, vcenter=False)
    assert clean.no_log_values == set()
