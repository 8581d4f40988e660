# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one answer to "is this job log entry about this VM?". Pure.

Considered private: only this collection may import it. SPP's job logs name a VM in ``messageParams`` or inside the
message text. A name counts in the text when it stands as a whole word: not inside a longer name (``web01`` is not
in ``web01-old`` or ``app.web01``), though a sentence may end right after it (``restored web01.``). All the names
are matched in one compiled pass per log line, so that a run over thousands of VMs does not compile a pattern per
VM and line.
"""

from __future__ import annotations

import re


class LogMentions:
    """Which of ``names`` a log entry mentions."""

    def __init__(self, names):
        self.names = {str(name) for name in names if name}
        # Longest first: of two names where one starts the other, the longer one wins at a position.
        alternatives = "|".join(re.escape(name) for name in sorted(self.names, key=lambda n: (-len(n), n)))
        self._pattern = re.compile(r"(?<![\w.-])(%s)(?![\w-]|\.\w)" % alternatives) if self.names else None

    def names_in(self, entry):
        """The names that ``entry`` (an SPP log entry: ``message``, ``messageParams``) mentions."""
        found = {str(param) for param in entry.get("messageParams") or []} & self.names
        if self._pattern is not None:
            found.update(self._pattern.findall(entry.get("message") or ""))
        return found

    def mentions(self, entry, name):
        return name in self.names_in(entry)

    def entries_about(self, entries, name):
        return [entry for entry in entries if self.mentions(entry, name)]


def mentions_any(entries, names):
    """Whether any of ``entries`` mentions any of ``names``."""
    matcher = LogMentions(names)
    return any(matcher.names_in(entry) for entry in entries)
