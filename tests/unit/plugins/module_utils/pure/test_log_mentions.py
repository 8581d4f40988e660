# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one log-mention matcher."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure.log_mentions import LogMentions, mentions_any


def entry(message, params=None):
    return {"message": message, "messageParams": params or []}


@pytest.mark.parametrize("message, expected", [
    ("Snapshot of web01 failed", {"web01"}),
    ("restored web01.", {"web01"}),
    ("VM web01-old skipped", {"web01-old"}),
    ("host app.web01 is slow", set()),
    ("web01.example.com answered", set()),
    ("(web01) and [db]", {"web01", "db"}),
    ("nothing here", set()),
])
def test_names_stand_as_whole_words(message, expected):
    assert LogMentions(["web01", "web01-old", "db"]).names_in(entry(message)) == expected


def test_message_params_count_exactly():
    matcher = LogMentions(["web01", "db"])
    assert matcher.names_in(entry("Disk of {0} skipped", ["db"])) == {"db"}
    assert matcher.mentions(entry("", ["web01"]), "web01")


def test_names_with_spaces_quotes_and_regex_characters():
    names = ['web "prod"', "a+b (1)", "日本-db", "x.*"]
    matcher = LogMentions(names)
    assert matcher.names_in(entry('VM web "prod" and a+b (1) and 日本-db failed')) == set(names[:3])
    assert matcher.names_in(entry("xyz")) == set()


def test_one_pass_for_many_names():
    names = ["vm-%05d" % index for index in range(5000)]
    matcher = LogMentions(names)
    assert matcher.names_in(entry("vm-04999 and vm-00001 done")) == {"vm-04999", "vm-00001"}
    assert mentions_any([entry("no"), entry("vm-00007 ok")], names)
    assert not mentions_any([entry("vm-00007 ok")], [])
