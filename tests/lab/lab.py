# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The local lab: the vSphere simulator, the SPP emulator and the Cloud Temple console emulator (which fronts the
other two), on loopback, over TLS with a generated CA.

``python tests/lab/lab.py start`` starts them in the background and prints the ``export`` lines that point the
collection's modules at them (``VMWARE_*``, ``SPP_*``, ``CLOUDTEMPLE_*``); ``stop`` stops them by PID. Tests use the
``Lab`` class directly. The console emulator (tests/emulators/cloudtemple/README.md) starts at the same time as the
SPP emulator and reads SPP's URL from a file the lab writes once SPP is ready.

The SPP emulator runs in one of two profiles (tests/emulators/spp/README.md): ``default`` or ``public-record``. The
``profile`` argument of ``Lab`` chooses it; without it, the environment variable ``SPP_EMULATOR_PROFILE`` does; unset,
it is ``default``. The lab's env records it as ``SPP_EMULATOR_PROFILE``.

The vSphere simulator has a fault API for SOAP calls (tests/emulators/vcsim/README.md) at ``VCSIM_ADMIN`` in the env:
``Lab.vcenter_fault`` fails, delays or holds calls such as ``Rename_Task`` of one VM; ``vcenter_calls`` counts them.
The module-level ``vcsim_admin``, ``clear_vcenter_faults`` ... do the same for a lab known only by its env.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shlex
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)

import certs  # noqa: E402  pylint: disable=wrong-import-position

DEFAULT_DIR = os.path.join(ROOT, ".lab")
VCSIM_BINARY = os.path.join(DEFAULT_DIR, "bin", "vcsim")
EMULATOR_PATH = os.path.join(ROOT, "tests", "emulators", "spp")
CLOUDTEMPLE_EMULATOR_PATH = os.path.join(ROOT, "tests", "emulators", "cloudtemple")
# Availability zones of the console emulator (docs/cloudtemple-api.md 16 inferred 7): the simulator's datacenters are
# in AZ05; SPP's Primary site (every default SLA) in AZ06, so the default SLAs may protect disks; Secondary in AZ05.
CLOUDTEMPLE_ZONES = ("--datacenter-zone", "DC*=AZ05", "--site-zone", "Primary=AZ06", "--site-zone", "Secondary=AZ05",
                     "--site-zone", "DR=AZ07")
SERVERS = ("cloudtemple", "spp", "vcsim")  # stopped in this order
STARTUP_TIMEOUT = 300
PROFILE_VARIABLE = "SPP_EMULATOR_PROFILE"
PROFILES = ("default", "public-record")


class LabError(RuntimeError):
    pass


def _wait_for_line(log_path, prefix, process, timeout):
    """Return the value of the first ``PREFIX=value`` line the process writes to its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(log_path):
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                for line in handle:
                    if line.startswith(prefix + "="):
                        return line.strip().split("=", 1)[1]
        if process.poll() is not None:
            with open(log_path, encoding="utf-8", errors="replace") as handle:
                tail = handle.read()[-2000:]
            raise LabError("%s exited with %s before it was ready:\n%s" % (process.args[0], process.returncode, tail))
        time.sleep(0.1)
    raise LabError("%s was not ready after %ss (log: %s)" % (process.args[0], timeout, log_path))


def choose_profile(profile=None):
    """The emulator profile: the argument, else $SPP_EMULATOR_PROFILE, else default."""
    chosen = profile or os.environ.get(PROFILE_VARIABLE) or "default"
    if chosen not in PROFILES:
        raise LabError("unknown SPP emulator profile %r (from %s); use one of %s"
                       % (chosen, "the argument" if profile else PROFILE_VARIABLE, ", ".join(PROFILES)))
    return chosen


def vcsim_admin(env, method, path, body=None, timeout=60):
    """Call the vSphere simulator's fault API (``/__vcsim__`` + path) of the lab whose env this is; the JSON answer."""
    url = env["VCSIM_ADMIN"] + path
    context = ssl.create_default_context(cafile=env["VMWARE_CA_PATH"])
    # no proxy from the environment: the lab is on loopback
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
    data = None if body is None else json.dumps(body).encode("utf-8")
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with opener.open(request, timeout=timeout) as response:
            content = response.read()
    except urllib.error.HTTPError as error:
        raise LabError("%s %s: %s %s" % (method, url, error.code, error.read().decode("utf-8", "replace"))) from None
    return json.loads(content) if content else None


def vcenter_fault(env, method, moref=None, fault="SystemError", after_effect=False, hold_ms=0, count=1, after=0,
                  message=None, fields=None):
    """Add a fault rule for SOAP calls of ``method``; the rule as the simulator records it (see ``Lab.vcenter_fault``)."""
    body = {"method": method, "after_effect": after_effect, "hold_ms": hold_ms, "count": count, "after": after}
    for key, value in (("moref", moref), ("fault", fault), ("message", message), ("fields", fields)):
        if value is not None:
            body[key] = value
    return vcsim_admin(env, "POST", "/faults", body)


def vcenter_faults(env):
    """The vCenter fault rules in force, with their counters (remaining, after, fired)."""
    return vcsim_admin(env, "GET", "/faults")


def clear_vcenter_faults(env):
    """Remove every vCenter fault rule and release the calls held right now."""
    return vcsim_admin(env, "DELETE", "/faults")


def vcenter_calls(env, moref=None):
    """SOAP calls received per method (``{"Rename_Task": 2}``), of all calls or of those about ``moref``."""
    return vcsim_admin(env, "GET", "/calls" + ("?" + urllib.parse.urlencode({"moref": moref}) if moref else ""))


def reset_vcenter_calls(env):
    return vcsim_admin(env, "DELETE", "/calls")


def vcenter_held(env):
    """The SOAP calls held right now: [{id, fault_id, method, morefs, phase ("before"/"after" the effect), since_ms}]."""
    return vcsim_admin(env, "GET", "/held")


def wait_vcenter_held(env, method=None, timeout=60):
    """Wait until a call (of ``method``, when given) is held, and return it: the caller is frozen at that point."""
    deadline = time.monotonic() + timeout
    while True:
        held = [call for call in vcenter_held(env) if method is None or call["method"] == method]
        if held:
            return held[0]
        if time.monotonic() > deadline:
            raise LabError("no %s call was held after %ss" % (method or "SOAP", timeout))
        time.sleep(0.05)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class Lab:
    """Start and stop the two lab servers. ``env`` holds the variables the modules read."""

    def __init__(self, directory=DEFAULT_DIR, datacenters=1, clusters=1, cluster_hosts=2, hosts=1, vms=2,
                 speed=0.05, vcsim_binary=VCSIM_BINARY, python=sys.executable, profile=None, spp_password=None,
                 vcenter_password=None, cloudtemple_secret=None):
        """``spp_password``, ``vcenter_password`` and ``cloudtemple_secret`` (the console's PAT secret): the servers'
        secrets (random by default); a test of redaction gives short ones."""
        self.directory = os.path.abspath(directory)
        self.passwords = {"spp": spp_password, "vcenter": vcenter_password, "cloudtemple": cloudtemple_secret}
        self.model = dict(datacenters=datacenters, clusters=clusters, cluster_hosts=cluster_hosts, hosts=hosts, vms=vms)
        self.speed = speed
        self.profile = choose_profile(profile)
        self.vcsim_binary = vcsim_binary
        self.python = python
        self.env = {}

    # -- paths -------------------------------------------------------------------------------------------------
    def _path(self, name):
        return os.path.join(self.directory, name)

    @property
    def ca_path(self):
        return self._path(os.path.join("certs", "ca.pem"))

    # -- start / stop --------------------------------------------------------------------------------------------
    def _spawn(self, name, argv, env=None):
        log_path = self._path(name + ".log")
        with open(log_path, "wb") as log:
            process = subprocess.Popen(  # pylint: disable=consider-using-with
                argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, start_new_session=True)  # own session: survives the caller, stopped by PID
        with open(self._path(name + ".pid"), "w", encoding="utf-8") as handle:
            handle.write(str(process.pid))
        return process, log_path

    def start(self):
        if not os.path.exists(self.vcsim_binary):
            raise LabError("the vSphere simulator is not built (%s); run `make vcsim`" % self.vcsim_binary)
        os.makedirs(self.directory, exist_ok=True)
        self.stop()
        certs.generate(self._path("certs"))
        server_cert, server_key = self._path("certs/server.pem"), self._path("certs/server-key.pem")
        vcenter_password = self.passwords["vcenter"] or secrets.token_hex(12)
        spp_password = self.passwords["spp"] or secrets.token_hex(12)
        cloudtemple_client_id = str(uuid.uuid4())
        cloudtemple_secret = self.passwords["cloudtemple"] or secrets.token_hex(16)
        spp_url_file = self._path("spp.url")

        model = self.model
        vcsim, log = self._spawn("vcsim", [
            self.vcsim_binary, "-listen", "127.0.0.1:0", "-tls-cert", server_cert, "-tls-key", server_key,
            "-datacenters", str(model["datacenters"]), "-clusters", str(model["clusters"]),
            "-cluster-hosts", str(model["cluster_hosts"]), "-hosts", str(model["hosts"]), "-vms", str(model["vms"])])
        try:
            vcsim_url = _wait_for_line(log, "VCSIM_URL", vcsim, STARTUP_TIMEOUT)
            vcenter_port = vcsim_url.split("//", 1)[1].split("/", 1)[0].rsplit(":", 1)[1]

            env = dict(os.environ, PYTHONPATH=EMULATOR_PATH)
            spp, log = self._spawn("spp", [
                self.python, "-m", "spp_emulator", "--listen", "127.0.0.1:0", "--cert", server_cert, "--key", server_key,
                "--vcenter-url", vcsim_url, "--vcenter-user", "administrator@vsphere.local",
                "--vcenter-password", vcenter_password, "--vcenter-ca", self.ca_path,
                "--username", "admin", "--password", spp_password, "--speed", str(self.speed),
                "--profile", self.profile], env=env)
            # The console emulator starts meanwhile (its start-up overlaps SPP's) and waits for spp_url_file.
            cloudtemple, cloudtemple_log = self._spawn("cloudtemple", [
                self.python, "-m", "cloudtemple_emulator", "--listen", "127.0.0.1:0", "--cert", server_cert,
                "--key", server_key, "--spp-url-file", spp_url_file, "--spp-user", "admin",
                "--spp-password", spp_password, "--spp-ca", self.ca_path, "--vcenter-url", vcsim_url,
                "--vcenter-user", "administrator@vsphere.local", "--vcenter-password", vcenter_password,
                "--vcenter-ca", self.ca_path, "--client-id", cloudtemple_client_id, "--secret-id", cloudtemple_secret,
                "--speed", str(self.speed), *CLOUDTEMPLE_ZONES],
                env=dict(os.environ, PYTHONPATH=os.pathsep.join((CLOUDTEMPLE_EMULATOR_PATH, EMULATOR_PATH))))
            spp_url = _wait_for_line(log, "SPP_URL", spp, STARTUP_TIMEOUT)
            with open(spp_url_file + ".tmp", "w", encoding="utf-8") as handle:
                handle.write(spp_url)
            os.replace(spp_url_file + ".tmp", spp_url_file)  # the console reads it whole or not at all
            cloudtemple_url = _wait_for_line(cloudtemple_log, "CLOUDTEMPLE_URL", cloudtemple, STARTUP_TIMEOUT)
        except LabError:
            self.stop()
            raise

        self.env = {
            "VMWARE_HOST": "127.0.0.1",
            "VMWARE_PORT": vcenter_port,
            "VMWARE_USER": "administrator@vsphere.local",
            "VMWARE_PASSWORD": vcenter_password,
            "VMWARE_VALIDATE_CERTS": "true",
            "VMWARE_CA_PATH": self.ca_path,
            "SPP_URL": spp_url,
            "SPP_USERNAME": "admin",
            "SPP_PASSWORD": spp_password,
            "SPP_VALIDATE_CERTS": "true",
            "SPP_CA_PATH": self.ca_path,
            "SPP_EMULATOR_ADMIN": spp_url + "/__emulator__",
            "VCSIM_ADMIN": "%s://%s/__vcsim__" % urllib.parse.urlsplit(vcsim_url)[:2],
            PROFILE_VARIABLE: self.profile,
            "CLOUDTEMPLE_URL": cloudtemple_url,
            "CLOUDTEMPLE_CLIENT_ID": cloudtemple_client_id,
            "CLOUDTEMPLE_SECRET_ID": cloudtemple_secret,
            "CLOUDTEMPLE_VALIDATE_CERTS": "true",
            "CLOUDTEMPLE_CA_PATH": self.ca_path,
            "CLOUDTEMPLE_EMULATOR_ADMIN": cloudtemple_url + "/__emulator__",
        }
        with open(self._path("env"), "w", encoding="utf-8") as handle:
            handle.write(self.export_lines())
        return self

    def export_lines(self):
        return "".join("export %s=%s\n" % (key, shlex.quote(value)) for key, value in sorted(self.env.items()))

    def stop(self):
        """Stop the servers by PID (SIGTERM, then SIGKILL). Safe to call when nothing runs."""
        for name in SERVERS:
            pid_file = self._path(name + ".pid")
            if not os.path.exists(pid_file):
                continue
            with open(pid_file, encoding="utf-8") as handle:
                pid = int(handle.read().strip() or 0)
            if pid and _pid_alive(pid):
                os.kill(pid, signal.SIGTERM)
                deadline = time.monotonic() + 10
                while _pid_alive(pid) and time.monotonic() < deadline:
                    try:  # reap it when it is our child, so that it does not linger as a zombie
                        os.waitpid(pid, os.WNOHANG)
                    except ChildProcessError:
                        pass
                    time.sleep(0.05)
                if _pid_alive(pid):
                    os.kill(pid, signal.SIGKILL)
            os.remove(pid_file)
        for name in ("env", "spp.url"):  # spp.url: a stale URL must not reach the next console emulator
            if os.path.exists(self._path(name)):
                os.remove(self._path(name))

    # -- the vSphere simulator's fault API (tests/emulators/vcsim/README.md) ------------------------------------------
    def vcenter_fault(self, method, moref=None, fault="SystemError", after_effect=False, hold_ms=0, count=1, after=0,
                      message=None, fields=None):
        """Fail, delay or hold the next SOAP calls of ``method`` (e.g. Rename_Task, PowerOffVM_Task, SetField).

        ``moref``: only calls whose _this (or entity argument) is that moref. ``fault``: the vim25 fault answered
        (SystemError, NoPermission, MethodDisabled ...); None answers what the simulator answers (with ``hold_ms``).
        ``after_effect``: the simulator handles the call first (a task is started), then the fault is answered.
        ``hold_ms``: wait that long before answering (before or after the effect); a caller killed during a hold
        before the effect never reaches the simulator. ``count``: calls the rule applies to (0: until cleared).
        ``after``: matching calls let through first. ``message``: the fault's text; ``fields``: other fault fields
        by XML name (morefs as "Type:value"). Returns the rule as recorded."""
        return vcenter_fault(self.env, method, moref=moref, fault=fault, after_effect=after_effect, hold_ms=hold_ms,
                             count=count, after=after, message=message, fields=fields)

    def vcenter_faults(self):
        return vcenter_faults(self.env)

    def clear_vcenter_faults(self):
        return clear_vcenter_faults(self.env)

    def vcenter_calls(self, moref=None):
        return vcenter_calls(self.env, moref)

    def reset_vcenter_calls(self):
        return reset_vcenter_calls(self.env)

    def vcenter_held(self):
        return vcenter_held(self.env)

    def wait_vcenter_held(self, method=None, timeout=60):
        return wait_vcenter_held(self.env, method, timeout)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("action", choices=("start", "stop", "env"))
    parser.add_argument("--dir", default=DEFAULT_DIR)
    parser.add_argument("--datacenters", type=int, default=1)
    parser.add_argument("--clusters", type=int, default=1)
    parser.add_argument("--cluster-hosts", type=int, default=2)
    parser.add_argument("--hosts", type=int, default=1)
    parser.add_argument("--vms", type=int, default=3, help="VMs per standalone host and per cluster resource pool")
    parser.add_argument("--speed", type=float, default=0.2, help="speed factor of the SPP emulator's jobs")
    parser.add_argument("--profile", choices=PROFILES,
                        help="SPP emulator profile (default: $%s, else default)" % PROFILE_VARIABLE)
    args = parser.parse_args(argv)
    try:
        lab = Lab(args.dir, datacenters=args.datacenters, clusters=args.clusters, cluster_hosts=args.cluster_hosts,
                  hosts=args.hosts, vms=args.vms, speed=args.speed,
                  profile="default" if args.action == "stop" else args.profile)  # stopping needs no profile
    except LabError as error:
        print(error, file=sys.stderr)
        return 2
    if args.action == "stop":
        lab.stop()
        return 0
    if args.action == "start":
        lab.start()
    env_file = os.path.join(lab.directory, "env")
    if not os.path.exists(env_file):
        print("the lab is not running; start it with `make lab`", file=sys.stderr)
        return 1
    with open(env_file, encoding="utf-8") as handle:
        sys.stdout.write(handle.read())
    return 0


if __name__ == "__main__":
    sys.exit(main())
