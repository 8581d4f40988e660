# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The one place for times: durations written by users (``24h``, ``1h30m``), the ISO times and dates they write,
and the ISO times the modules return. Pure.

Considered private: only this collection may import it.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

DURATION_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(text, option="duration"):
    """Seconds in a duration such as ``30m``, ``4h``, ``1d``, ``2w`` or ``1h30m`` (units s, m, h, d, w).

    ``option`` names the task option in the error message.
    """
    value = re.sub(r"\s+", "", str(text if text is not None else "")).lower()
    parts = re.findall(r"(\d+)([smhdw])", value)
    if not value or "".join(number + unit for number, unit in parts) != value:
        raise InvalidRequest("%s '%s' is not a duration such as 30m, 4h, 1d or 1h30m (units: s, m, h, d, w)"
                             % (option, text))
    seconds = sum(int(number) * DURATION_UNITS[unit] for number, unit in parts)
    if seconds <= 0:
        raise InvalidRequest("%s must be longer than 0, got '%s'" % (option, text))
    return seconds


def iso_time(epoch_ms, milliseconds=False):
    """``2026-01-05T21:00:00Z`` (or ``...21:00:00.000Z``) for epoch milliseconds; None for None."""
    if epoch_ms is None:
        return None
    moment = datetime.datetime.fromtimestamp(int(epoch_ms) / 1000.0, tz=datetime.timezone.utc)
    if milliseconds:
        return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_time(value, option):
    """A date (``2026-11-20``, midnight UTC) or an ISO 8601 time (``2026-11-20T08:00:00Z``; no zone means UTC) as an
    aware UTC datetime; None and "" stay None. ``option`` names the task option in the error message."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        moment = datetime.datetime.fromisoformat(text)
    except ValueError:
        raise InvalidRequest("%s: %r is neither a date (2026-11-20) nor an ISO 8601 time (2026-11-20T08:00:00Z)."
                             % (option, value)) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.astimezone(datetime.timezone.utc)


def epoch_ms(value, option):
    """Epoch milliseconds from an integer (already epoch ms, as SPP writes times), a string of digits, a date or an
    ISO 8601 time (see ``parse_time``). ``option`` names the task option in the error message."""
    if isinstance(value, bool):
        raise InvalidRequest("%s must be a time, got %r" % (option, value))
    if isinstance(value, (int, float)):
        return int(value)
    if str(value).strip().isdigit():
        return int(str(value).strip())
    try:
        moment = parse_time(value, option)
    except InvalidRequest:
        raise InvalidRequest("%s must be an ISO 8601 time such as 2026-01-31T22:00:00Z, a date, or epoch "
                             "milliseconds; got %r" % (option, value)) from None
    if moment is None:
        raise InvalidRequest("%s must be a time, got %r" % (option, value))
    return int(moment.timestamp() * 1000)
