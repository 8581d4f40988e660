# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one redaction (issue 14): every secret, whatever its length, and messages that stay readable."""

from __future__ import annotations

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils._redact import REDACTED, redact, secret_pattern

R = REDACTED


@pytest.mark.parametrize("secret, text, expected", [
    # Four characters or more: wherever it appears, inside a longer word too.
    ("Sup3r-s3cret", "auth Sup3r-s3cret failed", "auth %s failed" % R),
    ("Sup3r-s3cret", "pw=xSup3r-s3cretx", "pw=x%sx" % R),
    ("abcd", "abcdef", "%sef" % R),
    # Shorter: as a token of its own, never inside a word.
    ("ab", "user admin password ab rejected", "user admin password %s rejected" % R),
    ("ab", "pw=ab;", "pw=%s;" % R),
    ("ab", "'ab'", "'%s'" % R),
    ("ab", "user_ab", "user_%s" % R),  # "_" separates tokens
    ("ab", "ab", R),
    ("ab", "the table is about abc", "the table is about abc"),
    ("a", "a bad day: a", "%s bad day: %s" % (R, R)),  # the one-letter word goes, the letters of "bad" and "day" stay
    ("1", "HTTP 401 after 1 attempt", "HTTP 401 after %s attempt" % R),
    ("é", "café é", "café %s" % R),
    ("!!", "done!! and !! again", "done!! and %s again" % R),
])
def test_every_secret_is_redacted_and_the_message_stays_readable(secret, text, expected):
    assert redact(text, [secret]) == expected


def test_several_secrets_in_one_pass_and_the_marker_is_never_redacted_again():
    assert redact("session 0123456789abcdef, password *", ["0123456789abcdef", "*"]) == "session %s, password %s" % (
        R, R)
    assert redact("x", ["*"]) == "x"
    assert redact("a ** b", ["*", "**"]) == "a %s b" % R, "the longer secret first"


def test_nothing_to_redact():
    assert redact(42, [None, ""]) == "42"
    assert secret_pattern([None, ""]) is None
    assert redact("text", []) == "text"


def test_secrets_with_regex_characters():
    assert redact("pw (a+b) and a+b", ["a+b"]) == "pw (%s) and %s" % (R, R)
    assert redact("x.*y and .*", [".*"]) == "x.*y and %s" % R
