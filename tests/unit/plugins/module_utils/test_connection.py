# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Connection options: the doc fragment mirrors the argument spec, env fallbacks work, clients are built from params."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
import types

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.connection import ModuleDocFragment
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import ConfigurationError

ENV_VARIABLES = ("SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_VALIDATE_CERTS", "SPP_CA_PATH", "SPP_ALLOW_HTTP",
                 "VMWARE_HOST",
                 "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS", "VMWARE_CA_PATH",
                 "VM_BACKUP_SERVICE", "CLOUDTEMPLE_URL", "CLOUDTEMPLE_CLIENT_ID", "CLOUDTEMPLE_SECRET_ID",
                 "CLOUDTEMPLE_VALIDATE_CERTS", "CLOUDTEMPLE_CA_PATH", "CLOUDTEMPLE_TIMEOUT")
CLOUDTEMPLE = {"backup_service": "cloudtemple", "cloudtemple_url": "https://shiva.cloud-temple.com",
               "cloudtemple_client_id": "token-id", "cloudtemple_secret_id": "token-secret-1"}
CLIENT_MODULE = "ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple._client"
REQUIRED = {**_connection.REQUIRED_SPP_OPTIONS, **_connection.REQUIRED_VCENTER_OPTIONS,
            **_connection.REQUIRED_CLOUDTEMPLE_OPTIONS}


@pytest.fixture
def clean_env(monkeypatch):
    for name in ENV_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


@pytest.mark.parametrize("fragment, spec", [
    # The spp fragment documents the whole backup side: backup_service and Cloud Temple's options come with SPP's.
    (ModuleDocFragment.SPP, {**_connection.service_argument_spec(), **_connection.spp_argument_spec()}),
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
        assert doc.get("choices") == option.get("choices"), name
        text = " ".join(doc["description"])
        documented_env = re.findall(r"E\(([A-Z_]+)\)", text)
        fallback_env = option["fallback"][1] if "fallback" in option else []
        assert documented_env == fallback_env, name
        if option.get("no_log"):
            assert "never logged" in text, name
        if name in REQUIRED:
            assert "Required" in text, name


def test_common_fragment_is_valid_yaml():
    assert yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"] == {}


def test_connection_spec_is_every_group():
    assert _connection.connection_argument_spec() == {
        **_connection.service_argument_spec(), **_connection.spp_argument_spec(), **_connection.vcenter_argument_spec()}


def test_the_groups_share_no_option():
    groups = [_connection.service_argument_spec(), _connection.spp_argument_spec(), _connection.vcenter_argument_spec()]
    assert sum(len(group) for group in groups) == len(_connection.connection_argument_spec())


def test_secrets_are_no_log():
    spec = _connection.connection_argument_spec()
    assert [name for name, option in spec.items() if option.get("no_log")] == [
        "cloudtemple_secret_id", "spp_password", "vcenter_password"]


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
        os.path.join(root, folder, name) for folder in ("spp", "vsphere", "cloudtemple")
        for name in os.listdir(os.path.join(root, folder)) if name.endswith(".py")]
    for path in files:
        with open(path, encoding="utf-8") as handle:
            imports = [line for line in handle if re.match(r"\s*(from|import)\s", line)]
        assert not [line for line in imports if "AnsibleModule" in line or "module_utils.basic" in line], path


# -- backup_service and the Cloud Temple options (issue 15) ----------------------------------------------------------

def test_the_service_options_default_to_spp_and_the_public_console(clean_env):
    params = ArgumentSpecValidator(_connection.service_argument_spec()).validate({}).validated_parameters
    assert params == {"backup_service": "spp", "cloudtemple_url": "https://shiva.cloud-temple.com",
                      "cloudtemple_client_id": None, "cloudtemple_secret_id": None,
                      "cloudtemple_validate_certs": True, "cloudtemple_ca_path": None, "cloudtemple_timeout": 60}


def test_the_service_options_read_their_environment_variables(clean_env):
    for name, value in (("VM_BACKUP_SERVICE", "cloudtemple"), ("CLOUDTEMPLE_URL", "https://pp-shiva.cloud-temple.com"),
                        ("CLOUDTEMPLE_CLIENT_ID", "token-id"), ("CLOUDTEMPLE_SECRET_ID", "token-secret"),
                        ("CLOUDTEMPLE_VALIDATE_CERTS", "no"), ("CLOUDTEMPLE_CA_PATH", "~/ct.pem"),
                        ("CLOUDTEMPLE_TIMEOUT", "15")):
        clean_env.setenv(name, value)
    result = ArgumentSpecValidator(_connection.service_argument_spec()).validate({"cloudtemple_client_id": "task-id"})
    assert not result.error_messages
    params = result.validated_parameters
    assert params["backup_service"] == "cloudtemple"
    assert params["cloudtemple_url"] == "https://pp-shiva.cloud-temple.com"
    assert params["cloudtemple_client_id"] == "task-id"  # the task wins over the environment
    assert params["cloudtemple_secret_id"] == "token-secret"
    assert params["cloudtemple_validate_certs"] is False
    assert params["cloudtemple_ca_path"] == os.path.expanduser("~/ct.pem")
    assert params["cloudtemple_timeout"] == 15
    assert "token-secret" in result._no_log_values  # pylint: disable=protected-access


def test_an_unknown_backup_service_is_refused_by_the_spec(clean_env):
    clean_env.setenv("VM_BACKUP_SERVICE", "veeam")
    result = ArgumentSpecValidator(_connection.service_argument_spec()).validate({})
    assert any("backup_service" in message and "veeam" in message for message in result.error_messages)


def test_the_timeouts_share_one_range():
    assert _connection.connection_ranges(spp=True, vcenter=False) == {"spp_timeout": (1, 3600),
                                                                      "cloudtemple_timeout": (1, 3600)}
    assert _connection.connection_ranges(spp=False, vcenter=True) == {"vcenter_port": (1, 65535)}
    with pytest.raises(ConfigurationError) as caught:
        _connection.check_connection_ranges({"cloudtemple_timeout": 0}, spp=True)
    assert caught.value.details["problems"] == ["cloudtemple_timeout must be from 1 to 3600, got 0"]


@pytest.mark.parametrize("params, expected", [
    ({}, "spp"), ({"backup_service": None}, "spp"), ({"backup_service": "spp"}, "spp"),
    ({"backup_service": "cloudtemple"}, "cloudtemple"),
])
def test_backup_service(params, expected):
    assert _connection.backup_service(params) == expected


def test_with_cloudtemple_the_client_id_and_secret_are_required_and_not_spp():
    params = {"backup_service": "cloudtemple", "cloudtemple_url": "https://shiva.cloud-temple.com",
              "cloudtemple_client_id": "", "cloudtemple_secret_id": None, "spp_url": None, "spp_username": None,
              "spp_password": None}
    assert _connection.missing_connection_options(params) == [
        "cloudtemple_client_id (environment variable CLOUDTEMPLE_CLIENT_ID)",
        "cloudtemple_secret_id (environment variable CLOUDTEMPLE_SECRET_ID)"]
    assert _connection.missing_connection_options(dict(params, cloudtemple_url="")) == [
        "cloudtemple_url (environment variable CLOUDTEMPLE_URL)",
        "cloudtemple_client_id (environment variable CLOUDTEMPLE_CLIENT_ID)",
        "cloudtemple_secret_id (environment variable CLOUDTEMPLE_SECRET_ID)"]
    assert _connection.missing_connection_options(CLOUDTEMPLE, spp=True) == []


def test_with_spp_the_cloudtemple_options_are_not_required():
    params = {"backup_service": "spp", "spp_url": "https://spp", "spp_username": "u", "spp_password": "p",
              "cloudtemple_client_id": None, "cloudtemple_secret_id": None}
    assert _connection.missing_connection_options(params) == []
    assert _connection.missing_connection_options(dict(params, spp_password=None)) == [
        "spp_password (environment variable SPP_PASSWORD)"]


VCENTER_NONE = {"vcenter_hostname": None, "vcenter_username": None, "vcenter_password": None}


@pytest.mark.parametrize("vcenter, missing", [
    ({}, []),  # no vCenter login: the VMs come from the console's compute API
    ({"vcenter_hostname": "vc"}, ["vcenter_username (environment variable VMWARE_USER)",
                                  "vcenter_password (environment variable VMWARE_PASSWORD)"]),  # all or nothing
    ({"vcenter_password": "p"}, ["vcenter_hostname (environment variable VMWARE_HOST)",
                                 "vcenter_username (environment variable VMWARE_USER)"]),
    ({"vcenter_hostname": "vc", "vcenter_username": "u", "vcenter_password": "p"}, []),
])
def test_with_cloudtemple_the_vcenter_options_are_optional_but_go_together(vcenter, missing):
    params = dict(CLOUDTEMPLE, **dict(VCENTER_NONE, **vcenter))
    assert _connection.missing_connection_options(params) == missing
    assert _connection.uses_vcenter(params) is bool(vcenter)


def test_with_spp_the_vcenter_options_stay_required():
    params = dict({"spp_url": "https://spp", "spp_username": "u", "spp_password": "p"}, **VCENTER_NONE)
    assert len(_connection.missing_connection_options(params)) == 3
    assert _connection.uses_vcenter(params) is True


def test_vcenter_true_checks_the_vcenter_options_whatever_the_service():
    """A vSphere client being built needs them, with Cloud Temple too."""
    assert len(_connection.missing_connection_options(CLOUDTEMPLE, vcenter=True)) == 3
    with pytest.raises(ConfigurationError):
        _connection.vsphere_client_from_params(dict(CLOUDTEMPLE, **VCENTER_NONE))


def test_the_one_message_says_which_service_asked():
    spp = _connection.missing_options_message(["spp_url (environment variable SPP_URL)"])
    assert spp.startswith("missing connection option(s): spp_url (environment variable SPP_URL) (needed with "
                          "backup_service spp, the default;")
    assert "VM_BACKUP_SERVICE environment variable to cloudtemple" in spp and "group/sovereign.vm_backup.all" in spp
    cloudtemple = _connection.missing_options_message(["cloudtemple_secret_id (environment variable "
                                                       "CLOUDTEMPLE_SECRET_ID)"])
    assert "(needed with backup_service cloudtemple)." in cloudtemple
    vcenter = _connection.missing_options_message(["vcenter_hostname (environment variable VMWARE_HOST)"])
    assert "backup_service" not in vcenter


def test_the_cloudtemple_client_is_built_from_params(monkeypatch):
    made = {}

    class FakeClient:
        def __init__(self, **kwargs):
            made.update(kwargs)

    fake = types.ModuleType(CLIENT_MODULE)
    fake.CloudTempleClient = FakeClient
    monkeypatch.setitem(sys.modules, CLIENT_MODULE, fake)
    lines = []
    params = dict(CLOUDTEMPLE, cloudtemple_validate_certs=None, cloudtemple_ca_path="/ca.pem", cloudtemple_timeout=None)
    assert isinstance(_connection.cloudtemple_client_from_params(params, logger=lines.append), FakeClient)
    assert made == {"base_url": "https://shiva.cloud-temple.com", "client_id": "token-id",
                    "secret_id": "token-secret-1", "validate_certs": True, "ca_path": "/ca.pem", "timeout": 60,
                    "logger": lines.append}
    _connection.cloudtemple_client_from_params(dict(params, cloudtemple_validate_certs=False, cloudtemple_timeout=7))
    assert (made["validate_certs"], made["timeout"]) == (False, 7)


def test_the_real_cloudtemple_client_takes_what_the_factory_gives(tmp_path):
    client_module = pytest.importorskip(CLIENT_MODULE)
    if not client_module.HAS_REQUESTS:
        pytest.skip("requests is not installed")
    ca = tmp_path / "ca.pem"
    ca.write_text("-")
    params = dict(CLOUDTEMPLE, cloudtemple_url="https://shiva.cloud-temple.com/api/", cloudtemple_ca_path=str(ca),
                  cloudtemple_validate_certs=True, cloudtemple_timeout=12)
    with _connection.cloudtemple_client_from_params(params) as client:
        assert client.base_url == "https://shiva.cloud-temple.com" and client.timeout == (12, 12)
        assert client.client_id == "token-id" and "token-secret-1" not in repr(client)


def test_the_cloudtemple_factory_names_what_is_missing_and_checks_the_timeout():
    with pytest.raises(ConfigurationError) as caught:
        _connection.cloudtemple_client_from_params({"cloudtemple_url": "https://shiva.cloud-temple.com"})
    assert caught.value.details["missing"] == ["cloudtemple_client_id (environment variable CLOUDTEMPLE_CLIENT_ID)",
                                               "cloudtemple_secret_id (environment variable CLOUDTEMPLE_SECRET_ID)"]
    with pytest.raises(ConfigurationError) as caught:
        _connection.cloudtemple_client_from_params(dict(CLOUDTEMPLE, cloudtemple_timeout=3601))
    assert "cloudtemple_timeout must be from 1 to 3600, got 3601" in str(caught.value)


@pytest.mark.parametrize("url", ["https://token-id:token-secret-1@shiva.cloud-temple.com", "https://tok-9@shiva",
                                 "token-id:token-secret-1@shiva.cloud-temple.com"])
def test_credentials_in_cloudtemple_url_are_refused_unrepeated(url):
    with pytest.raises(ConfigurationError) as caught:
        _connection.cloudtemple_client_from_params(dict(CLOUDTEMPLE, cloudtemple_url=url))
    message = str(caught.value)
    assert "cloudtemple_client_id and cloudtemple_secret_id" in message
    for hidden in _connection.secrets_in_url(url):
        assert hidden not in message


def test_url_secrets_covers_both_backup_urls():
    assert _connection.url_secrets({"spp_url": "https://a:pw-1@spp", "cloudtemple_url": "https://id:sec-2@shiva"}) == [
        "a:pw-1", "pw-1", "id:sec-2", "sec-2"]
    assert _connection.url_secrets({"cloudtemple_url": "https://shiva.cloud-temple.com"}) == []
    assert _connection.url_secrets({}) == []


@pytest.mark.parametrize("params, warnings", [
    ({"cloudtemple_url": "http://shiva.example.com"}, ["cloudtemple"]),
    ({"cloudtemple_url": " HTTP://shiva"}, ["cloudtemple"]),
    ({"cloudtemple_url": "https://shiva.cloud-temple.com"}, []),
    ({"cloudtemple_url": "shiva.cloud-temple.com"}, []),  # no scheme means https
    ({"cloudtemple_url": None}, []),
])
def test_cloudtemple_warnings(params, warnings):
    expected = [_connection.CLOUDTEMPLE_HTTP_WARNING] if warnings else []
    assert _connection.cloudtemple_warnings(params) == expected
    assert _connection.connection_warnings(dict(params, backup_service="cloudtemple", spp_url="http://spp")) == expected


def test_the_warnings_follow_the_service():
    params = {"spp_url": "http://spp", "cloudtemple_url": "http://shiva"}
    assert _connection.connection_warnings(params) == [_connection.HTTP_WARNING]
    assert _connection.connection_warnings(dict(params, backup_service="spp")) == [_connection.HTTP_WARNING]
    assert _connection.connection_warnings(dict(params, backup_service="cloudtemple")) == [
        _connection.CLOUDTEMPLE_HTTP_WARNING]
    assert "http://shiva" not in " ".join(_connection.connection_warnings(dict(params, backup_service="cloudtemple")))
