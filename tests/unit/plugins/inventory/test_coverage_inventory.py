# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The coverage inventory plugin: report -> hosts, variables and groups (pure), the options' documentation, and the
plugin as Ansible loads it (config file, templated and vaulted credentials, constructed, cache, errors) with the
coverage collection replaced by a hand-built report, so no server is needed."""

from __future__ import annotations

import copy
import json
import os
import random
import subprocess
import sys
import textwrap

import pytest
import yaml

from ansible_collections.sovereign.vm_backup.plugins.doc_fragments.plugin_connection import ModuleDocFragment
from ansible_collections.sovereign.vm_backup.plugins.inventory import coverage
from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
COLLECTIONS = os.path.join(ROOT, ".build", "collections")
FLAGS = ["unknown_to_backup", "unprotected", "held_only", "stale", "blocked_first_backup", "partially_covered",
         "violation"]


def record(name, moref, policies=(), flags=(), disks=None, **extra):
    """A coverage record as the contract describes it (every key present)."""
    if disks is None:
        disks = [{"label": "Hard disk 1", "key": 2000, "size_bytes": 1 << 30, "mode": "normal", "spp_id": "d-" + moref,
                  "policies": []}]
    base = {
        "name": name, "moref": moref, "instance_uuid": "uuid-" + moref, "spp_id": "spp-" + moref,
        "known_to_backup": True, "power_state": "poweredOn", "has_snapshots": False, "folder": "/DC0/vm",
        "datacenter": "DC0", "host": "esx1", "cluster": "C0", "policies": list(policies), "disks": disks, "nics": None,
        "disk_policies": sorted({p for disk in disks or [] for p in disk["policies"]}),
        "held_policies": [], "last_backup": None, "last_backup_policy": None, "flags": list(flags),
        "reasons": {flag: "because %s." % flag for flag in flags}, "compliant": not flags,
    }
    base.update(extra)
    return base


def report():
    """Every kind of VM once: compliant, unprotected and running, held only, unknown, protected through a disk."""
    disk_only = [{"label": "Hard disk 1", "key": 2000, "size_bytes": 1, "mode": "normal", "spp_id": "d1",
                  "policies": ["Silver"]},
                 {"label": "Hard disk 2", "key": 2001, "size_bytes": 1, "mode": "independent", "spp_id": "d2",
                  "policies": []}]
    vms = [
        record("app01", "vm-10", policies=["Gold"], last_backup="2026-11-22T02:11:10Z", last_backup_policy="Gold"),
        record("bare", "vm-11", flags=["unprotected", "violation"]),
        record("frozen", "vm-12", policies=["Held-1"], held_policies=["Held-1"], flags=["held_only", "stale"],
               power_state="poweredOff"),
        record("diskonly", "vm-13", flags=["stale", "partially_covered"], disks=disk_only, cluster=None),
    ]
    vcenter_only = [record("newborn", "vm-14", flags=["unknown_to_backup", "unprotected"], spp_id=None,
                           known_to_backup=False, power_state="poweredOff")]
    per_policy = {"Bronze": {"vms": 0, "held": False}, "Gold": {"vms": 1, "held": False},
                  "Held-1": {"vms": 1, "held": True}, "Silver": {"vms": 1, "held": False}}
    flags = {flag: sum(flag in r["flags"] for r in vms + vcenter_only) for flag in FLAGS}
    return {"vms": vms, "vcenter_only": vcenter_only, "spp_only": [{"name": "gone", "spp_id": "x", "policies": []}],
            "rescanned": False, "summary": {"per_policy": per_policy, "flags": flags, "rpo": "24h"}}


# -- pure ---------------------------------------------------------------------------------------------------------


def test_groups_of_every_kind_of_vm():
    built = coverage.build_inventory(coverage.inventory_source(report()))
    assert built["groups"] == {
        "blocked_first_backup": [],
        "compliant": ["app01"],
        "held_only": ["frozen"],
        "partially_covered": ["diskonly"],
        "policy_Bronze": [],  # every policy of the server has its group, even empty
        "policy_Gold": ["app01"],
        "policy_Held_1": ["frozen"],  # sanitised
        "policy_Silver": ["diskonly"],  # disk-level policies count, as in summary.per_policy
        "stale": ["diskonly", "frozen"],
        "unknown_to_backup": ["newborn"],
        "unprotected": ["bare", "newborn"],
        "violation": ["bare"],
    }
    assert sorted(built["hosts"]) == ["app01", "bare", "diskonly", "frozen", "newborn"], "spp_only VMs are no hosts"
    assert built["duplicates"] == {}


def test_host_variables_are_the_prefixed_record():
    source = coverage.inventory_source(report())
    variables = coverage.build_inventory(source)["hosts"]
    diskonly = variables["diskonly"]
    assert diskonly["sovereign_backup_esxi_host"] == "esx1" and "sovereign_backup_host" not in diskonly
    assert diskonly["sovereign_backup_disk_policies"] == ["Silver"]
    assert diskonly["sovereign_backup_policies"] == []
    assert diskonly["sovereign_backup_cluster"] is None
    assert diskonly["sovereign_backup_reasons"] == {"stale": "because stale.",
                                                    "partially_covered": "because partially_covered."}
    original = next(r for r in source["vms"] if r["name"] == "app01")
    app = variables["app01"]
    assert set(app) == {"sovereign_backup_" + ("esxi_host" if key == "host" else key) for key in original} | {
        "sovereign_backup_disk_policies"}
    assert app["sovereign_backup_last_backup"] == "2026-11-22T02:11:10Z"
    assert app["sovereign_backup_compliant"] is True and app["sovereign_backup_moref"] == "vm-10"
    assert "ansible_host" not in app, "the plugin does not know the VMs' addresses"
    assert variables["newborn"]["sovereign_backup_known_to_backup"] is False
    assert variables["newborn"]["sovereign_backup_spp_id"] is None


def test_without_disks_the_disk_policies_are_still_known():
    data = report()
    for item in data["vms"] + data["vcenter_only"]:
        item["disks"] = None
        item["flags"] = [flag for flag in item["flags"] if flag != "partially_covered"]
    data["summary"]["flags"]["partially_covered"] = None
    built = coverage.build_inventory(coverage.inventory_source(data))
    assert "partially_covered" not in built["groups"], "an empty group would claim that no VM is partly covered"
    # The backup server's disk-level policies are read in every case: the VM stays in its policy's group.
    assert built["hosts"]["diskonly"]["sovereign_backup_disk_policies"] == ["Silver"]
    assert built["hosts"]["diskonly"]["sovereign_backup_disks"] is None
    assert built["groups"]["policy_Silver"] == ["diskonly"]


def test_duplicate_names_are_deterministic_whatever_the_listing_order():
    data = report()
    twins = [record("web", "vm-2", policies=["Gold"]), record("web", "vm-10", flags=["unprotected", "violation"]),
             record("web", "vm-7", policies=["Gold"])]
    seen = set()
    for seed in range(4):
        shuffled = copy.deepcopy(data)
        shuffled["vms"] += twins
        random.Random(seed).shuffle(shuffled["vms"])
        built = coverage.build_inventory(coverage.inventory_source(shuffled))
        assert built["duplicates"] == {"web": ["web_vm-10", "web_vm-2", "web_vm-7"]}
        assert built["groups"]["unprotected"] == ["bare", "newborn", "web_vm-10"]
        assert built["hosts"]["web_vm-2"]["sovereign_backup_moref"] == "vm-2"
        seen.add(json.dumps(built, sort_keys=True))
    assert len(seen) == 1
    assert "web" not in built["hosts"], "no VM takes the bare name: none hides the others"


@pytest.mark.parametrize("hostnames, expected", [
    ("moref", ["vm-10", "vm-11", "vm-12", "vm-13", "vm-14"]),
    ("instance_uuid", ["uuid-vm-10", "uuid-vm-11", "uuid-vm-12", "uuid-vm-13", "vm-14"]),
])
def test_other_hostnames(hostnames, expected):
    data = report()
    data["vcenter_only"][0]["instance_uuid"] = None  # falls back to the moref
    built = coverage.build_inventory(coverage.inventory_source(data), hostnames=hostnames)
    assert sorted(built["hosts"]) == expected
    assert built["groups"]["violation"] == [expected[1]]


def test_group_prefix_applies_to_every_group_of_the_plugin():
    built = coverage.build_inventory(coverage.inventory_source(report()), group_prefix="bk-")
    assert all(group.startswith("bk_") for group in built["groups"])
    assert built["groups"]["bk_policy_Held_1"] == ["frozen"]
    assert built["groups"]["bk_compliant"] == ["app01"]


def test_verify_file(tmp_path):
    plugin = coverage.InventoryModule()
    for name, accepted in (("prod.sovereign_coverage.yml", True), ("prod.sovereign_coverage.yaml", True),
                           ("sovereign_coverage.yml", True), ("prod.yml", False), ("coverage.yml", False)):
        path = tmp_path / name
        path.write_text("plugin: sovereign.vm_backup.coverage\n")
        assert bool(plugin.verify_file(str(path))) is accepted, name
    assert not plugin.verify_file(str(tmp_path / "missing.sovereign_coverage.yml"))


# -- documentation ------------------------------------------------------------------------------------------------


def test_plugin_connection_fragment_mirrors_the_module_spec():
    documented = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)["options"]
    spec = _connection.connection_argument_spec()
    assert set(documented) == set(spec)
    for name, option in spec.items():
        doc = documented[name]
        assert doc["type"] == option["type"], name
        assert doc.get("default") == option.get("default"), name
        fallback = option["fallback"][1] if "fallback" in option else []
        assert [env["name"] for env in doc.get("env", [])] == fallback, name
        if option.get("no_log"):
            assert "never logged" in " ".join(doc["description"]), name


def test_plugin_documentation_is_valid():
    documented = yaml.safe_load(coverage.DOCUMENTATION)
    assert documented["name"] == "coverage"
    assert documented["options"]["plugin"]["choices"] == [coverage.InventoryModule.NAME]
    assert documented["options"]["include"]["default"] == ["disks"]
    assert set(documented["options"]["include"]["choices"]) < {"disks", "nics", "jobs"}
    assert documented["options"]["hostnames"]["choices"] == ["name", "moref", "instance_uuid"]
    examples = list(yaml.safe_load_all(coverage.EXAMPLES))
    assert examples and all(example["plugin"] == coverage.InventoryModule.NAME for example in examples)


# -- the plugin as Ansible loads it -------------------------------------------------------------------------------

# Runs in a fresh interpreter, because Ansible's collection loader must be installed before the collection is
# imported. The clients and collect_coverage are replaced by fakes that record what they are given.
DRIVER = textwrap.dedent("""
    import json, sys
    from ansible.plugins.loader import init_plugin_loader, inventory_loader
    init_plugin_loader([sys.argv[1]])
    from ansible.errors import AnsibleParserError
    from ansible.inventory.data import InventoryData
    from ansible.parsing.dataloader import DataLoader
    from ansible.parsing.vault import VaultSecret
    from ansible_collections.sovereign.vm_backup.plugins.module_utils import _errors
    from ansible_collections.sovereign.vm_backup.plugins.module_utils import _connection
    from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import coverage as coverage_service

    config, report_file, calls_file, flush = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] == "flush"
    calls = []

    class FakeClient:
        def __init__(self, params):
            self.params = params
        def __enter__(self):
            return self
        def __exit__(self, *exc):
            return False

    def spp_client_from_params(params, logger=None):
        _connection.missing_connection_options(params, spp=True)
        return FakeClient(params)

    def vsphere_client_from_params(params):
        return FakeClient(params)

    def cloudtemple_client_from_params(params, logger=None):
        return FakeClient(params)

    def collect_coverage(backup, inventory, **options):
        calls.append({"params": backup.client.params, "options": options})  # the seam over the fake client
        with open(report_file) as handle:
            data = json.load(handle)
        if "error" in data:
            raise _errors.AuthenticationError(data["error"])
        return data

    _connection.spp_client_from_params = spp_client_from_params
    _connection.vsphere_client_from_params = vsphere_client_from_params
    _connection.cloudtemple_client_from_params = cloudtemple_client_from_params
    coverage_service.collect_coverage = collect_coverage

    secrets = [("default", VaultSecret(b"vault-pass"))]
    loader = DataLoader()
    loader.set_vault_secrets(secrets)
    try:  # ansible-core 2.19+ decrypts through this context, as the CLI sets it up
        from ansible.parsing.vault import VaultSecretsContext
        VaultSecretsContext.initialize(VaultSecretsContext(secrets))
    except ImportError:
        pass
    plugin = inventory_loader.get("sovereign.vm_backup.coverage")
    inventory = InventoryData()
    result = {}
    try:
        plugin.parse(inventory, loader, config, cache=not flush)
        if plugin.get_option("cache"):  # what InventoryManager does after parse (no cache plugin otherwise)
            plugin.update_cache_if_changed()
    except AnsibleParserError as error:
        result["error"] = error.message
    result["groups"] = {name: sorted(h.name for h in group.hosts) for name, group in inventory.groups.items()}
    result["hostvars"] = {name: dict(host.vars) for name, host in inventory.hosts.items()}
    with open(calls_file, "w") as handle:
        json.dump(calls, handle, default=str)
    print(json.dumps(result, default=str))
""")


@pytest.fixture
def run_plugin(tmp_path, monkeypatch):
    """``run(config_text, report, flush=False, env=None)`` -> (result, calls) of one parse in a fresh interpreter."""
    for name in ("SPP_URL", "SPP_USERNAME", "SPP_PASSWORD", "SPP_VALIDATE_CERTS", "SPP_CA_PATH", "VMWARE_HOST",
                 "VMWARE_PORT", "VMWARE_USER", "VMWARE_PASSWORD", "VMWARE_VALIDATE_CERTS", "VMWARE_CA_PATH",
                 "SPP_ALLOW_HTTP", "VM_BACKUP_SERVICE", "CLOUDTEMPLE_URL", "CLOUDTEMPLE_CLIENT_ID",
                 "CLOUDTEMPLE_SECRET_ID", "CLOUDTEMPLE_VALIDATE_CERTS", "CLOUDTEMPLE_CA_PATH", "CLOUDTEMPLE_TIMEOUT"):
        monkeypatch.delenv(name, raising=False)

    def run(config_text, data, flush=False, env=None):
        config = tmp_path / "lab.sovereign_coverage.yml"
        config.write_text(config_text)
        report_file = tmp_path / "report.json"
        report_file.write_text(json.dumps(data))
        calls_file = tmp_path / "calls.json"
        run_env = dict(os.environ, ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false", ANSIBLE_NOCOLOR="1", **(env or {}))
        run_env.pop("PYTHONPATH", None)
        done = subprocess.run([sys.executable, "-c", DRIVER, COLLECTIONS, str(config), str(report_file),
                               str(calls_file), "flush" if flush else "cache"],
                              capture_output=True, text=True, env=run_env, check=False, timeout=120)
        assert done.returncode == 0, done.stderr[-3000:]
        run.stderr = done.stderr  # the warnings
        return json.loads(done.stdout.strip().splitlines()[-1]), json.loads(calls_file.read_text())

    return run


CONNECTION = {"SPP_URL": "https://spp.example.com", "SPP_USERNAME": "ansible", "VMWARE_HOST": "vc.example.com",
              "VMWARE_USER": "ansible@vsphere.local", "VMWARE_PASSWORD": "vc-pass-1", "VMWARE_PORT": "8443",
              "SPP_VALIDATE_CERTS": "false", "MY_SPP_PASSWORD": "spp-pass-1",
              # The plugin checks every required option before building a client (one message for all).
              "SPP_PASSWORD": "spp-pass-from-env"}


def test_options_environment_and_templated_password(run_plugin):
    config = textwrap.dedent("""
        plugin: sovereign.vm_backup.coverage
        spp_password: "{{ lookup('ansible.builtin.env', 'MY_SPP_PASSWORD') }}"
        rpo: 36h
        include: [disks, nics]
        compose:
          backup_age_known: sovereign_backup_last_backup is not none
        groups:
          running_unprotected: "'unprotected' in sovereign_backup_flags and sovereign_backup_power_state == 'poweredOn'"
        keyed_groups:
          - key: sovereign_backup_datacenter
            prefix: dc
    """)
    result, calls = run_plugin(config, report(), env=CONNECTION)
    assert "error" not in result
    (call,) = calls
    params = call["params"]
    assert params["spp_password"] == "spp-pass-1", "the lookup was rendered"
    assert (params["spp_url"], params["spp_username"], params["spp_validate_certs"]) == (
        "https://spp.example.com", "ansible", False)
    assert (params["vcenter_hostname"], params["vcenter_port"], params["vcenter_password"]) == (
        "vc.example.com", 8443, "vc-pass-1")
    assert params["vcenter_validate_certs"] is True and params["spp_timeout"] == 60
    assert call["options"]["rpo"] == "36h" and call["options"]["include"] == ["disks", "nics"]
    groups = result["groups"]
    assert groups["unprotected"] == ["bare", "newborn"] and groups["policy_Held_1"] == ["frozen"]
    assert groups["running_unprotected"] == ["bare"], "conditional groups see the plugin's variables"
    assert groups["dc_DC0"] == ["app01", "bare", "diskonly", "frozen", "newborn"]
    assert result["hostvars"]["app01"]["backup_age_known"] is True
    assert result["hostvars"]["bare"]["backup_age_known"] is False
    assert result["hostvars"]["bare"]["sovereign_backup_flags"] == ["unprotected", "violation"]


def test_vaulted_password(run_plugin):
    from ansible.parsing.vault import VaultLib, VaultSecret  # pylint: disable=import-outside-toplevel

    vault = VaultLib([("default", VaultSecret(b"vault-pass"))])
    ciphertext = vault.encrypt("vaulted-spp-pass").decode()
    config = "plugin: sovereign.vm_backup.coverage\nspp_password: !vault |\n%s\n" % textwrap.indent(ciphertext, "  ")
    _result, calls = run_plugin(config, report(), env=CONNECTION)
    assert calls[0]["params"]["spp_password"] == "vaulted-spp-pass"


def test_typed_errors_become_parser_errors_with_the_same_message(run_plugin):
    result, calls = run_plugin("plugin: sovereign.vm_backup.coverage\n", {"error": "SPP rejected the credentials."},
                               env=dict(CONNECTION, SPP_PASSWORD="x"))
    assert result["error"] == "SPP rejected the credentials."
    assert len(calls) == 1

    result, calls = run_plugin("plugin: sovereign.vm_backup.coverage\nrpo: soon\n", report(), env=CONNECTION)
    assert result["error"].startswith("rpo 'soon' is not a duration")
    assert calls == [], "bad options fail before any connection"


def test_cache_keeps_the_report_until_flushed(run_plugin, tmp_path):
    config = textwrap.dedent("""
        plugin: sovereign.vm_backup.coverage
        cache: true
        cache_plugin: ansible.builtin.jsonfile
        cache_connection: %s
    """ % (tmp_path / "cache"))
    env = dict(CONNECTION, SPP_PASSWORD="x")
    first, calls = run_plugin(config, report(), env=env)
    assert len(calls) == 1 and first["groups"]["unprotected"] == ["bare", "newborn"]
    assert os.listdir(tmp_path / "cache"), "the report was written to the cache"

    changed = report()
    changed["vms"][1].update(policies=["Bronze"], flags=[], reasons={}, compliant=True)
    cached, calls = run_plugin(config, changed, env=env)
    assert calls == [], "served from the cache"
    assert cached["groups"] == first["groups"]

    flushed, calls = run_plugin(config, changed, flush=True, env=env)
    assert len(calls) == 1
    assert flushed["groups"]["unprotected"] == ["newborn"] and flushed["groups"]["policy_Bronze"] == ["bare"]
    again, calls = run_plugin(config, report(), env=env)
    assert calls == [] and again["groups"] == flushed["groups"], "the flush refreshed the cache"

    uncached, calls = run_plugin(config.replace("cache: true", "cache: false"), report(), env=env)
    assert len(calls) == 1 and uncached["groups"] == first["groups"]


def test_the_cache_key_covers_the_servers_and_never_a_password(run_plugin, tmp_path):
    """Issue 14: the key was the file's path alone, so the same file pointed at another server got the first one's
    report from the cache."""
    cache = tmp_path / "cache"
    config = textwrap.dedent("""
        plugin: sovereign.vm_backup.coverage
        cache: true
        cache_plugin: ansible.builtin.jsonfile
        cache_connection: %s
    """ % cache)
    # The Cloud Temple token too, so that VM_BACKUP_SERVICE=cloudtemple below has the options it needs.
    env = dict(CONNECTION, SPP_PASSWORD="spp-pass-in-env", CLOUDTEMPLE_CLIENT_ID="token-1",
               CLOUDTEMPLE_SECRET_ID="ct-secret-first")
    _first, calls = run_plugin(config, report(), env=env)
    assert len(calls) == 1
    for other in ({"SPP_URL": "https://spp-dr.example.com"}, {"VMWARE_HOST": "vc-dr.example.com"},
                  {"VMWARE_PORT": "443"}, {"SPP_USERNAME": "auditor"}, {"VMWARE_USER": "auditor@vsphere.local"},
                  {"VM_BACKUP_SERVICE": "cloudtemple"}, {"CLOUDTEMPLE_URL": "https://pp-shiva.cloud-temple.com"},
                  {"CLOUDTEMPLE_CLIENT_ID": "another-token"}):
        _result, calls = run_plugin(config, report(), env=dict(env, **other))
        assert len(calls) == 1, "%s: read from that server, not served the other one's report" % other
    _result, calls = run_plugin(config + "rpo: 12h\n", report(), env=env)
    assert len(calls) == 1, "another rpo computes other flags"
    _result, calls = run_plugin(config, report(), env=dict(env, SPP_PASSWORD="another-password"))
    assert calls == [], "the password is no part of the key: the same servers, the same report"
    _result, calls = run_plugin(config, report(), env=dict(env, CLOUDTEMPLE_SECRET_ID="ct-secret-in-env"))
    assert calls == [], "nor is the Cloud Temple secret"
    stored = "".join(name + path.read_text() for path in cache.iterdir() for name in [path.name])
    for secret in ("spp-pass-in-env", "another-password", CONNECTION["VMWARE_PASSWORD"], "ct-secret-in-env",
                   "ct-secret-first"):
        assert secret not in stored


def test_cache_identity_digest_is_stable_and_tells_servers_apart():
    one = {"spp_url": "https://spp.example.com", "vcenter_hostname": "vc", "rpo": "24h", "include": ["disks"]}
    assert coverage.cache_identity_digest(one) == coverage.cache_identity_digest(dict(reversed(list(one.items()))))
    assert coverage.cache_identity_digest(one) != coverage.cache_identity_digest(dict(one, spp_url="https://b"))
    assert len(coverage.cache_identity_digest(one)) == 16


def test_an_http_spp_url_warns_unless_allowed(run_plugin):
    env = dict(CONNECTION, SPP_PASSWORD="x", SPP_URL="http://spp.example.com")
    result, _calls = run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=env)
    assert "error" not in result
    assert "spp_url uses http://" in " ".join(run_plugin.stderr.split()), run_plugin.stderr
    run_plugin("plugin: sovereign.vm_backup.coverage\nspp_allow_http: true\n", report(), env=env)
    assert "spp_url uses http://" not in run_plugin.stderr
    run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=dict(env, SPP_ALLOW_HTTP="true"))
    assert "spp_url uses http://" not in run_plugin.stderr
    run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=dict(env, SPP_URL="https://spp.example.com"))
    assert "http://" not in run_plugin.stderr


def test_an_http_cloudtemple_url_warns_with_that_service_only(run_plugin):
    """Issue 15: the personal access token goes out for every bearer token; there is no option to quiet it. The
    warnings follow backup_service: an http:// spp_url says nothing when Cloud Temple is the service, and the other
    way round."""
    env = dict(CONNECTION, SPP_PASSWORD="x", SPP_URL="http://spp.example.com", VM_BACKUP_SERVICE="cloudtemple",
               CLOUDTEMPLE_URL="http://shiva.example.com", CLOUDTEMPLE_CLIENT_ID="id", CLOUDTEMPLE_SECRET_ID="s")
    result, calls = run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=env)
    assert "error" not in result
    warned = " ".join(run_plugin.stderr.split())
    assert "cloudtemple_url uses http://" in warned and "spp_url uses http://" not in warned, run_plugin.stderr
    assert calls[0]["params"]["backup_service"] == "cloudtemple"
    assert calls[0]["params"]["cloudtemple_url"] == "http://shiva.example.com"
    run_plugin("plugin: sovereign.vm_backup.coverage\nbackup_service: spp\n", report(), env=env)
    warned = " ".join(run_plugin.stderr.split())
    assert "spp_url uses http://" in warned and "cloudtemple_url" not in warned, run_plugin.stderr


def test_the_cloudtemple_options_default_and_read_their_variables(run_plugin):
    _result, calls = run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=dict(CONNECTION))
    params = calls[0]["params"]
    assert params["backup_service"] == "spp" and params["cloudtemple_url"] == "https://shiva.cloud-temple.com"
    assert params["cloudtemple_validate_certs"] is True and params["cloudtemple_timeout"] == 60
    env = dict(CONNECTION, CLOUDTEMPLE_VALIDATE_CERTS="false", CLOUDTEMPLE_TIMEOUT="15",
               CLOUDTEMPLE_CA_PATH="/etc/pki/ct.pem", CLOUDTEMPLE_CLIENT_ID="token-id")
    _result, calls = run_plugin("plugin: sovereign.vm_backup.coverage\n", report(), env=env)
    params = calls[0]["params"]
    assert (params["cloudtemple_validate_certs"], params["cloudtemple_timeout"]) == (False, 15)
    assert (params["cloudtemple_ca_path"], params["cloudtemple_client_id"]) == ("/etc/pki/ct.pem", "token-id")


def test_names_from_the_servers_are_data_never_templates(run_plugin, tmp_path):
    """VM and policy names that are templates stay literal in compose, groups and keyed_groups (ansible-core before
    2.19 would render them, lookups included, unless the plugin marks them unsafe); a VM named localhost is not
    Ansible's localhost; two policies that make the same group name get two groups."""
    evidence = tmp_path / "PWNED"
    touch = "{{ lookup('pipe', 'touch %s') }}" % evidence
    data = report()
    data["vms"] += [record("{{ 7*7 }}", "vm-20", policies=["Gold-EU"]), record("localhost", "vm-21"),
                    record(touch, "vm-22", policies=["Gold.EU", touch], folder=touch)]
    data["summary"]["per_policy"].update({name: {"vms": 1, "held": False} for name in ("Gold-EU", "Gold.EU", touch)})
    config = textwrap.dedent("""
        plugin: sovereign.vm_backup.coverage
        compose:
          ansible_host: sovereign_backup_name + '.example.com'
          hostname_as_composed: inventory_hostname
          folder_as_composed: sovereign_backup_folder
          policies_as_composed: sovereign_backup_policies
        groups:
          named_like_a_template: sovereign_backup_name.startswith('{')
        keyed_groups:
          - key: sovereign_backup_name
            prefix: name
    """)
    result, _calls = run_plugin(config, data, env=CONNECTION)
    assert not evidence.exists(), "a name ran a command"
    hostvars, groups = result["hostvars"], result["groups"]
    assert hostvars["{{ 7*7 }}"]["ansible_host"] == "{{ 7*7 }}.example.com"
    assert hostvars["{{ 7*7 }}"]["hostname_as_composed"] == "{{ 7*7 }}"
    assert hostvars[touch]["ansible_host"] == touch + ".example.com"
    assert hostvars[touch]["folder_as_composed"] == touch
    assert hostvars[touch]["policies_as_composed"] == ["Gold.EU", touch]
    assert groups["named_like_a_template"] == sorted(["{{ 7*7 }}", touch])
    assert groups["name____7_7___"] == ["{{ 7*7 }}"], "keyed_groups saw the literal name"
    assert "localhost" not in hostvars and hostvars["localhost_vm-21"]["sovereign_backup_name"] == "localhost"
    assert groups["policy_Gold_EU_8a50eb47"] == ["{{ 7*7 }}"] and groups["policy_Gold_EU_2297b5de"] == [touch]
    assert "policy_Gold_EU" not in groups
