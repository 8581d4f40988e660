# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The request stage of vm_restore: option combinations, and what recovery_point asks for."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_request

from restore_fixtures import T0, request


@pytest.mark.parametrize("value, expected", [
    ("2026-01-01T00:00:00Z", T0),
    ("2026-01-01T01:00:00+01:00", T0),
    ("2026-01-01 00:00:00", T0),
    ("2026-01-01T00:00:00.250Z", T0 + 250),
    (T0, T0),
    (str(T0), T0),
])
def test_recovery_point_before_a_time(value, expected):
    assert restore_request.parse_recovery_point({"before": value}) == {"before": expected}


@pytest.mark.parametrize("value", ["yesterday", True, "2026-13-01"])
def test_recovery_point_before_refuses_what_is_not_a_time(value):
    with pytest.raises(InvalidRequest) as caught:
        restore_request.parse_recovery_point({"before": value})
    assert "recovery_point.before" in caught.value.message


def test_iso_time():
    assert restore_request.iso_time(T0 + 5) == "2026-01-01T00:00:00.005Z"
    assert restore_request.iso_time(None) is None


@pytest.mark.parametrize("value, expected", [
    (None, None), ("", None), ("latest", "latest"), ("LATEST", "latest"), ("1795307314135", "1795307314135"),
    (1795307314135, "1795307314135"), ({"before": "2026-01-01T00:00:00Z"}, {"before": T0}),
])
def test_parse_recovery_point(value, expected):
    assert restore_request.parse_recovery_point(value) == expected


@pytest.mark.parametrize("value", [{"after": 1}, {"before": 1, "x": 2}, [1], True])
def test_parse_recovery_point_refusals(value):
    with pytest.raises(InvalidRequest):
        restore_request.parse_recovery_point(value)


def test_check_request_lists_every_problem():
    with pytest.raises(InvalidRequest) as caught:
        restore_request.check_request(request(mode="production", state="promoted", name="x", host="h", cluster="c"))
    problems = caught.value.details["problems"]
    assert len(problems) == 3
    assert "state promoted applies to test restores only" in problems[0]
    assert "keeps the original name" in problems[1] and "keep_current: true" in problems[1]
    assert restore_request.request_problems(request(state="absent")) == []
    assert restore_request.request_problems(request(mode="clone", name="web01_REST")) == []


def test_check_request_keep_current():
    for wrong in (request(keep_current=True), request(mode="production", keep_current=True, overwrite=True)):
        with pytest.raises(InvalidRequest):
            restore_request.check_request(wrong)


@pytest.mark.parametrize("overrides", [
    {"test_result": "passed", "state": "present"},
    {"test_result": "passed", "mode": "clone", "state": "present"},
    {"skip_if_tested": True, "state": "absent"},
    {"skip_if_tested": True, "mode": "clone"},
])
def test_check_request_test_options(overrides):
    with pytest.raises(InvalidRequest):
        restore_request.check_request(request(**overrides))


@pytest.mark.parametrize("overrides", [
    {"test_result": "failed", "state": "absent"},
    {"test_result": "passed", "state": "promoted"},
    {"skip_if_tested": True},
])
def test_check_request_accepts_test_options(overrides):
    assert restore_request.request_problems(request(**overrides)) == []
    assert restore_request.check_request(request(**overrides)) is None
