# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""``listing``: 10,000 VMs listed through both clients, against reading VMs attribute by attribute (issue 2).

The peer is what most vSphere tooling does (and what testbed.md measured): get the VM references from a ContainerView,
then read each VM's name, instance UUID, power state and snapshots through pyVmomi's lazy attributes, one server round
trip per attribute per VM. It is timed on an even sample of the VMs and extrapolated linearly to all of them.
"""

from __future__ import annotations

from pyVmomi import vim

# benchlib first: it puts the collection on sys.path
from benchlib import Stopwatch, progress, ratio, report, running_lab, spp_client, vsphere_client
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.vsphere import listing as vsphere_listing

VM_COUNT = 10_000
MODEL = {"hosts": 20, "vms": 500, "clusters": 0}  # vcsim: 20 standalone hosts with 500 VMs each
PAGE_SIZE = 1000
PER_VM_SAMPLE = 200


def _check_count(what, vms):
    if len(vms) != VM_COUNT:
        progress("WARNING: %s returned %d VMs, not %d" % (what, len(vms), VM_COUNT))


def bench_spp(env):
    with spp_client(env) as client:
        client.login()  # the session is set up once per run; time the listing only
        before = client.request_count
        with Stopwatch() as watch:
            vms = spp_listing.list_vms(client, page_size=PAGE_SIZE)
        requests_made = client.request_count - before
    _check_count("SPP list_vms", vms)
    report("spp_list_vms_%d" % VM_COUNT, watch.seconds, "s")
    report("spp_list_vms_%d_requests" % VM_COUNT, requests_made, "requests")


def bench_vsphere_bulk(env):
    """Seconds of the PropertyCollector listing, with and without the device lists."""
    seconds = {}
    with vsphere_client(env) as client:
        for devices in (True, False):
            with Stopwatch() as watch:
                vms = vsphere_listing.list_vms(client, page_size=PAGE_SIZE, devices=devices)
            _check_count("vSphere list_vms(devices=%s)" % devices, vms)
            seconds[devices] = watch.seconds
    report("vsphere_list_vms_%d" % VM_COUNT, seconds[True], "s")
    report("vsphere_list_vms_%d_no_devices" % VM_COUNT, seconds[False], "s")
    return seconds


def _vm_references(content):
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.Destroy()


def _read_lazily(vm):
    """The fields the bulk listing returns for every VM, read the lazy way: one round trip per attribute.

    ``rootSnapshot`` stands for ``snapshot``: the simulator drops the connection on a lazy read of an unset
    ``snapshot``; both say whether snapshots exist. ``config.instanceUuid`` fetches the whole ``config``, as it does
    against a real vCenter.
    """
    return vm.name, vm.config.instanceUuid, vm.runtime.powerState, bool(vm.rootSnapshot)


def bench_vsphere_per_vm(env, sample=PER_VM_SAMPLE):
    """The peer: one ContainerView read for the references, then the fields VM by VM (extrapolated)."""
    with vsphere_client(env) as client:
        with Stopwatch() as references:
            vms = _vm_references(client.content)
        chosen = vms[::max(1, len(vms) // sample)][:sample]
        with Stopwatch() as reads:
            observed = [_read_lazily(vm) for vm in chosen]
    progress("per-VM reads: %d VMs in %.2f s, references of all %d in %.2f s"
             % (len(observed), reads.seconds, len(vms), references.seconds))
    extrapolated = references.seconds + reads.seconds * VM_COUNT / len(chosen)
    report("vsphere_per_vm_reads_%d_extrapolated" % VM_COUNT, extrapolated, "s")
    return extrapolated


def run():
    with running_lab("listing", **MODEL) as lab:
        progress("listing: SPP VMs in pages of %d" % PAGE_SIZE)
        bench_spp(lab.env)
        progress("listing: vCenter VMs through the PropertyCollector, with and without devices")
        bulk = bench_vsphere_bulk(lab.env)
        progress("listing: vCenter VMs attribute by attribute (sample of %d)" % PER_VM_SAMPLE)
        per_vm = bench_vsphere_per_vm(lab.env)
    # Like for like: the bulk listing without devices reads the same kind of per-VM fields as the peer (and more).
    report("vsphere_bulk_vs_per_vm_ratio", ratio(per_vm, bulk[False]))
    report("vsphere_bulk_with_devices_vs_per_vm_ratio", ratio(per_vm, bulk[True]))
