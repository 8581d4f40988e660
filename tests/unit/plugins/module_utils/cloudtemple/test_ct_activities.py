# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Waiting for a Cloud Temple activity (docs/cloudtemple-api.md section 5): completed, failed with its reason, waiting
for ever, one 404 tolerated before the first sighting, transient read failures tolerated up to the limit. The
client's clock is fake, so the waits take no time."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import (
    NotFound,
    ServerBusy,
    TaskFailed,
    WaitTimeout,
)
from ansible_collections.sovereign.vm_backup.plugins.module_utils._wait import Deadline
from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import activities

from ct_fake_server import CT_SECRET, Reply, activity

ACTIVITY_ID = "8c6c3447-7381-4719-831f-f957d748fda6"
PATH = "/api/activity/v1/activities/" + ACTIVITY_ID
RESULT = "c084f65b-48b6-4b01-aa3d-b742b11ecabd"


def state(name, **body):
    return Reply(200, activity(ACTIVITY_ID, name, description="Assign policies", **body))


def test_a_completed_activity_returns_its_state_body(console, make_ct, fake_time):
    console.route("GET", PATH, state("waiting"), state("running", progression=0.4, status="now running"),
                  state("completed", result=RESULT, startDate="2022-12-19T07:14:33.129Z"))
    messages = []
    body = activities.wait(make_ct(console), ACTIVITY_ID, timeout=600, progress=messages.append)
    assert body["result"] == RESULT
    assert len(console.calls("GET", PATH)) == 3
    assert messages[0].startswith("Cloud Temple activity %s (Assign policies): waiting" % ACTIVITY_ID)
    assert "running 40 %" in messages[1]
    assert fake_time.sleeps[0] == activities.FIRST_POLL_DELAY  # the first poll is immediate, the next one soon


def test_a_failed_activity_raises_its_reason_redacted(console, make_ct):
    reason = "Could not find virtual machine %s in compute/SPP (secret %s)" % (RESULT, CT_SECRET)
    console.route("GET", PATH, state("running", progression=0.1), state("failed", reason=reason))
    with pytest.raises(TaskFailed) as caught:
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)
    text = str(caught.value)
    assert "Could not find virtual machine %s in compute/SPP" % RESULT in text and ACTIVITY_ID in text
    assert CT_SECRET not in text and CT_SECRET not in repr(caught.value.to_result())
    assert caught.value.details["activity"] == ACTIVITY_ID and caught.value.details["transient"] is False


def test_a_failure_the_provider_retries_is_flagged_transient(console, make_ct):
    console.route("GET", PATH, state("failed", reason="None of the workers were able to respond"))
    with pytest.raises(TaskFailed) as caught:
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)
    assert caught.value.details["transient"] is True


def test_an_activity_waiting_for_ever_ends_in_a_wait_timeout(console, make_ct, fake_time):
    console.route("GET", PATH, state("waiting"))
    with pytest.raises(WaitTimeout) as caught:
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=120)
    text = str(caught.value)
    assert ACTIVITY_ID in text and "still waiting" in text and "120 s" in text and "for ever" in text
    assert caught.value.details["state"] == "waiting"
    assert max(fake_time.sleeps) <= activities.MAX_POLL_DELAY * 1.1
    assert sum(fake_time.sleeps) == pytest.approx(120)
    assert len(console.calls("GET", PATH)) < 40


def test_a_shared_deadline_bounds_the_wait(console, make_ct, fake_time):
    console.route("GET", PATH, state("running", progression=0.5))
    client = make_ct(console)
    with pytest.raises(WaitTimeout) as caught:
        activities.wait(client, ACTIVITY_ID, timeout=None, deadline=Deadline(30, fake_time.clock))
    assert "still running 50 %" in str(caught.value) and "30 s" in str(caught.value)


def test_one_404_before_the_first_sighting_is_tolerated(console, make_ct):
    console.route("GET", PATH, Reply(404, "Not Found"), state("completed", result=RESULT))
    assert activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)["result"] == RESULT


def test_two_404s_before_the_first_sighting_are_not_found(console, make_ct):
    console.route("GET", PATH, Reply(404, "Not Found"))
    with pytest.raises(NotFound) as caught:
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)
    assert len(console.calls("GET", PATH)) == 2 and ACTIVITY_ID in str(caught.value)


def test_a_404_after_the_activity_was_seen_is_not_found(console, make_ct):
    console.route("GET", PATH, state("running"), Reply(404, "Not Found"))
    with pytest.raises(NotFound) as caught:
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)
    assert "was seen" in str(caught.value)


def test_transient_read_failures_are_tolerated_up_to_the_limit(console, make_ct, log_lines):
    # Each read is three attempts (the client's own retries): 8 failed reads are 24 answers.
    failures = [Reply(503, "Service Unavailable")] * (activities.TRANSIENT_READ_FAILURES * 3)
    console.route("GET", PATH, state("running"), *failures, state("completed", result=RESULT))
    assert activities.wait(make_ct(console), ACTIVITY_ID, timeout=3600)["result"] == RESULT
    assert sum("failed (8 in a row)" in line for line in log_lines) == 1


def test_one_transient_read_failure_too_many_is_raised(console, make_ct):
    failures = [Reply(502, "Bad Gateway")] * ((activities.TRANSIENT_READ_FAILURES + 1) * 3)
    console.route("GET", PATH, *failures, state("completed", result=RESULT))
    with pytest.raises(ServerBusy):
        activities.wait(make_ct(console), ACTIVITY_ID, timeout=3600)


def test_the_failure_count_restarts_after_a_good_read(console, make_ct):
    failures = [Reply(503)] * (activities.TRANSIENT_READ_FAILURES * 3)
    console.route("GET", PATH, *failures, state("running"), *failures, state("completed", result=RESULT))
    assert activities.wait(make_ct(console), ACTIVITY_ID, timeout=7200)["result"] == RESULT


def test_state_of_reads_exactly_one_key():
    assert activities.state_of({"state": {"running": {"progression": 0.2}}}) == ("running", {"progression": 0.2})
    assert activities.state_of({"state": {"completed": None}}) == ("completed", {})
    assert activities.state_of({"state": {}}) == (None, {})
    assert activities.state_of({"state": {"running": {}, "failed": {}}}) == (None, {})
    assert activities.state_of(None) == (None, {})


def test_an_unknown_state_keeps_polling(console, make_ct):
    console.route("GET", PATH, Reply(200, {"id": ACTIVITY_ID, "state": {}}), state("completed", result=RESULT))
    assert activities.wait(make_ct(console), ACTIVITY_ID, timeout=600)["result"] == RESULT
