# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The ranges of numeric options and the shapes of map options: one check, before any call. Pure.

Considered private: only this collection may import it. Ansible's argument spec checks types (an ``int`` is a whole
number, a ``dict`` is a mapping) but neither ranges (a timeout of 0, a retention of -1 days) nor what a free-form
dict holds (a number where a network name belongs). Every module declares the range of each of its numeric options
(``_module.connected_module(ranges=...)``, ``_connection.CONNECTION_RANGES`` for the connection options), and the
pure request stages use the same functions, so the rule is written once and the message is the same everywhere.
``check_options`` raises one ``InvalidRequest`` that lists every bad value, before any server is called.
"""

from __future__ import annotations

from ansible_collections.sovereign.vm_backup.plugins.module_utils import _time
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

# Seconds a task may wait in all (a restore, a backup, a rescan, a power operation): at least 1, at most a week.
WAIT_SECONDS = (1, 7 * 24 * 3600)
# Seconds for one connection or one answer of a server.
ANSWER_SECONDS = (1, 3600)
# Seconds between two reads of something running.
POLL_SECONDS = (1, 3600)
TCP_PORT = (1, 65535)


def range_text(low, high):
    """``from 1 to 65535``, ``1 or more`` or ``65535 or less``: how every message and description says a range."""
    if low is not None and high is not None:
        return "from %s to %s" % (low, high)
    if low is not None:
        return "%s or more" % low
    return "%s or less" % high


def _kind(value):
    return {bool: "a boolean", str: "a string", int: "an int", float: "a decimal number", list: "a list",
            dict: "a dict", type(None): "null"}.get(type(value), "a %s" % type(value).__name__)


def range_problem(option, value, low=None, high=None):
    """The sentence that says why ``value`` of ``option`` is outside ``[low, high]`` (None: no bound); None when it
    is inside, or unset (None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        # Ansible's int type lets a boolean through (True is 1): a timeout of "yes" is a mistake, not one second.
        return "%s must be a whole number %s, got %s (%r)" % (option, range_text(low, high), _kind(value), value)
    if (low is not None and value < low) or (high is not None and value > high):
        return "%s must be %s, got %s" % (option, range_text(low, high), value)
    return None


def _values(params, path):
    """``(option name, value)`` at a dotted ``path`` of ``params`` (``retention.days``); ``path[]`` yields each element
    of a list (``schedule.monthdays[]``). A missing or null parent yields nothing."""
    each = path.endswith("[]")
    keys = (path[:-2] if each else path).split(".")
    value = params
    for key in keys:
        if not isinstance(value, dict):
            return []
        value = value.get(key)
    name = ".".join(keys)
    if not each:
        return [(name, value)]
    return [("%s[%d]" % (name, index), item) for index, item in enumerate(value or [])]


def range_problems(params, ranges):
    """Every ``range_problem`` of ``params`` for ``ranges`` (``{path: (low, high)}``), in the order of ``ranges``."""
    problems = []
    for path, (low, high) in ranges.items():
        for name, value in _values(params, path):
            problem = range_problem(name, value, low, high)
            if problem:
                problems.append(problem)
    return problems


def string_map_problems(option, value, what="name"):
    """Why the dict option ``option`` is not a map of non-empty strings to non-empty strings: one sentence per bad
    entry (``what`` says what a value names). ``[]`` when it is one, or unset."""
    if value is None:
        return []
    if not isinstance(value, dict):
        return ["%s must be a dict of %s to %s, got %s" % (option, what, what, _kind(value))]
    problems = []
    for key, item in value.items():
        if not isinstance(key, str) or not key.strip():
            problems.append("%s: the key %r (%s) must be a %s (a non-empty string)" % (option, key, _kind(key), what))
        if not isinstance(item, str) or not item.strip():
            problems.append("%s: the value of %r must be a %s (a non-empty string), got %s (%r)"
                            % (option, key, what, _kind(item), item))
    return problems


def entry_problems(option, items, fields):
    """Why the list of dicts ``option`` does not fit ``fields`` (``{key: {"required": bool, "choices": (...)}}``;
    a key is a non-empty string when set, one of ``choices`` when given); other keys are allowed. One sentence per
    bad entry."""
    problems = []
    for index, item in enumerate(items or []):
        where = "%s[%d]" % (option, index)
        if not isinstance(item, dict):
            problems.append("%s must be a dict, got %s (%r)" % (where, _kind(item), item))
            continue
        for key, rule in fields.items():
            value = item.get(key)
            if value is None:
                if rule.get("required"):
                    problems.append("%s has no %s" % (where, key))
            elif rule.get("choices") and value not in rule["choices"]:
                problems.append("%s.%s must be one of %s, got %r" % (where, key, ", ".join(rule["choices"]), value))
            elif not rule.get("choices") and (not isinstance(value, str) or not value.strip()):
                problems.append("%s.%s must be a non-empty string, got %s (%r)" % (where, key, _kind(value), value))
    return problems


def text_problems(params, texts):
    """Why each option of ``texts`` (``{option: what it names}``) is not a non-empty string. Ansible's ``required``
    lets an explicit null through, and a ``str`` option takes ``""``: neither names anything."""
    problems = []
    for option, what in texts.items():
        value = params.get(option)
        if not isinstance(value, str) or not value.strip():
            problems.append("%s must be %s (a non-empty string), got %s (%r)" % (option, what, _kind(value), value))
    return problems


def duration_problems(params, options):
    """Why each of the duration ``options`` (``24h``, ``1h30m``; unset is fine) is not one (``_time.parse_duration``)."""
    problems = []
    for option in options:
        if params.get(option) not in (None, ""):
            try:
                _time.parse_duration(params[option], option)
            except InvalidRequest as error:
                problems.append(error.message)
    return problems


def option_problems(params, ranges=None, string_maps=None, entries=None, durations=(), texts=None):
    """Every problem of ``params``: ``texts`` (``{option: what it names}``, ``text_problems``), ``ranges``
    (``range_problems``), ``string_maps`` (``{option: what a value names}``, ``string_map_problems``), ``entries``
    (``{option: fields}``, ``entry_problems``) and ``durations`` (``duration_problems``)."""
    problems = text_problems(params, texts or {})
    problems.extend(range_problems(params, ranges or {}))
    problems.extend(duration_problems(params, durations))
    for option, what in (string_maps or {}).items():
        problems.extend(string_map_problems(option, params.get(option), what))
    for option, fields in (entries or {}).items():
        problems.extend(entry_problems(option, params.get(option), fields))
    return problems


def check_options(params, ranges=None, string_maps=None, entries=None, durations=(), texts=None):
    """Raise ``InvalidRequest`` listing every ``option_problems`` of ``params`` (details: ``problems``)."""
    problems = option_problems(params, ranges, string_maps, entries, durations, texts)
    if problems:
        raise InvalidRequest("invalid option value(s): %s; nothing was changed" % "; ".join(problems),
                             problems=problems)
