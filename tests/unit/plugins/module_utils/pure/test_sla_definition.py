# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""SLA policy options map onto SPP's subpolicy fields; only the options given are compared."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.sla_definition import (
    InvalidDefinition,
    changed_fields,
    desired_subpolicy,
    new_definition,
    parse_start,
    trigger_from_schedule,
    updated_definition,
)

GOLD = {"id": "2000", "name": "Gold", "type": "backup", "version": "1.0", "description": "hourly",
        "links": {"self": {"href": "https://spp/api/spec/storageprofile/2000"}},
        "spec": {"simple": True, "subpolicy": [
            {"type": "REPLICATION", "software": True, "site": "Primary", "useEncryption": False,
             "retention": {"age": 15}, "trigger": {"type": "HOURLY", "frequency": 1, "activateDate": 1591002000000,
                                                   "timezone": "UTC"}}]}}


def test_start_is_epoch_ms_rounded_to_five_minutes():
    assert parse_start("2026-01-01T22:03:59Z") == parse_start("2026-01-01T22:00:00+00:00")
    assert parse_start("2026-01-01T22:00:00") % (5 * 60 * 1000) == 0
    with pytest.raises(InvalidDefinition, match="schedule.start"):
        parse_start("tomorrow")


def test_weekly_and_monthly_day_lists():
    weekly = trigger_from_schedule({"every": "weekly", "weekdays": ["sunday", "Wednesday"]})
    assert weekly["type"] == "WEEKLY" and len(weekly["dowList"]) == 8
    assert [i for i, flag in enumerate(weekly["dowList"]) if flag] == [1, 4]
    monthly = trigger_from_schedule({"every": "monthly", "monthdays": [1, 15, 31]})
    assert len(monthly["domList"]) == 32 and [i for i, f in enumerate(monthly["domList"]) if f] == [1, 15, 31]
    with pytest.raises(InvalidDefinition, match="weekdays goes with every: weekly"):
        trigger_from_schedule({"every": "daily", "weekdays": ["monday"]})
    with pytest.raises(InvalidDefinition, match="out of range"):
        trigger_from_schedule({"every": "monthly", "monthdays": [32]})


def test_retention_takes_days_or_points():
    assert desired_subpolicy(retention={"days": 30})["retention"] == {"age": 30}
    assert desired_subpolicy(retention={"recovery_points": 7})["retention"] == {"numsnapshots": 7}
    with pytest.raises(InvalidDefinition):
        desired_subpolicy(retention={"days": 1, "recovery_points": 2})


def test_only_given_options_are_compared():
    assert changed_fields(GOLD, subpolicy=desired_subpolicy(site="Primary")) == []
    assert changed_fields(GOLD, subpolicy=desired_subpolicy(schedule={"every": "hourly"})) == []
    assert changed_fields(GOLD, description="hourly", subpolicy=desired_subpolicy(retention={"days": 15})) == []
    assert changed_fields(GOLD, subpolicy=desired_subpolicy(schedule={"every": "daily"}, encryption=True)) == [
        "useEncryption", "trigger"]
    assert changed_fields(GOLD, description="new text") == ["description"]


def test_update_keeps_the_name_and_the_unmanaged_fields():
    updated = updated_definition(GOLD, subpolicy=desired_subpolicy(retention={"recovery_points": 3},
                                                                   schedule={"interval": 2}))
    subpolicy = updated["spec"]["subpolicy"][0]
    assert updated["name"] == "Gold" and "links" not in updated and "id" not in updated
    assert subpolicy["retention"] == {"numsnapshots": 3}
    assert subpolicy["trigger"] == {"type": "HOURLY", "frequency": 2, "activateDate": 1591002000000, "timezone": "UTC"}
    assert GOLD["spec"]["subpolicy"][0]["retention"] == {"age": 15}  # the input is not mutated


def test_new_definition_needs_a_site_and_fills_defaults():
    with pytest.raises(InvalidDefinition, match="site"):
        new_definition("Diamond", None, {})
    definition = new_definition("Diamond", "tier 0", desired_subpolicy(site="Secondary", retention={"days": 7}))
    subpolicy = definition["spec"]["subpolicy"][0]
    assert definition["name"] == "Diamond" and definition["type"] == "backup"
    assert subpolicy["site"] == "Secondary" and subpolicy["retention"] == {"age": 7}
    assert subpolicy["type"] == "REPLICATION" and subpolicy["software"] is True
