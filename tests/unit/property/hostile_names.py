# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Hostile names for the property tests (issue 14): Hypothesis strategies for VM, policy, folder, disk and tag names,
and a whole estate (vCenter's and the backup server's listings) built from them.

A name mixes the pieces real estates hold or attackers try (quotes, brackets, ``{{ }}``, ``{% %}``, ``<script>``,
``=cmd|``, CJK, combining marks, bidi and zero-width characters, line breaks) with arbitrary Unicode text, sometimes
with leading or trailing spaces, sometimes 255 characters long. Lone surrogates are left out: no server can send one
(XML and JSON in UTF-8 cannot carry it).

The integration test of hostile names (tests/integration/test_hostile_names.py) takes the strategies from here too.
"""

from __future__ import annotations

import functools

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

# Deterministic (the same examples on every run and machine, no example database written) and bounded, so that the
# file runs in seconds; ``max_examples`` is set per test.
HOSTILE_SETTINGS = dict(derandomize=True, database=None, deadline=None, print_blob=False,
                        phases=(Phase.explicit, Phase.generate, Phase.shrink),
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                               HealthCheck.filter_too_much])


def hostile_settings(max_examples):
    return settings(max_examples=max_examples, **HOSTILE_SETTINGS)


MAX_NAME = 255  # SPP and the report take any length; vSphere keeps VM names to 80 characters
FRAGMENTS = (
    '"', "'", "`", "\\", "<", ">", "&", "&amp;", "&lt;", "&#x3c;", "{{", "}}", "{{ 7*7 }}", "{%", "%}", "{% raw %}",
    "{#", "#}", "#jinja2:", "{{ lookup('pipe', 'id') }}", "[", "]", "[0]", "(", ")", "{", "}", "<script>",
    "</script>", "<script>alert(1)</script>", "<!--", "-->", "<b>x</b>", "<img src=x onerror=alert(1)>",
    "=cmd|' /C calc'!A0", "'=1+1", "'@x", "''", "=", "+", "-", "@", "|", ";", ",", ":", "*", "?", "%", "%s", "$", "${x}", "\t", "\r\n",
    "\n", "\r", "\x00", "\x1b[31m", "\u2028", "\u2029", "\u200b", "\u200d", "\ufeff", "\u202e", "\u00a0",
    "日本-db", "数据库", "한국어", "Ωμέγα", "ü", "u\u0308", "e\u0301", "\u0301", "\u0308\u0308", "🚀", "👩\u200d💻",
    "Ａ", "＝", "localhost", "all", "ungrouped", "unprotected", "compliant", "stale", "policy_", "web \"prod\"", "Cluster1", " ", "  ", "_", ".", "/", "%2f",
)


@functools.lru_cache(maxsize=None)
def names(max_size=MAX_NAME, forbidden=""):
    """Any hostile name of 1 to ``max_size`` characters without the characters of ``forbidden``: a few pieces, each a
    fragment above or arbitrary text, sometimes padded with spaces, sometimes repeated up to ``max_size``, sometimes
    one fragment alone."""
    fragments = st.sampled_from([f for f in FRAGMENTS if not set(f) & set(forbidden)])
    free = st.text(st.characters(exclude_categories=("Cs",), exclude_characters=forbidden), min_size=1, max_size=12)
    pieces = st.lists(st.one_of(fragments, fragments, free), min_size=1, max_size=4).map("".join)
    padded = st.tuples(st.sampled_from(("", "", " ", "  ", "\t")), pieces, st.sampled_from(("", "", " ", "  "))) \
        .map("".join)
    longest = pieces.map(lambda text: (text * (max_size // len(text) + 1))[:max_size])
    return st.one_of(padded, padded, padded, longest, fragments).map(lambda text: text[:max_size])


# A path part (folder, datacenter): vCenter writes a "/" in an inventory name as %2f, so paths never hold one.
path_parts = names(forbidden="/")

VC_UUID = "vc-instance-uuid"
HYPERVISOR = "hv-1"


def _subset(draw, items):
    return sorted(draw(st.sets(st.sampled_from(items)))) if items else []


@st.composite
def estates(draw, max_vms=5):
    """Listings as the clients read them, every name hostile: ``{vcenter_vms, hypervisors, spp_vms, spp_disks,
    policies (SLA definitions), held (name -> bool), sites, tagged (tag -> morefs), last_backups}``.

    VM names may repeat (vCenter allows it in two folders); policy, disk and tag names are distinct where the servers
    make them so. Some VMs are unknown to the backup server, some policies are held, one VM may carry a policy that
    no longer exists, and the backup server may know a VM that vCenter no longer has.
    """
    policy_names = draw(st.lists(names(), min_size=1, max_size=4, unique=True))
    held = {name: draw(st.booleans()) for name in policy_names}
    gone = draw(names().filter(lambda n: n not in held))  # a deleted policy, still assigned somewhere
    datacenter, cluster, host = draw(path_parts), draw(path_parts), draw(path_parts)
    folders = ["/%s/vm" % datacenter] + ["/%s/vm/%s" % (datacenter, part)
                                         for part in draw(st.lists(path_parts, min_size=1, max_size=3, unique=True))]
    site_names = draw(st.lists(names(), min_size=1, max_size=2, unique=True))
    vm_names = draw(st.lists(names(), min_size=1, max_size=max_vms))
    if not draw(st.integers(0, 9)):  # a VM named like the group of a policy
        vm_names[0] = "policy_" + draw(st.sampled_from(policy_names))
    if len(vm_names) > 1 and not draw(st.integers(0, 5)):  # a VM named like another VM's moref or instance UUID
        vm_names[-1] = draw(st.sampled_from(("vm-1", "uuid-1")))
    tags = draw(st.lists(names(), min_size=0, max_size=3, unique=True))
    vcenter_vms, spp_vms, spp_disks, last_backups = [], [], [], {}
    tagged = {tag: set() for tag in tags}
    for number, name in enumerate(vm_names, 1):
        moref, spp_id = "vm-%d" % number, "spp-%d" % number
        labels = draw(st.lists(names(max_size=80), min_size=0, max_size=2, unique=True))
        vcenter_vms.append({
            "name": name, "moref": moref, "instance_uuid": "uuid-%d" % number, "template": False,
            "power_state": draw(st.sampled_from(("poweredOn", "poweredOff", "suspended"))),
            "has_snapshots": draw(st.booleans()), "folder": draw(st.sampled_from(folders)),
            "datacenter": datacenter, "cluster": draw(st.sampled_from((cluster, None))), "host": host,
            "disks": [{"label": label, "key": 2000 + index, "size_bytes": 1 << 30,
                       "mode": draw(st.sampled_from(("persistent", "persistent", "independent_persistent")))}
                      for index, label in enumerate(labels)],
            "nics": [],
        })
        for tag in tags:
            if draw(st.booleans()):
                tagged[tag].add(moref)
        if not draw(st.integers(0, 4)):
            continue  # vCenter only: the backup server has not inventoried it
        vm_policies = _subset(draw, policy_names) + ([gone] if not draw(st.integers(0, 5)) else [])
        spp_vms.append({"id": spp_id, "name": name, "hypervisorKey": HYPERVISOR,
                        "nativeObject": {"mor": {"val": moref}}, "config": {"instanceUuid": "uuid-%d" % number},
                        "storageProfiles": vm_policies, "siteId": draw(st.sampled_from(("1", "2", None)))})
        for index, label in enumerate(labels):
            spp_disks.append({"id": "%s-d%d" % (spp_id, index), "name": label, "vmId": spp_id,
                              "storageProfiles": _subset(draw, policy_names)})
        if draw(st.booleans()):
            last_backups[spp_id] = {"time": draw(st.integers(1_700_000_000_000, 1_800_000_000_000)),
                                    "policy": draw(st.sampled_from(policy_names)), "source": "vm_listing"}
    for number in range(draw(st.integers(0, 2))):  # known to the backup server only (deleted from vCenter)
        spp_vms.append({"id": "gone-%d" % number, "name": draw(names()), "hypervisorKey": HYPERVISOR,
                        "nativeObject": {"mor": {"val": "vm-gone-%d" % number}}, "config": {},
                        "storageProfiles": _subset(draw, policy_names)})
    return {
        "vcenter_vms": vcenter_vms, "hypervisors": [{"id": HYPERVISOR, "uniqueId": VC_UUID}], "spp_vms": spp_vms,
        "spp_disks": spp_disks, "held": held, "gone_policy": gone,
        "policies": [{"name": name, "id": "sla-%d" % index, "spec": {"subpolicy": [
            {"type": "REPLICATION", "software": True, "site": site_names[index % len(site_names)]}]}}
            for index, name in enumerate(policy_names)],
        "sites": [{"id": str(index), "name": name} for index, name in enumerate(site_names, 1)],
        "tagged": tagged, "last_backups": last_backups, "folders": folders,
    }
