# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Helpers that several integration test modules share (test modules do not import each other for them)."""

from __future__ import annotations

import re


def plain(value):
    """JSON of ``ansible-inventory --list`` without the markers of unsafe strings that ansible-core writes (host names
    and values)."""
    if isinstance(value, dict):
        if set(value) == {"__ansible_unsafe"}:
            return value["__ansible_unsafe"]
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list):
        return [plain(item) for item in value]
    return value


def recap(output, host="localhost"):
    """The PLAY RECAP counts of ``host`` in an ansible-playbook output: ``{"ok": 4, "changed": 1, "failed": 0 ...}``."""
    line = re.search(r"^%s\s*:(.*)$" % re.escape(host), output.split("PLAY RECAP")[-1], re.M)
    assert line, "no PLAY RECAP line for %s in:\n%s" % (host, output[-3000:])
    return {key: int(value) for key, value in re.findall(r"(\w+)=(\d+)", line.group(1))}
