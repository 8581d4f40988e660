# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Restore destinations whose names are not unique (issue 14): host, cluster, datastore and network names are unique
per datacenter only. A name that several items carry is an error listing each with its datacenter and href;
``<datacenter>/<name>`` or the href selects one. First ``_pick`` alone, then ``resolve_destination`` against the
scripted server, which must only read."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import restore as spp_restore

from restore_fixtures import T0, version
from spp_fake_server import Reply

HV = "/api/hypervisor/1001"


def item(name, href, datacenter=None, **extra):
    found = {"name": name, "links": {"self": {"href": href}}, **extra}
    if datacenter is not None:
        found["datacenter"] = {"name": datacenter}
    return found


CLUSTERS = [item("Cluster1", "https://spp/c/1", "DC1"), item("Cluster1", "https://spp/c/2", "DC2"),
            item("Cluster2", "https://spp/c/3", "DC1")]


def datacenter(found):
    return (found.get("datacenter") or {}).get("name")


# -- _pick ----------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("value, href", [
    ("Cluster2", "https://spp/c/3"),        # a unique name
    ("https://spp/c/2", "https://spp/c/2"),  # an href, exactly
    ("DC2/Cluster1", "https://spp/c/2"),     # <datacenter>/<name>
    ("/DC1/Cluster1", "https://spp/c/1"),    # the same as a path
    ("DC1/Cluster2", "https://spp/c/3"),
])
def test_pick_selects_one_item(value, href):
    assert spp_restore._pick(CLUSTERS, value, "cluster", "the backup server", locate=datacenter) == href


def test_pick_refuses_a_shared_name_and_lists_the_candidates_with_datacenter_and_href():
    with pytest.raises(InvalidRequest) as caught:
        spp_restore._pick(CLUSTERS, "Cluster1", "cluster", "the backup server", locate=datacenter)
    assert caught.value.message == (
        "the backup server has 2 clusters named Cluster1: DC1/Cluster1 (https://spp/c/1), DC2/Cluster1 "
        "(https://spp/c/2); give one as <datacenter>/<name> or the href")
    assert caught.value.details == {"candidates": {"Cluster1": ["DC1/Cluster1 (https://spp/c/1)",
                                                                "DC2/Cluster1 (https://spp/c/2)"]}}


def test_pick_offers_the_href_only_when_the_datacenter_does_not_tell_the_items_apart():
    same_datacenter = CLUSTERS + [item("Cluster2", "https://spp/c/4", "DC1")]
    for value in ("Cluster2", "DC1/Cluster2"):
        with pytest.raises(InvalidRequest) as caught:
            spp_restore._pick(same_datacenter, value, "cluster", "the backup server", locate=datacenter)
        assert caught.value.message.endswith("DC1/Cluster2 (https://spp/c/3), DC1/Cluster2 (https://spp/c/4); give "
                                             "one as the href")
    unlocated = [item("ds1", "https://spp/v/1"), item("ds1", "https://spp/v/2")]
    with pytest.raises(InvalidRequest) as caught:
        spp_restore._pick(unlocated, "ds1", "datastore", "the recovery point")
    assert caught.value.message == ("the recovery point has 2 datastores named ds1: https://spp/v/1, https://spp/v/2; "
                                    "give one as the href")


def test_pick_of_an_unknown_name_lists_the_known_ones():
    with pytest.raises(InvalidRequest) as caught:
        spp_restore._pick(CLUSTERS, "Cluster9", "cluster", "the backup server", locate=datacenter)
    assert caught.value.message == "the backup server has no cluster named Cluster9 (known: Cluster1, Cluster2)"
    assert caught.value.details == {"unknown": ["Cluster9"]}
    with pytest.raises(InvalidRequest) as caught:  # a qualified value: the known ones are qualified too
        spp_restore._pick(CLUSTERS, "DC3/Cluster1", "cluster", "the backup server", locate=datacenter)
    assert caught.value.message == ("the backup server has no cluster named DC3/Cluster1 (known: DC1/Cluster1, "
                                    "DC1/Cluster2, DC2/Cluster1)")


def test_pick_prefers_an_exact_name_holding_a_slash():
    items = [item("a/b", "https://spp/n/1", "DC1"), item("b", "https://spp/n/2", "a")]
    assert spp_restore._pick(items, "a/b", "network", "the restore's target", locate=datacenter) == "https://spp/n/1"


def test_pick_never_calls_locate_for_a_unique_name():
    def locate(_item):
        raise AssertionError("located although the name is unique")

    assert spp_restore._pick(CLUSTERS, "Cluster2", "cluster", "the backup server", locate=locate) == "https://spp/c/3"


# -- resolve_destination against the scripted server ---------------------------------------------------------------

@pytest.fixture
def two_datacenters(fake_spp):
    """One vCenter with DC1 and DC2, each with a cluster Cluster1, a host esx1, a datastore ds1 and a network
    "VM Network"; the recovery point was taken on DC1's esx1, on ds1 and "VM Network"."""
    url = fake_spp.url

    def listing(key, *items):
        return Reply(200, {key: list(items), "total": len(items)})

    def host(number, dc):
        return item("esx1", url + "%s/host/h%d?from=hlo" % (HV, number), dc, id="h%d" % number,
                    links={"self": {"href": url + "%s/host/h%d?from=hlo" % (HV, number)},
                           "networks": {"href": url + "/host/h%d/networks" % number}})

    fake_spp.route("GET", HV + "/host", listing("hosts", host(1, "DC1"), host(2, "DC2")))
    fake_spp.route("GET", HV + "/cluster", listing("clusters", *[
        item("Cluster1", url + "%s/cluster/c%d?from=hlo" % (HV, n), dc, id="c%d" % n,
             links={"self": {"href": url + "%s/cluster/c%d?from=hlo" % (HV, n)},
                    "networks": {"href": url + "/cluster/c%d/networks" % n}}) for n, dc in ((1, "DC1"), (2, "DC2"))]))
    fake_spp.route("GET", HV + "/volume", listing("volumes", *[
        item("ds1", url + "%s/volume/v%d?from=hlo" % (HV, n), hypervisorHostKey=["h%d" % n]) for n in (1, 2)]))
    for n in (1, 2):
        networks = listing("networks", item("VM Network", url + "%s/network/n%d" % (HV, n)))
        fake_spp.route("GET", "/host/h%d/networks" % n, networks)
        fake_spp.route("GET", "/cluster/c%d/networks" % n, networks)
    point = version("v1", T0)
    point["hypervisorHostname"] = "esx1"
    point["links"] = {key: {"href": url + "/v1/" + key} for key in ("self", "volumes", "vnics")}
    fake_spp.route("GET", "/v1/volumes", listing("volumes", item("ds1", url + "/v1/volume/1")))
    fake_spp.route("GET", "/v1/vnics", listing("vnics", item("nic1", url + "/v1/vnic/1", links={
        "self": {"href": url + "/v1/vnic/1"}, "networks": {"href": url + "/v1/vnic/1/networks"}})))
    fake_spp.route("GET", "/v1/vnic/1/networks", listing("networks", item("VM Network", url + "/v1/net/1")))
    return point


def only_reads(fake_spp):
    return all(request.method == "GET" or request.path == "/api/endeavour/session" for request in fake_spp.requests)


@pytest.mark.parametrize("option, value, kind", [
    ("cluster", "Cluster1", "cluster"), ("host", "esx1", "host"),
    ("datastore_map", {"ds1": "ds1"}, "datastore"), ("network_map", {"VM Network": "VM Network"}, "network"),
])
def test_a_name_in_two_datacenters_fails_listing_both(fake_spp, make_client, two_datacenters, option, value, kind):
    client = make_client(fake_spp)
    with pytest.raises(InvalidRequest) as caught:
        spp_restore.resolve_destination(client, "1001", two_datacenters, **{option: value})
    message = caught.value.message
    assert "2 %ss named" % kind in message and "give one as <datacenter>/<name> or the href" in message, message
    assert "DC1/" in message and "DC2/" in message and fake_spp.url + HV in message, message
    assert only_reads(fake_spp)


def test_datacenter_slash_name_selects_each_kind(fake_spp, make_client, two_datacenters):
    client = make_client(fake_spp)
    url = fake_spp.url
    resolved = spp_restore.resolve_destination(client, "1001", two_datacenters, cluster="DC2/Cluster1",
                                               datastore_map={"ds1": "DC2/ds1"},
                                               network_map={"VM Network": "DC2/VM Network"})
    assert resolved["target"] == {"href": url + HV + "/cluster/c2?from=hlo", "name": "Cluster1",
                                  "resourceType": "cluster"}
    assert resolved["datastore_map"] == {url + "/v1/volume/1": url + HV + "/volume/v2?from=hlo"}
    # The target cluster lists its own networks: the one of DC2 only, so the bare name would do as well.
    assert resolved["network_map"] == {url + "/v1/net/1": url + HV + "/network/n2"}
    resolved = spp_restore.resolve_destination(client, "1001", two_datacenters, host="/DC1/esx1",
                                               network_map={"VM Network": "VM Network"})
    assert resolved["target"]["href"] == url + HV + "/host/h1?from=hlo"
    assert resolved["network_map"] == {url + "/v1/net/1": url + HV + "/network/n1"}
    assert only_reads(fake_spp)


def test_the_hosts_are_listed_for_datastores_only_when_a_name_needs_its_datacenter(fake_spp, make_client,
                                                                                   two_datacenters):
    client = make_client(fake_spp)
    url = fake_spp.url
    resolved = spp_restore.resolve_destination(client, "1001", two_datacenters,
                                               datastore_map={"ds1": url + HV + "/volume/v1?from=hlo"})
    assert resolved["datastore_map"] == {url + "/v1/volume/1": url + HV + "/volume/v1?from=hlo"}
    assert fake_spp.count("GET", HV + "/host") == 0
