# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read-only capture of what an IBM Storage Protect Plus (SPP) server answers to the calls sovereign.vm_backup makes.

    SPP_URL=https://spp.example.com SPP_USERNAME=me SPP_PASSWORD=... python3 spp_capture.py [--out DIR] [--dry-run]

It sends GET requests only, plus the login POST and the logout DELETE (and, with ``--with-search``, the VM and vdisk
searches, which are POSTs that only read). Before anything is written, host names, IP and MAC addresses, user names,
session ids and other secrets, long hex or base64 strings, UUIDs and (unless ``--keep-names``) the names of VMs,
clusters, datastores, networks and folders are replaced by placeholders such as ``<host-1>``: the same value gets the same
placeholder everywhere in one capture, so links stay consistent. One JSON file per call and an ``index.json`` go to
the output directory. Needs Python 3 and ``requests`` only; tests/capture/README.md explains how to check and share
the files. The collection's contract test (tests/emulator/test_capture_contract.py) compares them with the emulator.
"""

from __future__ import annotations

import argparse
import datetime
import getpass
import json
import os
import re
import sys
import time
from urllib.parse import parse_qsl, quote, urlsplit, urlunsplit

try:
    import requests
    import urllib3  # a dependency of requests
except ImportError:  # pragma: no cover - main() says what is missing
    requests = urllib3 = None

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_ROOT = os.path.join(HERE, "fixtures")
FORMAT = 1

LOGIN_PATH = "/api/endeavour/session"
SEARCH_PATH = "/api/hypervisor/search"
JOB_PATH = "/api/endeavour/job"
SESSION_PATH = "/api/endeavour/jobsession"
LOG_PATH = "/api/endeavour/log/job"
SESSION_HEADER = "X-Endeavour-Sessionid"
RESTORE_SERVICE_IDS = ["serviceprovider.recovery.hypervisor", "com.catalogic.ecx.serviceprovider.recovery.hypervisor"]
# Links of a job session that are not actions (spp-api.md 14.9: the UI posts to any other link).
NOT_ACTIONS = {"self", "log", "diagnostics", "expire", "expireall", "job", "cancel", "jobsessions"}
HELD_FIELDS = (("status",), ("lastSessionStatus",), ("lastrun", "status"))
DAY_MS = 86_400_000
UNRECORDED_JOB_PAGES = 20  # pages of 1000 jobs read, without recording them, to find a backup job and a held job

# Every call, in order: (name, method, path or link, what it is). --dry-run prints this; the run records only these.
PLAN = (
    ("login", "POST", LOGIN_PATH, "log in with HTTP Basic; the answer's sessionid and user are redacted"),
    ("ping", "GET", "/api/lifecycle/ping", "the server's version and build"),
    ("hypervisors", "GET", "/api/hypervisor?pageSize={N}&pageStartIndex=0", "registered vCenters, one page"),
    ("vms_hlo", "GET", "/api/hypervisor/{hv}/vm?from=hlo&pageSize={N}&pageStartIndex=0",
     "one page of the live VM listing (backup_inventory, vm_backup_policy)"),
    ("vms_recovery", "GET", "/api/hypervisor/{hv}/vm?from=recovery&pageSize={N}&pageStartIndex=0",
     "one page of the VMs that have recovery points (vm_restore)"),
    ("hosts", "GET", "/api/hypervisor/{hv}/host?from=hlo&pageSize={N}", "ESXi hosts (restore destinations)"),
    ("clusters", "GET", "/api/hypervisor/{hv}/cluster?from=hlo&pageSize={N}", "clusters (restore destinations)"),
    ("volumes", "GET", "/api/hypervisor/{hv}/volume?from=hlo&pageSize={N}", "datastores (restore datastore maps)"),
    ("networks", "GET", "/api/hypervisor/{hv}/network?from=hlo&pageSize={N}",
     "networks; not on the public record, so a 404 is a useful answer too"),
    ("search_vm", "POST", SEARCH_PATH + "?resourceType=vm&from=hlo", "only with --with-search: the VM search by name"),
    ("search_vdisk", "POST", SEARCH_PATH + "?resourceType=vdisk&from=hlo&pageSize={N}",
     "only with --with-search: the vdisk search (not on the public record)"),
    ("vm", "GET", "{vm.links.self}", "one VM, one with recovery points when there is one"),
    ("vm_vdisks", "GET", "{vm.links.vdisks}", "its virtual disks"),
    ("vm_options", "GET", "{vm.links.options}", "its backup options"),
    ("vm_latestversion", "GET", "{vm.links.latestversion}", "its newest recovery point"),
    ("vm_versions", "GET", "{vm.links.versions}&embedCopies=true&pageSize={N}", "its recovery points with copies"),
    ("version_copies", "GET", "{version.links.copies}", "the copies of the newest point"),
    ("version_volumes", "GET", "{version.links.volumes}", "the point's datastores (restore map keys), if linked"),
    ("version_vnics", "GET", "{version.links.vnics}", "the point's NICs (restore map keys), if linked"),
    ("sites", "GET", "/api/site", "sites"),
    ("site", "GET", "/api/site/{copy.siteId}", "the site of the point's first copy"),
    ("slapolicies", "GET", "/ngp/slapolicy?pageSize={N}", "SLA policies, one page"),
    ("slapolicy", "GET", "/ngp/slapolicy/{id}", "one SLA policy (the VM's, else the first)"),
    ("jobs", "GET", JOB_PATH + "?pageSize={N}&pageStartIndex=0",
     "jobs, one page (more pages are read, not recorded, to find the jobs below)"),
    ("job", "GET", "{job.links.self}", "the backup job vmware_<SLA> of the VM's policy, else another backup job"),
    ("job_start_schema", "GET", "{job.links.start.schema}", "its start schema (the actionname of a start)"),
    ("job_livejobsessions", "GET", "{job.links.livejobsessions}", "its live sessions"),
    ("job_held", "GET", "{held job.links.self}", "a job whose status, lastSessionStatus or lastrun.status is HELD"),
    ("jobsessions", "GET", SESSION_PATH + "?sort=[start DESC]&pageSize={N}", "the newest job sessions, one page"),
    ("jobsessions_backup", "GET", SESSION_PATH + "?filter=[start >= 7 days ago, type = protection]&pageSize={N}",
     "backup sessions as backup_inventory reads them"),
    ("jobsessions_restore", "GET", SESSION_PATH + "?filter=[serviceId IN restore, start >= 30 days ago]&pageSize={N}",
     "restore sessions as vm_restore reads them"),
    ("jobsessions_pending", "GET", SESSION_PATH + "?filter=[status = PENDING]&pageSize={N}",
     "pending sessions, where active test restores are (spp-api.md 14.9)"),
    ("jobsession", "GET", SESSION_PATH + "/{id}", "the backup job's last session"),
    ("jobsession_logs", "GET", LOG_PATH + "?filter=[jobsessionId = {id}]&sort=[logTime ASC]&pageSize={N}",
     "its log, one page"),
    ("test_restore_session", "GET", SESSION_PATH + "/{id}", "an active test restore (PENDING with action links), if any"),
    ("test_restore_logs", "GET", LOG_PATH + "?filter=[jobsessionId = {id}]&pageSize={N}", "its log, one page"),
    ("logout", "DELETE", LOGIN_PATH, "log out"),
)
PLAN_NAMES = tuple(name for name, _method, _path, _what in PLAN)


# ---------------------------------------------------------------------------------------------------------------
# Redaction

PLACEHOLDER = re.compile(r"(<[a-z]+(?:-[a-z]+)*-\d+>|<spp-host>)")
URL_HOST = re.compile(r"(?P<scheme>\b[a-zA-Z][a-zA-Z0-9+.-]*://)(?P<userinfo>[^@/\s\"'<>]*@)?"
                      r"(?P<host>\[[0-9a-fA-F:.]+\]|[^/\s:?#\"'<>\]]+)")
EMAIL = re.compile(r"(?<![\w.+-])[\w.+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
UUID = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
                  r"(?![0-9A-Za-z])")
MAC = re.compile(r"(?<![0-9A-Za-z:-])[0-9a-fA-F]{2}(?:[:-][0-9a-fA-F]{2}){5}(?![0-9A-Za-z:-])")
HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{16,}(?![0-9A-Za-z])")
TOKEN = re.compile(r"(?<![A-Za-z0-9_-])[A-Za-z0-9_-]{32,}={0,2}(?![A-Za-z0-9_=-])")
IPV4 = re.compile(r"(?<![\d.])(?:25[0-5]|2[0-4]\d|1?\d?\d)(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}(?!\.?\d)")
IPV6 = re.compile(r"(?<![\w:])(?:[0-9a-fA-F]{0,4}:){2,7}[0-9a-fA-F]{0,4}(?![\w:])")
FQDN = re.compile(r"(?<![\w.-])(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+(?P<tld>[A-Za-z][A-Za-z0-9-]{1,62})"
                  r"(?![\w-])")
TLDS = {
    "com", "net", "org", "edu", "gov", "mil", "int", "info", "biz", "local", "localdomain", "lan", "corp", "internal",
    "intranet", "intra", "home", "priv", "private", "arpa", "example", "invalid", "test", "cloud", "online", "site",
    "tech", "dev", "app", "asia", "lab", "domain", "ad", "ibm",
}

SECRET_KEY_PARTS = ("password", "passwd", "secret", "token", "apikey", "api_key", "privatekey", "credential", "cookie",
                    "authorization")
USER_KEYS = {"user", "username", "owner", "ownername", "createdby", "creator", "modifiedby", "updatedby", "login",
             "loginname", "useridentity", "runas"}
HOST_KEYS = {"hostaddress", "hostname", "hypervisorhostname", "host", "ipaddr", "ipaddress", "address", "fqdn",
             "server", "servername", "vcenter", "vcentername", "managementserver"}
ALWAYS_NAME_KEYS = {"vmname", "sourcevmname", "datastorename", "clustername", "datacentername", "foldername",
                    "networkname", "vcentername"}
PATH_NAME_KEYS = {"location", "vmfolderpath"}
INVENTORY_TYPES = {"vm", "host", "cluster", "volume", "datastore", "network", "folder", "datacenter", "hypervisor"}
INVENTORY_LISTS = {"hypervisors", "vms", "hosts", "clusters", "volumes", "networks", "folders", "datacenters"}
HOST_LISTS = {"hypervisors", "hosts"}  # their items' names are host names: <host-N>, like hypervisorHostname
INVENTORY_PARENTS = {"cluster", "datacenter", "datastore", "host", "hypervisor", "folder", "network", "vmconfig",
                     "metadata"}
# Values of these keys are vocabulary of the API, never redacted (a version "10.1.17.1" is no IP address).
ENUM_KEYS = {"type", "subtype", "status", "statusdisplayname", "typedisplayname", "subtypedisplayname", "resourcetype",
             "serviceid", "messageid", "mode", "restoremode", "subpolicytype", "hypervisortype", "version", "build",
             "lastsessionstatus", "currentstatus", "direction", "op", "property", "rel"}
# Words too common to be replaced wherever they appear, even when a VM or a user carries them as a name.
RESERVED = {
    "test", "clone", "recovery", "production", "backup", "vmware", "host", "cluster", "datastore", "network", "folder",
    "none", "null", "true", "false", "primary", "secondary", "gold", "silver", "bronze", "default", "hlo", "hypervisor",
    "vdisk", "completed", "failed", "running", "pending", "idle", "held", "info", "warn", "error", "summary", "detail",
    "debug", "api", "job", "site", "start", "version", "session", "disk", "links", "self", "href", "name", "user",
}
HREF_SAFE = "[]{}\":,<>*=/-_.~@!$'()+;"


def _outside_placeholders(text, replace):
    """Apply ``replace`` to the parts of ``text`` that are not placeholders already."""
    parts = PLACEHOLDER.split(text)
    return "".join(part if index % 2 else replace(part) for index, part in enumerate(parts))


def _is_inventory(parent, container):
    if isinstance(parent, dict) and str(parent.get("resourceType") or "").lower() in INVENTORY_TYPES:
        return True
    return container in INVENTORY_LISTS or container in INVENTORY_PARENTS


class Redactor:
    """Stable placeholders for what must not leave the site: the same input gets the same placeholder."""

    def __init__(self, spp_url="", username="", secrets=(), keep_names=False):
        self.keep_names = keep_names
        self.placeholders = {}
        self.counts = {}
        self.literals = {}
        self.domains = set()
        self._literal_pattern = None
        host = (urlsplit(spp_url).hostname or "") if spp_url else ""
        if host:
            self.placeholders[("host", host.lower())] = "<spp-host>"
            self.literals[host.lower()] = "<spp-host>"
            self._learn_host_parts(host)
        if username:
            self.learn("user", username)
        for secret in secrets:
            if secret and len(secret) >= 6:
                self.learn("secret", secret)

    # -- placeholders -----------------------------------------------------------------------------------------
    def placeholder(self, kind, value):
        key = (kind, value.lower() if kind in ("host", "user", "name") else value)
        if key not in self.placeholders:
            self.counts[kind] = self.counts.get(kind, 0) + 1
            self.placeholders[key] = "<%s-%d>" % (kind, self.counts[kind])
        return self.placeholders[key]

    def learn(self, kind, value):
        """A value seen in a field that names it (a host, a user, a name): also replaced inside any other text."""
        placeholder = self.placeholder(kind, value)
        if len(value) >= 3 and value.lower() not in RESERVED and not value.isdigit():
            self.literals.setdefault(value.lower(), placeholder)
            self._literal_pattern = None
        if kind == "host":
            self._learn_host_parts(value)
        return placeholder

    def _learn_host_parts(self, host):
        if IPV4.fullmatch(host) or ":" in host or "." not in host:
            return
        short, domain = host.split(".", 1)
        if "." in domain:
            self.domains.add(domain.lower())
        if len(short) >= 3 and short.lower() not in RESERVED:
            self.literals.setdefault(short.lower(), self.placeholder("host", short))
            self._literal_pattern = None

    # -- which fields name what ----------------------------------------------------------------------------------
    def field_kind(self, key, parent, ancestors):
        """host, user, secret or name when a string under ``key`` is one by its field; None otherwise."""
        lowered = key.lower()
        if key == "sessionid" or any(part in lowered for part in SECRET_KEY_PARTS):
            return "secret"
        if lowered in USER_KEYS or (lowered in ("name", "displayname") and ancestors and ancestors[-1] in USER_KEYS):
            return "user"
        if lowered in HOST_KEYS:
            return "host"
        container = ancestors[-1] if ancestors else None
        is_host = container in HOST_LISTS or (isinstance(parent, dict) and parent.get("resourceType") == "host")
        if lowered in ("name", "displayname") and is_host:
            return "host"
        if self.keep_names:
            return None
        if lowered in ALWAYS_NAME_KEYS:
            return "name"
        if lowered in ("name", "displayname") and _is_inventory(parent, container):
            return "name"
        if lowered == "names" and ancestors and ancestors[-1] == "statistics":
            return "name"
        return None

    def _named(self, kind, value, lowered_key):
        if kind == "name" and lowered_key in PATH_NAME_KEYS:
            return "/".join(self.learn("name", part) if part else part for part in value.split("/"))
        return self.learn(kind, value)

    def learn_from(self, value, key=None, parent=None, ancestors=()):
        """First pass over an answer: learn the hosts, users and names that its fields carry."""
        if isinstance(value, dict):
            for child_key, child in value.items():
                self.learn_from(child, str(child_key), value, ancestors + ((key or "").lower(),))
        elif isinstance(value, list):
            for item in value:
                self.learn_from(item, key, parent, ancestors)
        elif isinstance(value, str) and key is not None and value:
            kind = self._kind_of(key, parent, ancestors)
            if kind:
                self._named(kind, value, key.lower())

    def _kind_of(self, key, parent, ancestors):
        lowered = key.lower()
        if not self.keep_names and lowered in PATH_NAME_KEYS:
            return "name"
        return self.field_kind(key, parent, [a for a in ancestors if a])

    # -- second pass: rewrite --------------------------------------------------------------------------------------
    def redact(self, value, key=None, parent=None, ancestors=()):
        if isinstance(value, dict):
            below = ancestors + ((key or "").lower(),)
            return {self.redact_key(str(child_key)): self.redact(child, str(child_key), value, below)
                    for child_key, child in value.items()}
        if isinstance(value, list):
            return [self.redact(item, key, parent, ancestors) for item in value]
        if not isinstance(value, str) or not value:
            return value
        if key is not None:
            kind = self._kind_of(key, parent, ancestors)
            if kind:
                return self._named(kind, value, key.lower())
            if key.lower() in ENUM_KEYS:
                return value
        return self.redact_text(value)

    def redact_key(self, key):
        if key.lower() in self.literals:
            return self.literals[key.lower()]
        return self.redact_text(key)

    def redact_text(self, text):
        """Hrefs keep their shape; other text has hosts, addresses, users, ids and known names replaced."""
        if re.fullmatch(r"https?://\S+", text) or (text.startswith("/") and " " not in text and len(text) > 1):
            return self.redact_href(text)
        return self._redact_free(text)

    def redact_href(self, href):
        parts = urlsplit(href)
        netloc = self._redact_netloc(parts.netloc) if parts.netloc else ""
        path = "/".join(self._redact_free(segment) for segment in parts.path.split("/"))
        query = "&".join("%s=%s" % (quote(name, safe=HREF_SAFE), quote(self._redact_free(value), safe=HREF_SAFE))
                         for name, value in parse_qsl(parts.query, keep_blank_values=True))
        return urlunsplit((parts.scheme, netloc, path, query, self._redact_free(parts.fragment)))

    def _redact_netloc(self, netloc):
        userinfo, hostport = netloc.rpartition("@")[::2]
        if hostport.startswith("["):
            host, port = hostport[1:].partition("]")[::2]
            port = port[1:]
        else:
            host, port = hostport.partition(":")[::2]
        redacted = self._host(host)
        if userinfo:
            redacted = self.learn("user", userinfo.split(":", 1)[0]) + "@" + redacted
        return redacted + (":" + port if port else "")

    def _host(self, host):
        lowered = host.lower()
        if ("host", lowered) in self.placeholders:
            return self.placeholders[("host", lowered)]
        if IPV4.fullmatch(host) or ":" in host:
            return self.placeholder("ip", lowered)
        return self.learn("host", host)

    def _replace_literals(self, text):
        if not self.literals:
            return text
        if self._literal_pattern is None:
            ordered = sorted(self.literals, key=len, reverse=True)
            self._literal_pattern = re.compile(
                r"(?<![A-Za-z0-9])(?:%s)(?![A-Za-z0-9])" % "|".join(re.escape(item) for item in ordered), re.IGNORECASE)
        return self._literal_pattern.sub(lambda match: self.literals[match.group(0).lower()], text)

    def _redact_free(self, text):
        steps = (
            lambda part: URL_HOST.sub(lambda m: m.group("scheme") + self._redact_netloc(
                (m.group("userinfo") or "") + m.group("host")), part),
            self._replace_literals,
            lambda part: EMAIL.sub(lambda m: self.learn("user", m.group(0)), part),
            lambda part: UUID.sub(lambda m: self.placeholder("uuid", m.group(0).lower()), part),
            lambda part: MAC.sub(lambda m: self.placeholder("mac", m.group(0).lower()), part),
            lambda part: HEX.sub(self._hex, part),
            lambda part: TOKEN.sub(self._token, part),
            lambda part: IPV4.sub(lambda m: self.placeholder("ip", m.group(0)), part),
            lambda part: IPV6.sub(self._ipv6, part),
            lambda part: FQDN.sub(self._fqdn, part),
        )
        for step in steps:
            text = _outside_placeholders(text, step)
        return text

    def _hex(self, match):
        value = match.group(0)
        if len(value) >= 20 or re.search(r"[a-fA-F]", value):
            return self.placeholder("hex", value.lower())
        return value

    def _token(self, match):
        value = match.group(0)
        if re.search(r"\d", value) and re.search(r"[a-z]", value) and re.search(r"[A-Z]", value):
            return self.placeholder("secret", value)
        return value

    def _ipv6(self, match):
        value = match.group(0)
        if "::" in value or value.count(":") >= 5:
            return self.placeholder("ip", value.lower())
        return value

    def _fqdn(self, match):
        value = match.group(0)
        lowered = value.lower()
        tld = match.group("tld").lower()
        if tld in TLDS or (len(tld) == 2 and tld.isalpha()) or any(lowered.endswith("." + d) for d in self.domains):
            return self.learn("host", value)
        return value


# ---------------------------------------------------------------------------------------------------------------
# HTTP: GET only, plus login, logout and (opt-in) the search


class ReadOnlyError(RuntimeError):
    pass


def _truthy(text, default=True):
    if text is None or text.strip() == "":
        return default
    return text.strip().lower() not in ("0", "false", "no", "off", "n")


def normalise_base_url(url):
    text = (url or "").strip()
    if "://" not in text:
        text = "https://" + text
    parts = urlsplit(text)
    return urlunsplit((parts.scheme, parts.netloc, parts.path.rstrip("/"), "", ""))


class Http:
    """The only way this tool talks to SPP; it refuses any request that could change something."""

    def __init__(self, url, username, password, verify=True, timeout=60):
        self.base_url = normalise_base_url(url)
        self.username = username
        self.password = password
        self.verify = verify
        self.timeout = timeout
        self.session_id = None
        self.http = requests.Session()
        self.http.headers.update({"Accept": "application/json", "Content-Type": "application/json"})

    def url_for(self, path_or_href):
        """Absolute URL; an href naming another host is rebased onto SPP_URL (a proxy may advertise its inner name)."""
        if "://" not in path_or_href:
            return self.base_url + ("" if path_or_href.startswith("/") else "/") + path_or_href
        href, base = urlsplit(path_or_href), urlsplit(self.base_url)
        if (href.scheme, href.netloc) == (base.scheme, base.netloc):
            return path_or_href
        return urlunsplit((base.scheme, base.netloc, href.path, href.query, ""))

    def send(self, method, path_or_href, params=None, body=None, allow_search=False):
        url = self.url_for(path_or_href)
        path = urlsplit(url).path
        allowed = (method == "GET"
                   or (method == "POST" and path.endswith(LOGIN_PATH) and self.session_id is None)
                   or (method == "POST" and allow_search and path.endswith(SEARCH_PATH))
                   or (method == "DELETE" and path.endswith(LOGIN_PATH)))
        if not allowed:
            raise ReadOnlyError("spp_capture only reads; refusing %s %s" % (method, path))
        headers = {SESSION_HEADER: self.session_id} if self.session_id else {}
        auth = (self.username, self.password) if method == "POST" and path.endswith(LOGIN_PATH) else None
        return self.http.request(method, url, params=params, json=body, headers=headers, auth=auth,
                                 verify=self.verify, timeout=self.timeout)


# ---------------------------------------------------------------------------------------------------------------
# The capture


def nested_get(data, *keys):
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def link(obj, name):
    return nested_get(obj, "links", name, "href")


def _items(answer, key):
    items = answer.get(key) if isinstance(answer, dict) else None
    return [item for item in items if isinstance(item, dict)] if isinstance(items, list) else []


def _filter(*criteria):
    return json.dumps([{"property": prop, "value": value, "op": op} for prop, value, op in criteria],
                      separators=(",", ":"))


def _sort(prop, direction):
    return json.dumps([{"property": prop, "direction": direction}], separators=(",", ":"))


def is_held(job):
    for path in HELD_FIELDS:
        value = nested_get(job, *path)
        if value is not None:
            return str(value).upper() == "HELD"
    return False


def action_links(session):
    links = session.get("links") if isinstance(session, dict) else None
    return sorted(name for name in links if name not in NOT_ACTIONS) if isinstance(links, dict) else []


class Capture:
    """Makes the calls of ``PLAN`` in order; keeps raw answers in memory until ``write`` redacts them."""

    def __init__(self, http, page_size=10, with_search=False, out=print):
        self.http = http
        self.page_size = page_size
        self.with_search = with_search
        self.out = out
        self.records = []
        self.absent = []
        self.problems = []
        self.unrecorded_reads = 0
        self.now_ms = int(time.time() * 1000)

    # -- recording -------------------------------------------------------------------------------------------------
    def call(self, name, method, path_or_href, params=None, body=None):
        """Make one call of the plan and record it; the parsed answer when it is a 2xx JSON answer, else None."""
        assert name in PLAN_NAMES and all(r["call"] != name for r in self.records), name
        record = {"call": name, "method": method, "url": self.http.url_for(path_or_href), "status": None,
                  "answer": None}
        self.records.append(record)
        try:
            response = self.http.send(method, path_or_href, params=params, body=body,
                                      allow_search=name.startswith("search_"))
        except requests.RequestException as error:
            record["error"] = "%s: %s" % (type(error).__name__, error)
            self.out("  ---  %-22s %s" % (name, type(error).__name__))
            return None
        record["url"] = response.request.url if response.request is not None else record["url"]
        record["status"] = response.status_code
        try:
            record["answer"] = response.json() if response.content else None
        except ValueError:
            record["answer"] = response.text[:2000]
        self.out("  %3s  %s" % (response.status_code, name))
        ok = 200 <= response.status_code < 300
        return record["answer"] if ok and isinstance(record["answer"], dict) else None

    def skip(self, name, reason):
        assert name in PLAN_NAMES, name
        self.absent.append({"call": name, "reason": reason})
        self.out("  ---  %-22s %s" % (name, reason))

    def read(self, path_or_href, params=None):
        """A GET that is not recorded (further pages of a listing, searched for one object)."""
        self.unrecorded_reads += 1
        try:
            response = self.http.send("GET", path_or_href, params=params)
        except requests.RequestException:
            return None
        if not 200 <= response.status_code < 300:
            return None
        try:
            return response.json()
        except ValueError:
            return None

    def page(self, extra=None):
        params = {"pageSize": self.page_size, "pageStartIndex": 0}
        params.update(extra or {})
        return params

    def follow(self, name, obj, rel, what, params=None):
        href = link(obj, rel) if obj else None
        if not href:
            self.skip(name, "no %s with a links.%s" % (what, rel))
            return None
        return self.call(name, "GET", href, params=params)

    # -- the run -----------------------------------------------------------------------------------------------------
    def run(self):
        """All the calls; False when the login failed (nothing else was tried)."""
        login = self.call("login", "POST", LOGIN_PATH)
        self.http.session_id = login.get("sessionid") if login else None
        if not self.http.session_id:
            return False
        found = {}
        steps = (
            ("server", lambda: self.call("ping", "GET", "/api/lifecycle/ping")),
            ("inventory", lambda: found.update(vm=self.inventory())),
            ("versions", lambda: found.update(version=self.versions(found.get("vm")))),
            ("sites", lambda: self.sites(found.get("version"))),
            ("policies", lambda: self.policies(found.get("vm"))),
            ("jobs", lambda: found.update(job=self.jobs(found.get("vm")))),
            ("sessions", lambda: self.sessions(found.get("job"))),
        )
        try:
            for name, step in steps:
                try:
                    step()
                except Exception as error:  # pylint: disable=broad-exception-caught
                    # An answer of a shape this tool did not expect: noted, and the other steps still run.
                    self.problems.append("step %s: %s: %s" % (name, type(error).__name__, error))
                    self.out("  ---  step %s stopped early: %s" % (name, type(error).__name__))
        finally:
            self.call("logout", "DELETE", LOGIN_PATH)
            self.http.session_id = None
        return True

    def inventory(self):
        hypervisors = _items(self.call("hypervisors", "GET", "/api/hypervisor", params=self.page()), "hypervisors")
        vmware = [hv for hv in hypervisors if str(hv.get("type") or "vmware").lower() == "vmware" and hv.get("id")]
        if not vmware:
            for name in ("vms_hlo", "vms_recovery", "hosts", "clusters", "volumes", "networks"):
                self.skip(name, "no vmware hypervisor is registered")
            hlo, recovery = [], []
        else:
            base = "/api/hypervisor/%s" % vmware[0]["id"]
            hlo = _items(self.call("vms_hlo", "GET", base + "/vm", params=self.page({"from": "hlo"})), "vms")
            recovery = _items(self.call("vms_recovery", "GET", base + "/vm", params=self.page({"from": "recovery"})),
                              "vms")
            for name in ("hosts", "clusters", "volumes", "networks"):
                self.call(name, "GET", "%s/%s" % (base, name[:-1]), params=self.page({"from": "hlo"}))
        live_ids = {vm.get("id") for vm in hlo}
        vm = next((vm for vm in recovery if vm.get("id") in live_ids), None) or next(iter(recovery + hlo), None)
        if self.with_search:
            if vm and vm.get("name"):
                self.call("search_vm", "POST", SEARCH_PATH, params={"resourceType": "vm", "from": "hlo"},
                          body={"name": vm["name"], "hypervisorType": "vmware"})
            else:
                self.skip("search_vm", "no VM to search for")
            self.call("search_vdisk", "POST", SEARCH_PATH, params=self.page({"resourceType": "vdisk", "from": "hlo"}),
                      body={"name": "*", "hypervisorType": "vmware"})
        else:
            self.skip("search_vm", "searches are POSTs: run with --with-search to record them")
            self.skip("search_vdisk", "searches are POSTs: run with --with-search to record them")
        if vm is None:
            self.skip("vm", "no VM is listed")
            return None
        return (self.call("vm", "GET", link(vm, "self")) if link(vm, "self") else None) or vm

    def versions(self, vm):
        self.follow("vm_vdisks", vm, "vdisks", "VM")
        self.follow("vm_options", vm, "options", "VM")
        latest = self.follow("vm_latestversion", vm, "latestversion", "VM")
        versions = _items(self.follow("vm_versions", vm, "versions", "VM", params=self.page({"embedCopies": "true"})),
                          "versions")
        version = latest if latest and latest.get("id") else next(iter(versions), None)
        if version is not None and not version.get("copies"):
            embedded = next((v for v in versions if v.get("id") == version.get("id")), None)
            version = embedded or version
        for name, rel in (("version_copies", "copies"), ("version_volumes", "volumes"), ("version_vnics", "vnics")):
            self.follow(name, version, rel, "recovery point")
        return version

    def sites(self, version):
        self.call("sites", "GET", "/api/site")
        copies = [copy for copy in (version or {}).get("copies") or [] if isinstance(copy, dict)]
        site_id = next((copy.get("siteId") for copy in copies if copy.get("siteId")), None)
        if site_id is None:
            site_id = (version or {}).get("siteId")
        if site_id is None:
            self.skip("site", "no copy names its siteId")
        else:
            self.call("site", "GET", "/api/site/%s" % site_id)

    def policies(self, vm):
        slas = _items(self.call("slapolicies", "GET", "/ngp/slapolicy", params=self.page()), "slapolicies")
        wanted = set((vm or {}).get("storageProfiles") or [])
        sla = next((s for s in slas if s.get("name") in wanted), None) or next(iter(slas), None)
        if sla is None or not sla.get("id"):
            self.skip("slapolicy", "no SLA policy is listed")
        else:
            self.call("slapolicy", "GET", "/ngp/slapolicy/%s" % sla["id"])

    def all_jobs(self, first_page):
        jobs = _items(first_page, "jobs")
        more = len(jobs) >= self.page_size and (link(first_page, "nextPage") or
                                                int((first_page or {}).get("total") or 0) > len(jobs))
        start = len(jobs)
        for _page in range(UNRECORDED_JOB_PAGES if more else 0):
            page = _items(self.read(JOB_PATH, {"pageSize": 1000, "pageStartIndex": start}), "jobs")
            jobs.extend(page)
            start += len(page)
            if len(page) < 1000:
                break
        return jobs

    def jobs(self, vm):
        jobs = self.all_jobs(self.call("jobs", "GET", JOB_PATH, params=self.page()))
        backups = [job for job in jobs if str(job.get("name") or "").startswith("vmware_")
                   or str(job.get("type") or "").lower() == "protection"]
        wanted = {"vmware_%s" % name for name in (vm or {}).get("storageProfiles") or []}
        job = (next((j for j in backups if j.get("name") in wanted and not is_held(j)), None)
               or next((j for j in backups if j.get("lastrun") and not is_held(j)), None)
               or next((j for j in backups if not is_held(j)), None) or next(iter(backups + jobs), None))
        if job is None:
            self.skip("job", "no job is listed")
        else:
            job = self.call("job", "GET", link(job, "self") or "%s/%s" % (JOB_PATH, job.get("id"))) or job
        schema = nested_get(job, "links", "start", "schema") if job else None
        if schema:
            self.call("job_start_schema", "GET", schema)
        else:
            self.skip("job_start_schema", "the job has no links.start.schema")
        self.follow("job_livejobsessions", job, "livejobsessions", "job")
        held = next((j for j in jobs if is_held(j)), None)
        if held is None:
            self.skip("job_held", "no job is held")
        else:
            self.call("job_held", "GET", link(held, "self") or "%s/%s" % (JOB_PATH, held.get("id")))
        return job

    def sessions(self, job):
        listing = _items(self.call("jobsessions", "GET", SESSION_PATH, params=self.page({"sort": _sort("start", "DESC")})),
                         "sessions")
        self.call("jobsessions_backup", "GET", SESSION_PATH, params=self.page({
            "filter": _filter(("start", self.now_ms - 7 * DAY_MS, ">="), ("type", "protection", "="))}))
        restores = _items(self.call("jobsessions_restore", "GET", SESSION_PATH, params=self.page({
            "filter": _filter(("serviceId", RESTORE_SERVICE_IDS, "IN"), ("start", self.now_ms - 30 * DAY_MS, ">=")),
            "sort": _sort("start", "ASC")})), "sessions")
        pending = _items(self.call("jobsessions_pending", "GET", SESSION_PATH, params=self.page({
            "filter": _filter(("status", "PENDING", "=")), "sort": _sort("start", "DESC")})), "sessions")

        session_id = nested_get(job, "lastrun", "sessionId")
        if not session_id:
            session_id = next((s.get("id") for s in listing if str(s.get("type") or "").lower() == "protection"
                               or "protection" in str(s.get("serviceId") or "")), None)
        if session_id:
            self.call("jobsession", "GET", "%s/%s" % (SESSION_PATH, session_id))
            self.logs("jobsession_logs", session_id)
        else:
            self.skip("jobsession", "no backup session is listed")
            self.skip("jobsession_logs", "no backup session is listed")

        active = next((s for s in pending + restores + listing
                       if str(s.get("status") or "").upper() in ("PENDING", "RESOURCE ACTIVE") and action_links(s)),
                      None)
        if active is None or not active.get("id"):
            self.skip("test_restore_session", "no active test restore (a PENDING session with action links)")
            self.skip("test_restore_logs", "no active test restore")
        else:
            self.call("test_restore_session", "GET", "%s/%s" % (SESSION_PATH, active["id"]))
            self.logs("test_restore_logs", active["id"])

    def logs(self, name, session_id):
        self.call(name, "GET", LOG_PATH, params=self.page({
            "filter": _filter(("jobsessionId", str(session_id), "=")),
            "sort": _sort("logTime", "ASC")}))

    # -- output --------------------------------------------------------------------------------------------------
    def write(self, directory, redactor, options=None):
        """Redact every record (all are learned from first, so that names seen late are replaced early too)."""
        for record in self.records:
            redactor.learn_from(record["answer"])
        os.makedirs(directory, exist_ok=True)
        index = {
            "format": FORMAT,
            "tool": "tests/capture/spp_capture.py",
            "captured": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "server": {},
            "options": dict(options or {}, page_size=self.page_size, with_search=self.with_search),
            "calls": [],
            "absent": list(self.absent),
            "unrecorded_reads": self.unrecorded_reads,
            "problems": [redactor.redact_text(problem) for problem in self.problems],
        }
        for record in self.records:
            parts = urlsplit(record["url"])
            fixture = {
                "call": record["call"],
                "method": record["method"],
                "path": redactor.redact_href(urlunsplit(("", "", parts.path, parts.query, ""))),
                "status": record["status"],
                "answer": redactor.redact(record["answer"]),
            }
            if record.get("error"):
                fixture["error"] = redactor.redact_text(record["error"])
            if record["call"] == "ping" and isinstance(fixture["answer"], dict):
                index["server"] = {key: fixture["answer"].get(key) for key in ("version", "build")}
            name = record["call"] + ".json"
            with open(os.path.join(directory, name), "w", encoding="utf-8") as handle:
                json.dump(fixture, handle, indent=2, sort_keys=True)
                handle.write("\n")
            index["calls"].append({key: fixture[key] for key in ("call", "method", "path", "status")})
            index["calls"][-1]["file"] = name
        index["redacted"] = dict(sorted(redactor.counts.items()))
        with open(os.path.join(directory, "index.json"), "w", encoding="utf-8") as handle:
            json.dump(index, handle, indent=2, sort_keys=True)
            handle.write("\n")
        return index


# ---------------------------------------------------------------------------------------------------------------
# Command line


def default_out(root=DEFAULT_ROOT, now=None):
    """``fixtures/<date>``, or ``fixtures/<date>-<time>`` when that already holds a capture."""
    now = now or datetime.datetime.now()
    directory = os.path.join(root, now.strftime("%Y-%m-%d"))
    if os.path.exists(os.path.join(directory, "index.json")):
        directory += now.strftime("-%H%M%S")
    return directory


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0],
                                     epilog="Reads SPP_URL, SPP_USERNAME, SPP_PASSWORD, SPP_VALIDATE_CERTS, SPP_CA_PATH.")
    parser.add_argument("--out", help="output directory (default: tests/capture/fixtures/<date>)")
    parser.add_argument("--dry-run", action="store_true", help="list the calls without making them")
    parser.add_argument("--page-size", type=int, default=10, help="items per recorded listing page (default 10)")
    parser.add_argument("--with-search", action="store_true",
                        help="also record the VM and vdisk searches (POST requests that only read)")
    parser.add_argument("--keep-names", action="store_true",
                        help="keep the names of VMs, clusters, datastores, networks and folders (host names, users and "
                             "secrets are redacted all the same)")
    parser.add_argument("--timeout", type=float, default=60, help="seconds per request (default 60)")
    args = parser.parse_args(argv)
    if args.page_size < 1:
        parser.error("--page-size must be at least 1")
    return args


def dry_run(args, out=print):
    searches = "with the searches" if args.with_search else "searches left out; --with-search adds them"
    out("spp_capture would make these calls (%s):" % searches)
    for name, method, path, what in PLAN:
        if name.startswith("search_") and not args.with_search:
            continue
        out("  %-22s %-6s %s\n  %-22s        %s" % (name, method, path.replace("{N}", str(args.page_size)), "", what))
    out("Nothing is sent. Output would go to %s" % (args.out or default_out()))
    return 0


def main(argv=None, environ=None):
    args = parse_args(argv)
    env = os.environ if environ is None else environ
    if args.dry_run:
        return dry_run(args)
    if requests is None:
        print("spp_capture needs the Python library 'requests' (pip install requests)", file=sys.stderr)
        return 2
    url, username = env.get("SPP_URL", "").strip(), env.get("SPP_USERNAME", "").strip()
    if not url or not username:
        print("set SPP_URL and SPP_USERNAME (and SPP_PASSWORD, or type it when asked)", file=sys.stderr)
        return 2
    password = env.get("SPP_PASSWORD") or getpass.getpass("SPP password for %s: " % username)
    verify = _truthy(env.get("SPP_VALIDATE_CERTS"), default=True)
    if verify and env.get("SPP_CA_PATH"):
        verify = env["SPP_CA_PATH"]
    if verify is False:
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        print("note: SPP_VALIDATE_CERTS is false; the server certificate is not checked", file=sys.stderr)
    http = Http(url, username, password, verify=verify, timeout=args.timeout)
    capture = Capture(http, page_size=args.page_size, with_search=args.with_search)
    print("capturing (read-only); the status of each call follows")
    logged_in = capture.run()
    directory = args.out or default_out()
    redactor = Redactor(http.base_url, username, secrets=(password,), keep_names=args.keep_names)
    index = capture.write(directory, redactor, options={"keep_names": args.keep_names})
    failed = [call for call in index["calls"] if not (call["status"] and 200 <= call["status"] < 300)]
    print("wrote %d fixtures and index.json to %s" % (len(index["calls"]), directory))
    if failed:
        print("answers other than 2xx (recorded too): %s" % ", ".join("%s %s" % (c["call"], c["status"]) for c in failed))
    for problem in index["problems"]:
        print("not captured, %s" % problem)
    print("Check the files before you share them: tests/capture/README.md says how.")
    if not logged_in:
        print("the login failed; nothing else was tried", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
