# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""backup_sla_policy's service, ``ensure_sla_policy``, against a fake SPP: the client functions it calls answer from
a small state and record every write; hold and release go through the real ``spp.jobs`` functions, so they are
seen as POSTs to the job's own links."""

from __future__ import annotations

import copy

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.seams.spp_backup import SppBackupService
from ansible_collections.sovereign.vm_backup.plugins.module_utils.services import sla_policies
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    ConcurrentChange,
    Conflict,
    InvalidRequest,
    NotFound,
    PolicyInUse,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import jobs as spp_jobs
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import listing as spp_listing
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import policies as spp_policies

JOB_HREF = "https://spp/api/endeavour/job/1004"


def gold(**subpolicy):
    backup = {"type": "REPLICATION", "software": True, "site": "Primary", "useEncryption": False,
              "retention": {"age": 15}, "trigger": {"type": "DAILY", "frequency": 1, "timezone": "UTC",
                                                    "activateDate": 1_800_000_000_000}}
    backup.update(subpolicy)
    return {"id": "2101", "name": "Gold", "description": "old text", "type": "backup", "version": "1.0",
            "links": {"self": {"href": "https://spp/ngp/slapolicy/2101"}},
            "spec": {"simple": True, "subpolicy": [{"type": "SNAPSHOT", "retention": {"age": 2}}, backup]}}


def job(status="IDLE"):
    return {"id": "1004", "name": "vmware_Gold", "status": status,
            "links": {"self": {"href": JOB_HREF}, "hold": {"href": JOB_HREF + "?action=hold"},
                      "release": {"href": JOB_HREF}}}


class FakeSpp:
    """The SPP client the service is given: only ``post`` is used directly (by ``spp.jobs`` for hold/release)."""

    def __init__(self):
        self.policies = []
        self.jobs = []
        self.vms = []
        self.vdisks = []
        self.sites = [{"id": "1000", "name": "Primary"}, {"id": "2000", "name": "Secondary"}]
        self.writes = []

    def post(self, href, params=None, lost_answer_hint=None, **kwargs):
        self.writes.append(("post", href, params))
        held = (params or {}).get("action") == "hold" or "action=hold" in href
        found = next(j for j in self.jobs if href.startswith(j["links"]["self"]["href"]))
        return dict(found, status="HELD" if held else "IDLE")


@pytest.fixture
def spp(monkeypatch):
    server = FakeSpp()

    def find_job(client, name, jobs=None):
        for candidate in client.jobs:
            if candidate["name"] == name:
                return copy.deepcopy(candidate)
        raise NotFound(None, description="SPP has no job named '%s'" % name)

    def create(client, definition):
        client.writes.append(("create", copy.deepcopy(definition)))
        return dict(copy.deepcopy(definition), id="9999")

    def update(client, policy_id, definition):
        client.writes.append(("update", policy_id, copy.deepcopy(definition)))
        stored = dict(copy.deepcopy(definition), id=policy_id)
        client.policies = [dict(stored, links=p.get("links")) if p["id"] == policy_id else p for p in client.policies]
        return stored

    def delete(client, policy_id, missing_ok=False):
        client.writes.append(("delete", policy_id))
        return True

    monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **kw: copy.deepcopy(client.policies))
    monkeypatch.setattr(spp_policies, "create_sla_policy", create)
    monkeypatch.setattr(spp_policies, "update_sla_policy", update)
    monkeypatch.setattr(spp_policies, "delete_sla_policy", delete)
    monkeypatch.setattr(spp_jobs, "find_job", find_job)
    monkeypatch.setattr(spp_jobs, "list_jobs", lambda client, **kw: copy.deepcopy(client.jobs))
    monkeypatch.setattr(spp_listing, "list_vms", lambda client, **kw: copy.deepcopy(client.vms))
    monkeypatch.setattr(spp_listing, "list_vdisks", lambda client, **kw: copy.deepcopy(client.vdisks))
    monkeypatch.setattr(spp_listing, "list_sites", lambda client, **kw: copy.deepcopy(client.sites))
    return server


def ensure(spp, **options):
    return sla_policies.ensure_sla_policy(SppBackupService(spp), options.pop("name", "Gold"), **options)


# -- create ---------------------------------------------------------------------------------------------------------

def test_create_when_absent_sends_one_complete_definition(spp):
    result = ensure(spp, site="Primary", retention={"days": 30}, description="gold tier")
    assert [w[0] for w in spp.writes] == ["create"]
    definition = spp.writes[0][1]
    assert definition["name"] == "Gold" and definition["description"] == "gold tier"
    (backup,) = definition["spec"]["subpolicy"]
    assert backup["site"] == "Primary" and backup["retention"] == {"age": 30} and backup["useEncryption"] is False
    assert result["changed"] is True and result["actions"] == ["create"]
    assert result["policy"]["id"] == "9999" and result["policy"]["site"] == "Primary"
    assert result["policy"]["retention"] == {"age": 30} and result["policy"]["held"] is False
    assert result["policy"]["job"] is None
    assert result["diff"]["before"] == {} and result["diff"]["after"] == result["policy"]


def test_create_in_check_mode_writes_nothing_and_predicts_the_policy(spp):
    result = ensure(spp, site="Primary", retention={"recovery_points": 7}, check_mode=True)
    assert spp.writes == []
    assert result["changed"] is True and result["actions"] == ["create"]
    assert result["policy"]["id"] is None and result["policy"]["retention"] == {"numsnapshots": 7}


@pytest.mark.parametrize("check_mode", [False, True])
def test_an_unknown_site_is_refused_before_any_write(spp, check_mode):
    with pytest.raises(InvalidRequest) as caught:
        ensure(spp, site="Tertiary", retention={"days": 30}, check_mode=check_mode)
    assert caught.value.message == ("site Tertiary does not exist on the backup server; its sites: Primary, Secondary; "
                                    "nothing was changed")
    assert spp.writes == []


def test_create_without_site_is_refused_before_any_write(spp):
    with pytest.raises(InvalidRequest) as caught:
        ensure(spp, retention={"days": 3})
    assert "site" in caught.value.message
    assert spp.writes == []


def test_an_invalid_option_is_an_invalid_request_not_a_value_error(spp):
    spp.policies = [gold()]
    with pytest.raises(InvalidRequest) as caught:
        ensure(spp, retention={"days": 3, "recovery_points": 2})
    assert "retention" in caught.value.message
    assert spp.writes == []


# -- no change, update ------------------------------------------------------------------------------------------------

def test_equal_policy_is_not_changed(spp):
    spp.policies, spp.jobs = [gold()], [job()]
    result = ensure(spp, site="Primary", retention={"days": 15}, encryption=False, description="old text",
                    schedule={"every": "daily", "interval": 1}, held=False)
    assert spp.writes == []
    assert result["changed"] is False and result["actions"] == []
    assert result["diff"]["before"] == result["diff"]["after"] == result["policy"]
    assert result["policy"]["job"] == "vmware_Gold" and result["policy"]["id"] == "2101"


def test_update_changes_only_the_fields_given(spp):
    spp.policies, spp.jobs = [gold()], [job()]
    result = ensure(spp, retention={"recovery_points": 5})
    assert result["actions"] == ["update: retention"]
    assert [w[:2] for w in spp.writes] == [("update", "2101")]
    sent = spp.writes[0][2]
    assert "id" not in sent and "links" not in sent and sent["name"] == "Gold"
    assert sent["description"] == "old text"
    snapshot, backup = sent["spec"]["subpolicy"]
    assert snapshot == {"type": "SNAPSHOT", "retention": {"age": 2}}  # the other subpolicy is left alone
    expected = gold()["spec"]["subpolicy"][1]
    expected["retention"] = {"numsnapshots": 5}  # age and numsnapshots exclude each other
    assert backup == expected
    assert result["diff"]["before"]["retention"] == {"age": 15}
    assert result["diff"]["after"]["retention"] == {"numsnapshots": 5}


def test_update_of_several_fields_lists_them_and_keeps_the_rest_of_the_trigger(spp):
    spp.policies = [gold()]
    result = ensure(spp, description="new text", site="Secondary", schedule={"interval": 4})
    assert result["actions"] == ["update: description, site, trigger"]
    sent = spp.writes[0][2]
    backup = sent["spec"]["subpolicy"][1]
    assert sent["description"] == "new text" and backup["site"] == "Secondary"
    assert backup["trigger"] == {"type": "DAILY", "frequency": 4, "timezone": "UTC", "activateDate": 1_800_000_000_000}
    assert backup["retention"] == {"age": 15} and backup["useEncryption"] is False


def test_update_in_check_mode_writes_nothing_and_shows_the_result(spp):
    spp.policies = [gold()]
    result = ensure(spp, encryption=True, check_mode=True)
    assert spp.writes == []
    assert result["changed"] is True and result["actions"] == ["update: useEncryption"]
    assert result["policy"]["encryption"] is True and result["policy"]["id"] == "2101"
    assert result["diff"]["before"]["encryption"] is False


# -- delete ---------------------------------------------------------------------------------------------------------

def test_delete_when_present_and_unused(spp):
    spp.policies = [gold()]
    spp.vms = [{"name": "web01", "storageProfiles": ["Silver"]}]
    result = ensure(spp, state="absent")
    assert spp.writes == [("delete", "2101")]
    assert result["changed"] is True and result["actions"] == ["delete"] and result["policy"] == {}
    assert result["diff"]["before"]["name"] == "Gold" and result["diff"]["after"] == {}


def test_delete_in_check_mode_writes_nothing(spp):
    spp.policies = [gold()]
    result = ensure(spp, state="absent", check_mode=True)
    assert spp.writes == []
    assert result["changed"] is True and result["actions"] == ["delete"]


def test_delete_when_absent_is_no_change_and_reads_no_vm(spp, monkeypatch):
    monkeypatch.setattr(spp_listing, "list_vms", lambda client, **kw: pytest.fail("listed VMs"))
    result = ensure(spp, state="absent")
    assert result == {"changed": False, "policy": {}, "actions": [], "diff": {"before": {}, "after": {}}}
    assert spp.writes == []


@pytest.mark.parametrize("check_mode", [False, True])
def test_delete_of_a_policy_in_use_is_refused_naming_its_vms_and_disks(spp, check_mode):
    spp.policies = [gold()]
    spp.vms = [{"name": "web02", "storageProfiles": ["Gold"]}, {"name": "db01", "storageProfiles": ["Silver"]},
               {"name": "web01", "storageProfiles": ["Silver", "Gold"]}]
    spp.vdisks = [{"name": "Hard disk 2", "vmName": "db01", "storageProfiles": ["Gold"]},
                  {"name": "Hard disk 1", "vmName": "db01", "storageProfiles": []}]
    with pytest.raises(PolicyInUse) as caught:
        ensure(spp, state="absent", check_mode=check_mode)
    assert caught.value.details == {"vms": ["web01", "web02"], "disks": ["db01 / Hard disk 2"]}
    assert "VM web01" in caught.value.message and "VM web02" in caught.value.message
    assert "disk db01 / Hard disk 2" in caught.value.message and "db01, " not in caught.value.message
    assert spp.writes == []


def test_delete_of_a_policy_held_by_a_disk_only_is_refused(spp):
    spp.policies = [gold()]
    spp.vms = [{"name": "db01", "storageProfiles": ["Silver"]}]
    spp.vdisks = [{"name": "Hard disk 3", "vmId": "1007", "storageProfiles": ["Gold"]}]
    with pytest.raises(PolicyInUse) as caught:
        ensure(spp, state="absent")
    assert caught.value.details == {"vms": [], "disks": ["1007 / Hard disk 3"]}  # no vmName: the VM's id
    assert spp.writes == []


# -- hold and release -------------------------------------------------------------------------------------------------

def test_hold_posts_to_the_jobs_hold_link(spp):
    spp.policies, spp.jobs = [gold()], [job("IDLE")]
    result = ensure(spp, held=True)
    # The hold link already carries its action; only the missing query parameters are added.
    assert spp.writes == [("post", JOB_HREF + "?action=hold", None)]
    assert result["changed"] is True and result["actions"] == ["hold"]
    assert result["diff"]["before"]["held"] is False and result["policy"]["held"] is True


def test_release_posts_to_the_jobs_release_link(spp):
    spp.policies, spp.jobs = [gold()], [job("HELD")]
    result = ensure(spp, held=False)
    assert spp.writes == [("post", JOB_HREF, {"action": "release", "actionname": "release"})]
    assert result["actions"] == ["release"] and result["policy"]["held"] is False


@pytest.mark.parametrize("status, held", [("IDLE", True), ("HELD", False)])
def test_hold_and_release_in_check_mode_write_nothing(spp, status, held):
    spp.policies, spp.jobs = [gold()], [job(status)]
    result = ensure(spp, held=held, check_mode=True)
    assert spp.writes == []
    assert result["changed"] is True and result["policy"]["held"] is held


@pytest.mark.parametrize("status, held", [("HELD", True), ("IDLE", False), ("IDLE", None), ("HELD", None)])
def test_held_already_as_wanted_or_not_given_is_no_action(spp, status, held):
    spp.policies, spp.jobs = [gold()], [job(status)]
    result = ensure(spp, held=held)
    assert spp.writes == [] and result["changed"] is False
    assert result["policy"]["held"] is (status == "HELD")


def test_hold_without_a_job_is_refused(spp):
    spp.policies = [gold()]
    with pytest.raises(InvalidRequest) as caught:
        ensure(spp, held=True)
    assert "no backup job" in caught.value.message and "vmware_Gold" in caught.value.message
    assert spp.writes == []


def test_release_without_a_job_is_no_change(spp):
    # Without a job nothing is held, so held: false is already true.
    spp.policies = [gold()]
    result = ensure(spp, held=False)
    assert spp.writes == [] and result["changed"] is False and result["policy"]["held"] is False


@pytest.mark.parametrize("existing", [False, True])
def test_a_refused_hold_writes_nothing_even_with_other_changes(spp, existing):
    spp.policies = [gold()] if existing else []
    with pytest.raises(InvalidRequest):
        ensure(spp, site="Secondary", held=True)
    assert spp.writes == []


def public_record_job(status="IDLE"):
    """A job as the public record shows it (spp-api.md 14.17): no hold or release link."""
    found = job(status)
    found["links"] = {"self": {"href": JOB_HREF}, "start": {"href": JOB_HREF + "?action=start"},
                      "livejobsessions": {"href": "https://spp/api/endeavour/jobsession?filter=x"}}
    return found


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize("other_change", [False, True])
def test_hold_without_a_hold_link_fails_naming_the_links_and_changes_nothing(spp, check_mode, other_change):
    spp.policies, spp.jobs = [gold()], [public_record_job()]
    options = dict(held=True, check_mode=check_mode)
    if other_change:
        options["site"] = "Secondary"
    with pytest.raises(Conflict) as caught:
        ensure(spp, **options)
    text = caught.value.message
    assert "offers no 'hold' action" in text and "livejobsessions, self, start" in text
    assert "Nothing was changed" in text and "Gold" in text
    assert spp.writes == []


def test_release_without_a_release_link_fails_the_same_way(spp):
    spp.policies, spp.jobs = [gold()], [public_record_job("HELD")]
    with pytest.raises(Conflict) as caught:
        ensure(spp, held=False)
    assert "offers no 'release' action" in caught.value.message and spp.writes == []


def test_held_state_is_read_without_a_hold_link(spp):
    spp.policies, spp.jobs = [gold()], [public_record_job("HELD")]
    result = ensure(spp, held=True)
    assert spp.writes == [] and result["changed"] is False
    assert result["policy"]["held"] is True and result["policy"]["held_from"] == "status"


# -- view -----------------------------------------------------------------------------------------------------------

def test_view_of_a_policy_and_its_job():
    assert sla_policies.view(None, job()) == {}
    shown = sla_policies.view(gold(useEncryption=True), job("HELD"))
    assert shown == {"name": "Gold", "id": "2101", "description": "old text", "site": "Primary", "encryption": True,
                     "retention": {"age": 15}, "held": True, "held_from": "status", "job": "vmware_Gold",
                     "trigger": {"type": "DAILY", "frequency": 1, "timezone": "UTC", "activateDate": 1_800_000_000_000}}
    assert sla_policies.view(dict(gold(), description=None), None)["description"] == ""
    assert sla_policies.view(gold(), None)["held"] is False and sla_policies.view(gold(), None)["held_from"] is None


# -- lost updates (issue 14): the policy read again just before and just after the PUT ----------------------------

def another_writer(spp, monkeypatch, at_listing, **changes):
    """Another play changes the policy just before the ``at_listing``-th listing of the policies is answered (0: the
    plan's, 1: the one before the PUT, 2: the one after); ``changes`` go into the backup subpolicy, ``description``
    into the policy. Returns the list of listings made."""
    listings = []

    def listing(client, **kwargs):
        if len(listings) == at_listing:
            (policy,) = client.policies
            if "description" in changes:
                policy["description"] = changes.pop("description")
            policy["spec"]["subpolicy"][1].update(changes)
        listings.append(1)
        return copy.deepcopy(client.policies)

    monkeypatch.setattr(spp_policies, "list_sla_policies", listing)
    return listings


def test_an_update_reads_the_policy_once_before_and_once_after_the_put(spp, monkeypatch):
    spp.policies = [gold()]
    listings = another_writer(spp, monkeypatch, at_listing=99)
    assert ensure(spp, retention={"days": 30})["changed"] is True
    assert len(listings) == 3
    listings.clear()
    assert ensure(spp, retention={"days": 30})["changed"] is False
    assert len(listings) == 1, "a converged run reads nothing more"


def test_a_policy_changed_since_it_was_read_fails_the_update_before_the_put(spp, monkeypatch):
    spp.policies = [gold()]
    another_writer(spp, monkeypatch, at_listing=1, description="set by the other play")
    with pytest.raises(ConcurrentChange) as caught:
        ensure(spp, retention={"days": 30})
    assert spp.writes == [], "the PUT would have put the old description back"
    message = caught.value.message
    assert message.startswith("concurrent change: SLA policy Gold changed on the backup server after this task read it")
    assert "description: read 'old text', now 'set by the other play'" in message and "nothing was written" in message
    assert "Run the task again" in message and "throttle: 1" in message
    assert caught.value.details["policy"] == "Gold" and caught.value.details["changed"] is False


def test_an_update_overwritten_by_another_writer_fails_naming_the_field_written_and_found(spp, monkeypatch):
    spp.policies = [gold()]
    another_writer(spp, monkeypatch, at_listing=2, retention={"age": 15})  # a PUT made from the old definition
    with pytest.raises(ConcurrentChange) as caught:
        ensure(spp, retention={"days": 30})
    assert [w[0] for w in spp.writes] == ["update"]
    message = caught.value.message
    assert message.startswith("concurrent change: another writer replaced SLA policy Gold while this task updated it")
    assert 'retention: this task wrote {"age": 30}, now {"age": 15}' in message
    assert caught.value.details["fields"] == ["retention"] and caught.value.details["changed"] is True
    # The re-run converges.
    monkeypatch.setattr(spp_policies, "list_sla_policies", lambda client, **kw: copy.deepcopy(client.policies))
    assert ensure(spp, retention={"days": 30})["changed"] is True
    assert ensure(spp, retention={"days": 30})["changed"] is False


def test_a_change_to_another_field_right_after_the_put_is_only_a_warning(spp, monkeypatch):
    spp.policies = [gold()]
    another_writer(spp, monkeypatch, at_listing=2, description="set by the other play")
    result = ensure(spp, retention={"days": 30})
    assert result["changed"] is True and result["policy"]["retention"] == {"age": 30}
    (warning,) = result["warnings"]
    assert "SLA policy Gold" in warning and "kept" in warning and "serialised" in warning


def test_a_policy_deleted_before_the_put_is_a_concurrent_change(spp, monkeypatch):
    spp.policies = [gold()]
    calls = []

    def listing(client, **kwargs):
        calls.append(1)
        return [gold()] if len(calls) == 1 else []

    monkeypatch.setattr(spp_policies, "list_sla_policies", listing)
    with pytest.raises(ConcurrentChange) as caught:
        ensure(spp, retention={"days": 30})
    assert spp.writes == [] and "it was deleted" in caught.value.message
