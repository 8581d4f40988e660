# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every route the Cloud Temple client calls is a ``*_PATH`` constant that names its section of
docs/cloudtemple-api.md (``# §7.1``), and that section shows the route and cites a source file of the public record
(``[CODE `...`]`` or ``[DOC `...`]``): issue 15's rule that no route is a guess without saying so."""

from __future__ import annotations

import os
import re

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.cloudtemple import _client, activities, backup, compute

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(
    os.path.abspath(__file__)))))))
DOC = os.path.join(ROOT, "docs", "cloudtemple-api.md")
CONSTANT = re.compile(r"^(?P<name>[A-Z_]+_PATH) = .*?(?:#\s*(?P<sections>§.*))?$", re.M)
CITATION = re.compile(r"\[(?:CODE|DOC) `[^`]+`")
# Prefixes that only other constants use: the routes built on them name their sections.
PREFIXES = {"BACKUP_PATH"}


def _routes():
    for module in (_client, activities, backup, compute):
        with open(module.__file__, encoding="utf-8") as handle:
            for match in CONSTANT.finditer(handle.read()):
                yield module.__name__.rsplit(".", 1)[-1], match.group("name"), match.group("sections"), \
                    getattr(module, match.group("name"))


def _section(number):
    """The text of section ``number`` ("7.1", "6"), its subsections included."""
    with open(DOC, encoding="utf-8") as handle:
        text = handle.read()
    heading = re.search(r"^(#{2,3}) %s[. ].*$" % re.escape(number), text, re.M)
    assert heading, "docs/cloudtemple-api.md has no section %s" % number
    level = len(heading.group(1))
    following = re.compile(r"^#{2,%d} " % level, re.M).search(text, heading.end())
    return text[heading.start():following.start() if following else len(text)]


ROUTES = [route for route in _routes() if route[1] not in PREFIXES]


def test_every_route_constant_is_listed():
    assert {name for _module, name, _sections, _path in ROUTES} >= {
        "TOKEN_PATH", "ACTIVITY_PATH", "POLICIES_PATH", "ASSIGN_VM_PATH", "ASSIGN_DISK_PATH", "RUN_JOB_PATH",
        "SESSIONS_PATH", "BACKUP_VMS_PATH", "VMS_PATH", "POWER_PATH"}


@pytest.mark.parametrize("module, name, sections, path", ROUTES, ids=["%s.%s" % route[:2] for route in ROUTES])
def test_each_route_names_a_section_that_shows_it_and_cites_its_source(module, name, sections, path):
    assert sections, "%s.%s names no section of docs/cloudtemple-api.md (# §N)" % (module, name)
    numbers = re.findall(r"§(\d+(?:\.\d+)*)", sections)
    texts = [_section(number) for number in numbers]
    last_segment = path.rstrip("/").rsplit("/", 1)[-1]
    assert any(last_segment in text for text in texts), "%s (%s) is not shown in §%s" % (name, path, numbers)
    assert any(CITATION.search(text) for text in texts), "§%s cites no source file" % numbers
