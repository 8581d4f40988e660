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


# -- one pass per line, whatever the number of names (issue 14) ----------------------------------------------------


def _reference(names, message):
    """The rule as one alternation regex (the matcher before issue 14): right, but it tries every name at every place."""
    import re  # pylint: disable=import-outside-toplevel

    alternatives = "|".join(re.escape(name) for name in sorted(set(names), key=lambda n: (-len(n), n)))
    return set(re.findall(r"(?<![\w.-])(%s)(?![\w-]|\.\w)" % alternatives, message)) if names else set()


def test_the_token_scan_finds_what_the_alternation_found():
    import random  # pylint: disable=import-outside-toplevel

    rng = random.Random(14)
    alphabet = "ab-_. ()\"'日é<>{}%|=1"
    for _case in range(400):
        names = ["".join(rng.choice(alphabet) for _char in range(rng.randint(1, 6))) for _name in range(rng.randint(1, 6))]
        pieces = [rng.choice(names + ["x", " ", ".", "-", "a", "(", "web"]) for _piece in range(rng.randint(1, 10))]
        message = "".join(pieces)
        assert LogMentions(names).names_in(entry(message)) == _reference(names, message), (names, message)


@pytest.mark.parametrize("message, expected", [
    ("VM web01 old failed", {"web01 old"}),  # the longer name wins where both start
    ("VM web01 and web01 old", {"web01", "web01 old"}),
    ("VM  web (1) done", {" web (1)"}),  # a name may start with a space or a bracket
    ("<b>x</b> failed", {"<b>x</b>"}),
    ("{{ 7*7 }} failed", {"{{ 7*7 }}"}),
])
def test_names_that_start_or_contain_other_characters(message, expected):
    names = ["web01", "web01 old", " web (1)", "<b>x</b>", "{{ 7*7 }}"]
    assert LogMentions(names).names_in(entry(message)) == expected


def test_fifty_thousand_names_and_thousands_of_lines_take_a_moment():
    """With an alternation of every name this took minutes (every name tried at every place of every line)."""
    import time  # pylint: disable=import-outside-toplevel

    names = ["srv %s-%05d" % (("web", "db", "app")[index % 3], index) for index in range(50000)]
    lines = [entry("Backup of virtual machine %s failed: snapshot of disk 1 timed out" % names[index])
             for index in range(0, 50000, 10)]
    started = time.monotonic()
    matcher = LogMentions(names)
    found = [matcher.names_in(line) for line in lines]
    assert time.monotonic() - started < 20  # about a second on one core
    assert found[7] == {names[70]} and sum(map(len, found)) == len(lines)
