# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options: the doc fragment mirrors the argument spec, env fallbacks work, clients are built from params."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ConfigurationError

ENV_VARIABLES = ("SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_VALIDATE_CERTS", "SPP_CA_PATH", "SPP_ALLOW_HTTP",
                 "VMWARE_HOST",
                 "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS", "VMWARE_CA_PATH")


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("fragment, spec", [
    (ModuleDocFragment.SPP, _connection.spp_argument_spec()),
    (ModuleDocFragment.VCENTER, _connection.vcenter_argument_spec()),
])
def test_doc_fragment_mirrors_the_spec(fragment, spec):
    documented = yaml.safe_load(fragment)["options"]
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        assert doc.get("required", False) == option.get("required", False), name
        text = " ".join(doc["description"])
        documented_env = re.findall(r"E\(([A-Z_]+)\)", text)
        fallback_env = option["fallback"][1] if "fallback" in option else []
        assert documented_env == fallback_env, name
        if option.get("no_log"):
            assert "never logged" in text, name
        if name in _connection.REQUIRED_SPP_OPTIONS or name in _connection.REQUIRED_VCENTER_OPTIONS:
            assert "Required" in text, name


def test_common_fragment_is_valid_yaml():
    assert yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"] == {}


def test_connection_spec_is_both_groups():
    assert _connection.connection_argument_spec() == {**_connection.spp_argument_spec(), **_connection.vcenter_argument_spec()}


def test_secrets_are_no_log():
    spec = _connection.connection_argument_spec()
    assert [name for name, option in spec.items() if option.get("no_log")] == ["spp_password", "vcenter_password"]


def test_environment_fallbacks(clean_env):
    clean_env.setenv("SPP_URL", "https://spp.example.com")
    clean_env.setenv("SPP_VALIDATE_CERTS", "false")
    clean_env.setenv("VMWARE_PORT", "8443")
    clean_env.setenv("VMWARE_CA_PATH", "~/ca.pem")
    result = ArgumentSpecValidator(_connection.connection_argument_spec()).validate({})
    assert not result.error_messages
    params = result.validated_parameters
    assert params["spp_url"] == "https://spp.example.com"
    assert params["spp_validate_certs"] is False
    assert params["vcenter_validate_certs"] is True
    assert params["vcenter_port"] == 8443
    assert params["vcenter_ca_path"] == os.path.expanduser("~/ca.pem")
    assert params["spp_timeout"] == 60
    assert params["spp_username"] is None


def test_spp_allow_http_defaults_to_false_and_reads_its_variable(clean_env):
    spec = _connection.spp_argument_spec()
    assert ArgumentSpecValidator(spec).validate({}).validated_parameters["spp_allow_http"] is False
    clean_env.setenv("SPP_ALLOW_HTTP", "true")
    assert ArgumentSpecValidator(spec).validate({}).validated_parameters["spp_allow_http"] is True


@pytest.mark.parametrize("params, warned", [
    ({"spp_url": "http://spp:8080"}, True),
    ({"spp_url": "  Http://spp"}, True),
    ({"spp_url": "http://spp", "spp_allow_http": True}, False),
    ({"spp_url": "https://spp"}, False),
    ({"spp_url": "spp.example.com"}, False),  # no scheme means https
    ({"spp_url": None}, False),
    ({}, False),
])
def test_spp_warnings(params, warned):
    assert _connection.spp_warnings(params) == ([_connection.HTTP_WARNING] if warned else [])


def test_the_http_warning_does_not_repeat_the_url():
    assert "spp.internal" not in " ".join(_connection.spp_warnings({"spp_url": "http://spp.internal"}))


@pytest.mark.parametrize("url, hidden", [
    ("https://admin:Pa55-w0rd@spp", ["admin:Pa55-w0rd", "Pa55-w0rd"]),
    ("admin:p@ss@spp:8443/x", ["admin:p@ss", "p@ss"]),
    ("https://token@spp", ["token"]),
    ("https://admin:@spp", ["admin:"]),
    ("https://spp.example.com", []),
    (None, []),
])
def test_secrets_in_url(url, hidden):
    assert _connection.secrets_in_url(url) == hidden


def test_credentials_in_spp_url_are_refused_by_the_client_factory():
    params = {"spp_url": "https://admin:Pa55-w0rd@spp", "spp_username": "admin", "spp_password": "Pa55-w0rd"}
    with pytest.raises(ConfigurationError) as caught:
        _connection.spp_client_from_params(params)
    assert "Pa55-w0rd" not in str(caught.value) and "spp_username and spp_password" in str(caught.value)


def test_task_options_win_over_the_environment(clean_env):
    clean_env.setenv("SPP_URL", "https://from-env")
    result = ArgumentSpecValidator(_connection.spp_argument_spec()).validate({"spp_url": "https://from-task"})
    assert result.validated_parameters["spp_url"] == "https://from-task"


def test_missing_connection_options():
    spp_only = {"spp_url": "https://spp", "spp_username": None, "spp_password": ""}
    assert _connection.missing_connection_options(spp_only) == [
        "spp_username (environment variable SPP_USERNAME)", "spp_password (environment variable SPP_PASSWORD)"]
    assert _connection.missing_connection_options(spp_only, spp=False) == []
    assert _connection.missing_connection_options(spp_only, spp=False, vcenter=True) == [
        "vcenter_hostname (environment variable VMWARE_HOST)", "vcenter_username (environment variable VMWARE_USER)",
        "vcenter_password (environment variable VMWARE_PASSWORD)"]


def test_clients_from_params(tmp_path):
    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    params = {"spp_url": "https://spp:8443/", "spp_username": "admin", "spp_password": "pw-123456",
              "spp_validate_certs": None, "spp_ca_path": str(ca), "spp_timeout": 12,
              "vcenter_hostname": "vc", "vcenter_port": 8443, "vcenter_username": "u", "vcenter_password": "p",
              "vcenter_validate_certs": False, "vcenter_ca_path": None}
    lines = []
    spp = _connection.spp_client_from_params(params, logger=lines.append)
    assert spp.base_url == "https://spp:8443" and spp._verify == str(ca) and spp.timeout == (12, 12)
    assert spp.logger is not None
    vsphere = _connection.vsphere_client_from_params(params)
    assert (vsphere.hostname, vsphere.port, vsphere.validate_certs) == ("vc", 8443, False)


def test_clients_from_params_name_what_is_missing():
    with pytest.raises(ConfigurationError) as caught:
        _connection.spp_client_from_params({"spp_url": "https://spp"})
    assert "spp_username (environment variable SPP_USERNAME)" in str(caught.value)
    with pytest.raises(ConfigurationError) as caught:
        _connection.vsphere_client_from_params({})
    assert "vcenter_hostname (environment variable VMWARE_HOST)" in str(caught.value)


def test_module_utils_import_without_requests_and_pyvmomi():
    """What ansible-test sanity's import test does: the client modules load, and say what is missing."""
    script = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("requests", "urllib3", "pyVmomi", "pyVim"):
                    raise ImportError("blocked: " + name)
        sys.meta_path.insert(0, Block())
        from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
        from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import _client, listing, jobs, policies
        from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import _client as vc, tasks
        from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vinv
        from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import MissingLibraryError
        assert not _client.HAS_REQUESTS and "blocked" in _client.REQUESTS_IMPORT_ERROR
        assert not vc.HAS_PYVMOMI and "blocked" in vc.PYVMOMI_IMPORT_ERROR
        try:
            _client.SppClient("https://spp", "u", "p")
        except MissingLibraryError as error:
            print("ok", error)
    """)
    collections = [path for path in sys.path if path.endswith(os.path.join(".build", "collections"))]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(collections))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok the Python library 'requests' is required")


def test_no_ansible_module_in_the_clients():
    root = os.path.dirname(_connection.__file__)
    files = [os.path.join(root, "_connection.py")] + [
        os.path.join(root, folder, name) for folder in ("spp", "vsphere")
        for name in os.listdir(os.path.join(root, folder)) if name.endswith(".py")]
    for path in files:
        with open(path, encoding="utf-8") as handle:
            imports = [line for line in handle if re.match(r"\s*(from|import)\s", line)]
        assert not [line for line in imports if "AnsibleModule" in line or "module_utils.basic" in line], path
