# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Which restore job sessions belong to a restore (by their logs), which vCenter VM a restore made (by name and
marker), the session to follow or adopt, and the unmarked test restores to clean up."""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import restore_session_match

from restore_fixtures import active_test_session, marker, session, source_of, spp_vm, vc_vm

SOURCE_LOG = {"message": "Restoring virtual machine web01 from the recovery point of 1767225600000 as web01_TEST."}


def source():
    return source_of([vc_vm("web01", "vm-10")], [spp_vm("a1")])


def test_classify_sessions_by_their_logs():
    logs = {"s1": [SOURCE_LOG], "s2": [{"message": "Restoring virtual machine web01_TEST as x."}],
            "s3": [{"messageParams": ["web01", "web01_CLONE"]}], "s4": [{"message": "Job started."}], "s5": [],
            "s6": [SOURCE_LOG], "s7": []}
    sessions = [
        active_test_session("s1"),
        active_test_session("s2"),  # another VM whose name starts like the source's
        session("s3", "RUNNING"),
        session("s4", "RUNNING"),
        session("s5", "PENDING", actions=()),  # not started: says nothing yet
        session("s6", "FAILED"),
        session("s7", "COMPLETED"),
    ]
    read = []

    def logs_of(one):
        read.append(one["id"])
        return logs[one["id"]]

    matches, undecided = restore_session_match.classify_sessions(sessions, source(), logs_of)
    assert [s["id"] for s in matches] == ["s1", "s3"]
    assert [s["id"] for s in undecided] == ["s5"]
    assert "s6" not in read, "the logs of a failed session are not read"
    waiting = session("s5", "PENDING")
    assert restore_session_match.classify_sessions([waiting], source()) == ([], [waiting]), "without logs: undecided"


def test_restored_vm_is_found_by_name_and_marker():
    src = source()
    ours = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    foreign = vc_vm("web01_TEST", "vm-21", uuid="u", marker=marker(spp_id="zz", uuid="other"))
    vm, why = restore_session_match.restored_vm([src["current"], foreign, ours], "web01_TEST", src, "v1", "test")
    assert vm is ours and why is None
    vm, why = restore_session_match.restored_vm([src["current"]], "web01_TEST", src)
    assert vm is None and "no VM named web01_TEST" in why
    # A VM that appeared since the task read vCenter wins over an older one of the same name.
    older, new = vc_vm("web01_TEST", "vm-22", uuid="a"), vc_vm("web01_TEST", "vm-23", uuid="b")
    assert restore_session_match.restored_vm([older, new], "web01_TEST", src, known={"vm-22"})[0] is new
    vm, why = restore_session_match.restored_vm([older, new], "web01_TEST", src)
    assert vm is None and "2 VMs named web01_TEST (vm-22, vm-23)" in why
    # A production restore: the source's recorded VM is not what the restore made.
    replaced = vc_vm("web01", "vm-30")
    assert restore_session_match.restored_vm([src["current"], replaced], "web01", src,
                                             exclude=restore_session_match.recorded_morefs(src))[0] is replaced


def test_usable_match():
    usable_match = restore_session_match.usable_match
    src = source()
    test_vm = vc_vm("web01_TEST", "vm-20", uuid="t")
    running = session("s2", "RUNNING")
    active = active_test_session("s1")
    assert usable_match([active, running], [test_vm], src, "test", "web01_TEST")[0]["id"] == "s2"
    assert usable_match([active], [test_vm], src, "test", "web01_TEST") == (active, test_vm)
    assert usable_match([active], [], src, "test", "web01_TEST") is None, "the test VM is gone"
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker(point="v0"))
    assert usable_match([active], [marked], src, "test", "web01_TEST") is None, "a marked VM is another restore's"
    ended = session("s3", "COMPLETED")
    assert usable_match([ended], [test_vm], src, "test", "web01_TEST") is None, "no longer holds the test restore"
    assert usable_match([session("s4", "PENDING")], [test_vm], src, "test", "web01_TEST")[0]["id"] == "s4", \
        "a PENDING session without action links has not started: it is followed"
    clone = vc_vm("web01_CLONE", "vm-22", uuid="c")
    assert usable_match([ended], [clone], src, "clone", "web01_CLONE") == (ended, clone)
    assert usable_match([session("s6", "FAILED")], [clone], src, "clone", "web01_CLONE") is None
    # Production: the restored VM has a new moref and the source's instance UUID.
    restored = vc_vm("web01", "vm-30")
    assert usable_match([ended], [src["current"], restored], src, "production", "web01",
                        identity=src["instance_uuid"]) == (ended, restored)
    assert usable_match([ended], [src["current"]], src, "production", "web01", identity=src["instance_uuid"]) is None
    stranger = vc_vm("web01", "vm-31", uuid="someone-else")
    assert usable_match([ended], [stranger], src, "production", "web01", identity=src["instance_uuid"]) is None


def test_cleanup_matches_pair_an_unclaimed_test_session_with_the_unmarked_test_vm():
    src = source()
    unmarked = vc_vm("web01_TEST", "vm-20", uuid="t")
    sessions = [active_test_session("s1"), active_test_session("s2"), session("s3", "COMPLETED")]
    assert restore_session_match.cleanup_matches(sessions, [unmarked], src, "web01_TEST") == [(sessions[1], unmarked)]
    assert restore_session_match.cleanup_matches(sessions, [unmarked], src, "web01_TEST", claimed={"s2"}) == [
        (sessions[0], unmarked)]
    assert restore_session_match.cleanup_matches(sessions, [unmarked], src, "web01_TEST", claimed={"s1", "s2"}) == []
    marked = vc_vm("web01_TEST", "vm-20", uuid="t", marker=marker())
    assert restore_session_match.cleanup_matches(sessions, [marked], src, "web01_TEST") == []
