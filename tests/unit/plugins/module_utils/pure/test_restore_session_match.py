# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which restore job sessions belong to a restore: the one to follow, and the test restores to clean up."""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_session_match

from restore_fixtures import entry, session, source_of, spp_vm, vc_vm


def test_classify_sessions():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    logs = {"s3": [{"messageParams": ["web01", "v1", "web01_TEST", "test"]}], "s4": [{"message": "Job started."}],
            "s5": []}
    sessions = [
        session("s1", "RESOURCE ACTIVE", [entry()]),
        session("s2", "RESOURCE ACTIVE", [entry(name="web01_T2")]),
        session("s3", "RUNNING"),
        session("s4", "RUNNING"),
        session("s5", "PENDING"),
        session("s6", "COMPLETED", [entry(point="v0")]),
    ]
    matches, undecided = restore_session_match.classify_sessions(sessions, source, "v1", "test",
                                                                 lambda s: logs[s["id"]], "web01_TEST")
    assert [(s["id"], e is not None) for s, e in matches] == [("s1", True), ("s3", False)]
    assert [s["id"] for s in undecided] == ["s5"]


def test_usable_match():
    usable_match = restore_session_match.usable_match
    by_moref = {"vm-20": vc_vm("web01_TEST", "vm-20")}
    active = (session("s1", "RESOURCE ACTIVE", [entry()]), entry())
    running = (session("s2", "RUNNING"), None)
    assert usable_match([active, running], by_moref, "test")[0]["id"] == "s2"
    assert usable_match([active], by_moref, "test")[0]["id"] == "s1"
    assert usable_match([active], {}, "test") is None, "the test VM is gone"
    ended = (session("s3", "COMPLETED", [entry()]), entry())
    assert usable_match([ended], by_moref, "test") is None, "a test restore no longer RESOURCE ACTIVE"
    cleaned = (session("s4", "COMPLETED", [entry(status="cleaned up")]), entry(status="cleaned up"))
    assert usable_match([cleaned], by_moref, "test") is None
    clone = entry(mode="clone", status="restored")
    assert usable_match([(session("s5", "COMPLETED", [clone], "clone"), clone)], by_moref, "clone")
    assert usable_match([(session("s6", "FAILED", [clone], "clone"), clone)], by_moref, "clone") is None


def test_cleanup_candidates_are_the_test_restores_of_the_source():
    source = source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])
    sessions = [
        session("s1", "RESOURCE ACTIVE", [entry(), entry(source="zz", moref="vm-29")]),
        session("s2", "RESOURCE ACTIVE", [entry(point="v0", moref="vm-21")]),
        session("s3", "COMPLETED", [entry(mode="clone", moref="vm-22")], "clone"),
    ]
    found = restore_session_match.cleanup_candidates(sessions, source)
    assert [(s["id"], e["moref"]) for s, e in found] == [("s1", "vm-20"), ("s2", "vm-21")]
    assert [e["moref"] for _s, e in restore_session_match.cleanup_candidates(sessions, source, "v0")] == ["vm-21"]
