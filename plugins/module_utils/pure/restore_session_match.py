# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Which of the backup server's restore job sessions belong to this restore: the one to follow instead of posting
a second restore, and the test restores to clean up. Pure.

Considered private: only this collection may import it. A session names the VMs it restored in its
``postRestoreInfo`` entries once it has some; until then only its logs can name the source VM
(``log_mentions``). ``services/restore_sessions.py`` lists the sessions and reads the logs.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import mentions_any
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.restore_markers import expected_name
from ansible_collections.sovereign.vm_backup.plugins.module_utils.spp import answers as spp_answers


def classify_sessions(sessions, source, point_id, api_mode, logs_of=None, target_name=None):
    """Sort restore sessions for this source, point and mode into ``(matches, undecided)``. Pure with ``logs_of``.

    ``matches`` are ``(session, entry)`` pairs: ``entry`` is the session's ``postRestoreInfo`` entry for this
    restore, or None for a running session whose logs name the source VM (it may be restoring it right now).
    ``undecided`` are running sessions that say nothing yet (no entry, no log line). ``logs_of(session)`` returns a
    session's log entries; without it, running sessions without entries are undecided. ``target_name`` keeps the
    entries that restored under that name (see ``expected_name``).
    """
    matches, undecided = [], []
    names = {r.get("name") for r in source["records"]}
    for session in sessions:
        entry = spp_answers.find_entry(session, source["ids"], point_id, api_mode)
        if entry is not None and target_name is not None and entry.get("name") != expected_name(
                spp_answers.entry_state(entry), target_name, source["name"]):
            continue
        live = spp_answers.session_status(session) in spp_answers.ACTIVE_STATUSES
        if entry is not None:
            matches.append((session, entry))
        elif live and not spp_answers.restore_entries(session):
            logs = logs_of(session) if logs_of is not None else []
            if mentions_any(logs, names):
                matches.append((session, None))
            elif not logs:
                undecided.append(session)
    return matches, undecided


def usable_match(matches, vcenter_by_moref, mode):
    """The session to follow instead of posting a restore, or None.

    A running session is followed. A settled one is adopted when the VM it restored is still in vCenter and still
    in the restore's lifecycle (a test restore whose session is still ``RESOURCE ACTIVE``, or a later state).
    """
    for session, entry in reversed(matches):  # newest first
        status = spp_answers.session_status(session)
        if status in spp_answers.ACTIVE_STATUSES:
            return session, entry
        if entry is None or spp_answers.entry_state(entry) == "absent":
            continue
        if entry.get("moref") not in vcenter_by_moref:
            continue
        if mode == "test" and spp_answers.entry_state(entry) == "restored" and status != spp_answers.RESOURCE_ACTIVE:
            continue
        if mode != "test" and status not in spp_answers.SUCCESS_STATUSES:
            continue
        return session, entry
    return None


def cleanup_candidates(sessions, source, point_id=None):
    """``(session, entry)`` of every test restore of the source (of ``point_id`` when given) in ``sessions``: what
    ``plan_cleanup`` may remove."""
    matches = []
    for session in sessions:
        for entry in spp_answers.restore_entries(session):
            if str(entry.get("sourceVmId")) in source["ids"] and (point_id is None or str(entry.get("versionId")) ==
                                                                  point_id) and entry.get("mode") in (None, "test"):
                matches.append((session, entry))
    return matches
