# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one redaction: secrets (passwords, session ids) kept out of the messages, logs and errors of the clients.

Considered private: only this collection may import it. Every secret is redacted, whatever its length:

* a secret of ``ANYWHERE_FROM`` characters or more is replaced wherever it appears, inside a longer word too;
* a shorter one (a password such as ``ab``) is replaced where it stands as a token of its own: not touching a letter
  or a digit on either side. Replacing every ``a`` of a message for a one-letter password would leave it unreadable,
  and ``ab`` inside ``table`` tells nothing about the password; ``ab`` alone, or in ``pw=ab;`` or ``'ab'``, would.

All the secrets are replaced in one pass, so that the marker put in for one is never taken for another (a password
``*`` in ``********``).
"""

from __future__ import annotations

import re

REDACTED = "********"
# From this length on, a secret is replaced even inside a longer word.
ANYWHERE_FROM = 4
# Neither side of a short secret may touch a letter or a digit ("_" and punctuation separate tokens).
_SHORT = r"(?<![^\W_])%s(?![^\W_])"


def secret_pattern(secrets):
    """The compiled pattern that finds every one of ``secrets`` (None, empty and non-strings skipped); None if none."""
    texts = sorted({str(secret) for secret in secrets if secret not in (None, "")}, key=lambda text: (-len(text), text))
    if not texts:
        return None
    parts = [re.escape(text) if len(text) >= ANYWHERE_FROM else _SHORT % re.escape(text) for text in texts]
    return re.compile("|".join(parts))


def redact(text, secrets):
    """``text`` (made a string) with each of ``secrets`` replaced by ``REDACTED`` (see the module's rules)."""
    text = str(text)
    pattern = secret_pattern(secrets)
    return pattern.sub(REDACTED, text) if pattern is not None else text
