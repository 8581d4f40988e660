# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``_arguments``: the one check of option values (issue 14), and that every module, role and plugin uses it.

The inventory of options is read from the modules themselves (their ``main()`` is run up to the point where it builds
its ``AnsibleModule``), so that a numeric option added later without a range, or a free-form dict option without a
shape, fails here.
"""

from __future__ import annotations

import glob
import importlib
import os
import re

import pytest
import yaml

from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.plugin_connection import (
    ModuleDocFragment as PluginDocFragment,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _arguments, _connection, _module
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ConfigurationError, InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_request, sla_definition

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
MODULES = sorted(os.path.basename(path)[:-3] for path in glob.glob(os.path.join(ROOT, "plugins", "modules", "*.py")))
# Free-form dict options whose contents another stage checks, with that stage.
CHECKED_ELSEWHERE = {
    ("coverage_report", "coverage"): "pure/coverage_report._check_coverage",
}

# -- the functions --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value, problem", [
    (1, None), (604800, None), (None, None),
    (0, "timeout must be from 1 to 604800, got 0"),
    (-5, "timeout must be from 1 to 604800, got -5"),
    (604801, "timeout must be from 1 to 604800, got 604801"),
    (True, "timeout must be a whole number from 1 to 604800, got a boolean (True)"),
    ("60", "timeout must be a whole number from 1 to 604800, got a string ('60')"),
    (1.5, "timeout must be a whole number from 1 to 604800, got a decimal number (1.5)"),
])
def test_range_problem(value, problem):
    assert _arguments.range_problem("timeout", value, 1, 604800) == problem


def test_range_text():
    assert _arguments.range_text(1, 31) == "from 1 to 31"
    assert _arguments.range_text(1, None) == "1 or more"
    assert _arguments.range_text(None, 9) == "9 or less"


def test_ranges_follow_dotted_paths_and_list_elements():
    params = {"retention": {"days": 0, "recovery_points": None}, "schedule": {"monthdays": [1, 32, 0]},
              "other": None}
    assert _arguments.range_problems(params, sla_definition.RANGES) == [
        "retention.days must be from 1 to 36500, got 0",
        "schedule.monthdays[1] must be from 1 to 31, got 32",
        "schedule.monthdays[2] must be from 1 to 31, got 0",
    ]
    assert _arguments.range_problems({"retention": None, "schedule": None}, sla_definition.RANGES) == []


def test_a_string_map_lists_every_bad_entry():
    problems = _arguments.string_map_problems("network_map", {"VM Network": 5, 3: "isolated", "ok": "fine", "": "x",
                                                              "none": None, "list": ["a"]}, "network name")
    assert problems == [
        "network_map: the value of 'VM Network' must be a network name (a non-empty string), got an int (5)",
        "network_map: the key 3 (an int) must be a network name (a non-empty string)",
        "network_map: the key '' (a string) must be a network name (a non-empty string)",
        "network_map: the value of 'none' must be a network name (a non-empty string), got null (None)",
        "network_map: the value of 'list' must be a network name (a non-empty string), got a list (['a'])",
    ]
    assert _arguments.string_map_problems("network_map", None) == []
    assert _arguments.string_map_problems("network_map", {}) == []
    assert _arguments.string_map_problems("network_map", ["a"], "network name") == [
        "network_map must be a dict of network name to network name, got a list"]


def test_entries_need_their_fields():
    fields = {"name": {"required": True}, "site": {}, "state": {"choices": ("present", "absent")}}
    items = [{"name": "Gold", "site": "Primary", "retention": {"days": 3}}, {"site": "Primary"}, "Gold",
             {"name": 7, "state": "gone"}, {"name": " ", "site": ["x"]}]
    assert _arguments.entry_problems("planned_policies", items, fields) == [
        "planned_policies[1] has no name",
        "planned_policies[2] must be a dict, got a string ('Gold')",
        "planned_policies[3].name must be a non-empty string, got an int (7)",
        "planned_policies[3].state must be one of present, absent, got 'gone'",
        "planned_policies[4].name must be a non-empty string, got a string (' ')",
        "planned_policies[4].site must be a non-empty string, got a list (['x'])",
    ]


def test_check_options_lists_every_problem_in_one_error():
    with pytest.raises(InvalidRequest) as caught:
        _arguments.check_options({"timeout": 0, "network_map": {"a": 1}, "rpo": "0h"}, restore_request.RANGES,
                                 restore_request.STRING_MAPS, durations=("rpo",))
    assert caught.value.message == (
        "invalid option value(s): timeout must be from 1 to 604800, got 0; rpo must be longer than 0, got '0h'; "
        "network_map: the value of 'a' must be a network name (a non-empty string), got an int (1); nothing was "
        "changed")
    assert len(caught.value.details["problems"]) == 3
    _arguments.check_options({"timeout": 5, "network_map": {"a": "b"}, "rpo": "1h"}, restore_request.RANGES,
                             restore_request.STRING_MAPS, durations=("rpo",))


# -- the connection options ----------------------------------------------------------------------------------------

SPP = {"spp_url": "https://spp", "spp_username": "admin", "spp_password": "Not-a-real-pw-1"}
VCENTER = {"vcenter_hostname": "vc", "vcenter_username": "u", "vcenter_password": "Not-a-real-pw-2"}


@pytest.mark.parametrize("timeout", [0, -1, 3601, True])
def test_spp_timeout_out_of_range_is_refused_not_replaced(timeout):
    with pytest.raises(ConfigurationError) as caught:
        _connection.spp_client_from_params(dict(SPP, spp_timeout=timeout))
    assert "spp_timeout must be" in caught.value.message and "from 1 to 3600" in caught.value.message


def test_spp_timeout_in_range_and_unset(monkeypatch):
    built = []
    monkeypatch.setattr(_connection, "SppClient", lambda **kwargs: built.append(kwargs["timeout"]))
    _connection.spp_client_from_params(dict(SPP, spp_timeout=5))
    _connection.spp_client_from_params(dict(SPP, spp_timeout=None))
    assert built == [5, 60]


@pytest.mark.parametrize("port", [0, -443, 65536])
def test_vcenter_port_out_of_range_is_refused(port):
    with pytest.raises(ConfigurationError, match="vcenter_port must be from 1 to 65535, got %s" % port):
        _connection.vsphere_client_from_params(dict(VCENTER, vcenter_port=port))


def test_connected_module_fails_before_anything_else(monkeypatch):
    """A module refuses a value out of range while building its AnsibleModule: before libraries, clients or calls."""
    failed = []

    class Module:
        def __init__(self, argument_spec, **kwargs):
            self.no_log_values = set()
            self.params = {name: spec.get("default") for name, spec in argument_spec.items()}
            self.params.update(timeout=0, spp_timeout=-1, network_map={"VM Network": 5})

        def fail_json(self, **kwargs):
            failed.append(kwargs)
            raise SystemExit(1)

    monkeypatch.setattr(_module, "AnsibleModule", Module)
    with pytest.raises(SystemExit):
        _module.connected_module({"timeout": {"type": "int"}, "network_map": {"type": "dict"}},
                                 ranges=restore_request.RANGES, string_maps=restore_request.STRING_MAPS)
    assert failed[0]["problems"] == [
        "spp_timeout must be from 1 to 3600, got -1",
        "timeout must be from 1 to 604800, got 0",
        "network_map: the value of 'VM Network' must be a network name (a non-empty string), got an int (5)",
    ]
    assert failed[0]["msg"].startswith("invalid option value(s): spp_timeout must be from 1 to 3600, got -1; ")


# -- every numeric option of every module, role and plugin has a range, and its documentation says it ---------------

class _Built(Exception):
    def __init__(self, spec, options):
        super().__init__("built")
        self.spec = spec
        self.options = options


def module_spec(name, monkeypatch):
    """``(argument spec, connected_module keyword arguments)`` of module ``name``, from its own ``main()``."""
    module = importlib.import_module("ansible_collections.sovereign.vm_backup.plugins.modules.%s" % name)

    def connected_module(options, spp=True, vcenter=True, **kwargs):
        spec = {}
        if spp:
            spec.update(_connection.spp_argument_spec())
            spec.update(_connection.service_argument_spec())  # as _module.connected_module does (issue 15)
        if vcenter:
            spec.update(_connection.vcenter_argument_spec())
        spec.update(options)
        kwargs.update(spp=spp, vcenter=vcenter)
        raise _Built(spec, kwargs)

    def ansible_module(argument_spec, **kwargs):
        raise _Built(argument_spec, dict(kwargs, spp=False, vcenter=False))

    monkeypatch.setattr(_module, "connected_module", connected_module)
    if hasattr(module, "AnsibleModule"):
        monkeypatch.setattr(module, "AnsibleModule", ansible_module)
    with pytest.raises(_Built) as built:
        module.main()
    return module, built.value.spec, built.value.options


def typed_options(spec, kinds, prefix=""):
    """Paths of the options of ``spec`` whose type (or list element type) is in ``kinds``, with suboptions."""
    found = []
    for name, option in spec.items():
        path = prefix + name
        if option.get("type") in kinds:
            found.append((path, option))
        if option.get("type") == "list" and option.get("elements") in kinds:
            found.append((path + "[]", option))
        if option.get("options"):
            found.extend(typed_options(option["options"], kinds, path + "."))
    return found


def documented(module, path):
    """The description text of the option at ``path`` in the module's DOCUMENTATION (or its fragments)."""
    docs = yaml.safe_load(module.DOCUMENTATION)["options"]
    docs.update(yaml.safe_load(ModuleDocFragment.SPP)["options"])
    docs.update(yaml.safe_load(ModuleDocFragment.VCENTER)["options"])
    keys = path.replace("[]", "").split(".")
    entry = {"suboptions": docs}
    for key in keys:
        entry = entry["suboptions"][key]
    text = entry["description"]
    return " ".join(text) if isinstance(text, list) else text


@pytest.mark.parametrize("name", MODULES)
def test_every_numeric_option_has_a_documented_range(name, monkeypatch):
    module, spec, options = module_spec(name, monkeypatch)
    ranges = _connection.connection_ranges(options["spp"], options["vcenter"])
    ranges.update(options.get("ranges") or {})
    numeric = typed_options(spec, ("int", "float"))
    assert sorted(path for path, _option in numeric) == sorted(ranges), "every numeric option has a range, no more"
    for path, (low, high) in ranges.items():
        text = documented(module, path)
        assert _arguments.range_text(low, high) in text.replace("From", "from"), (path, text)


@pytest.mark.parametrize("name", MODULES)
def test_every_free_form_dict_option_has_its_shape_checked(name, monkeypatch):
    _module_object, spec, options = module_spec(name, monkeypatch)
    shaped = set(options.get("string_maps") or {}) | set(options.get("entries") or {})
    free_form = [path for path, option in typed_options(spec, ("dict",)) if not option.get("options")]
    for path in free_form:
        assert path.rstrip("[]") in shaped or (name, path) in CHECKED_ELSEWHERE, (name, path)


def test_the_plugin_fragment_documents_the_connection_ranges():
    docs = yaml.safe_load(PluginDocFragment.DOCUMENTATION)["options"]
    for option, (low, high) in _connection.connection_ranges().items():
        assert _arguments.range_text(low, high) in " ".join(docs[option]["description"]).replace("From", "from")


@pytest.mark.parametrize("path", sorted(glob.glob(os.path.join(ROOT, "roles", "*", "meta", "argument_specs.yml"))))
def test_every_numeric_role_variable_documents_its_range(path):
    with open(path, encoding="utf-8") as handle:
        specs = yaml.safe_load(handle)["argument_specs"]
    for entry in specs.values():
        for name, option in entry["options"].items():
            if option.get("type") in ("int", "float"):
                assert re.search(r"From \d+ to \d+", option["description"]), (path, name)
