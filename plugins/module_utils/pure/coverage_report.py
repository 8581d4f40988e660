# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""Coverage reports a person can read: the filtered report document, and its JSON, CSV and HTML renderings.

Considered private: only this collection may import it. Everything here is pure (no file or network I/O): the
``coverage_report`` module reads and writes the files. The input is the result of ``backup_inventory`` (see
``services.coverage``, flags from ``pure.coverage_model``): ``vms``, ``vcenter_only``, ``spp_only`` and ``summary`` with the compliance keys.
"""

from __future__ import annotations

import base64
import csv
import datetime
import hashlib
import html
import io
import json
import re

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_model
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report_page
from ansible_collections.sovereign.vm_backup.plugins.module_utils._time import iso_time, parse_time

FORMATS = ("json", "csv", "html")
FILE_NAMES = {"json": "coverage.json", "csv": "coverage.csv", "html": "coverage.html"}
# The order backup_inventory lists flags in; the report keeps it everywhere (cards, chart, CSV).
FLAGS = coverage_model.FLAGS
CSV_COLUMNS = ("VM", "moref", "power state", "policies", "disk policies", "held policies", "last backup",
               "last backup policy", "compliant", "flags", "reasons", "known to backup", "folder", "datacenter",
               "cluster", "host")
# A spreadsheet runs a cell that starts with one of these as a formula; such cells get a leading apostrophe. A value
# that starts with an apostrophe gets one too, so that a leading apostrophe in the file is always the guard's: drop
# it and the value is back, whatever it is ("'=1" read back would otherwise be "=1").
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_GUARDED_STARTS = _FORMULA_STARTS + ("'",)
DEFAULT_TITLE = "Backup coverage"


# -- Filters ------------------------------------------------------------------------------------------------------


def iso(moment):
    return None if moment is None else iso_time(int(moment.timestamp() * 1000))


def policies_per_disk(record):
    """``{disk label: [policies]}`` for the disks that have policies of their own (empty when disks were not read)."""
    return {disk.get("label"): sorted(disk.get("policies") or []) for disk in record.get("disks") or []
            if disk.get("policies")}


def all_policies(record):
    """The VM's policies at VM or disk level (``disk_policies`` is there even when the disks were not read)."""
    return set(record.get("policies") or []) | set(record.get("disk_policies") or [])


def _keep(record, policies, since, before):
    if policies and not all_policies(record) & set(policies):
        return False
    last_backup = parse_time(record.get("last_backup"), "last_backup")
    if since is not None and (last_backup is None or last_backup < since):
        return False  # never backed up: not backed up since any date
    if before is not None and last_backup is not None and last_backup >= before:
        return False  # never backed up is kept: it has no backup after the date
    return True


def _check_coverage(coverage):
    if not isinstance(coverage, dict) or not isinstance(coverage.get("vms"), list) \
            or not isinstance(coverage.get("summary"), dict):
        raise InvalidRequest("coverage must be the registered result of sovereign.vm_backup.backup_inventory "
                             "(a dict with vms, vcenter_only, spp_only and summary).")
    records = coverage["vms"] + (coverage.get("vcenter_only") or [])
    if "flags" not in coverage["summary"] or any("flags" not in record for record in records):
        raise InvalidRequest("coverage has no compliance data (flags, reasons, last_backup): it comes from an older "
                             "backup_inventory. Update the collection and register backup_inventory's result again.")


def build_report(coverage, policies=None, backed_up_since=None, backed_up_before=None, now=None):
    """The report document ``{summary, filters, vms}``: the VMs of both lists that pass the filters, sorted by name,
    with the summary recounted over them.

    ``policies`` keeps VMs with one of them at VM or disk level. ``backed_up_since`` keeps VMs whose last good backup
    is at or after the time, so VMs never backed up are dropped; ``backed_up_before`` keeps VMs whose last good
    backup is strictly before it, and VMs never backed up. ``now`` stands in for ``summary.generated_at`` when the
    coverage has none.
    """
    _check_coverage(coverage)
    since = parse_time(backed_up_since, "backed_up_since")
    before = parse_time(backed_up_before, "backed_up_before")
    selected = sorted(policies or [])
    records = coverage["vms"] + (coverage.get("vcenter_only") or [])
    vms = sorted((r for r in records if _keep(r, selected, since, before)),
                 key=lambda r: (r.get("name") or "", r.get("moref") or ""))
    backup_only = [r for r in coverage.get("spp_only") or [] if _keep(r, selected, since, before)]
    filters = {"policies": selected or None, "backed_up_since": iso(since), "backed_up_before": iso(before)}
    return {"summary": summarize(vms, backup_only, coverage["summary"], selected, now), "filters": filters, "vms": vms}


def summarize(vms, backup_only, source, selected_policies=(), now=None):
    """The contract's ``summary`` recounted over the selected VMs (``coverage_model.count_vms``); RPO and job outcomes come
    from ``source``. A flag the inventory did not read (null in ``source``) stays null. With a policy filter,
    ``per_policy`` lists the selected policies only.
    """
    source_per_policy = source.get("per_policy") or {}
    held = {name: bool(info.get("held")) for name, info in source_per_policy.items()}
    unevaluated = [flag for flag, count in (source.get("flags") or {}).items() if count is None]
    summary = coverage_model.count_vms(vms, len(backup_only), held, unevaluated)
    if selected_policies:
        summary["per_policy"] = {name: summary["per_policy"].get(name, {"vms": 0, "held": held.get(name, False)})
                                 for name in sorted(selected_policies)}
    summary.update(
        rpo=source.get("rpo"),
        rpo_seconds=source.get("rpo_seconds"),
        generated_at=source.get("generated_at") or iso(now or datetime.datetime.now(datetime.timezone.utc)),
        jobs=source.get("jobs"),
    )
    return summary


# -- JSON ---------------------------------------------------------------------------------------------------------


def render_json(report):
    return json.dumps(report, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


# -- CSV ----------------------------------------------------------------------------------------------------------


def _cell(value):
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_GUARDED_STARTS) else text


def reason_text(vm):
    reasons = vm.get("reasons") or {}
    return " | ".join("%s: %s" % (flag, reasons[flag]) if reasons.get(flag) else flag for flag in vm.get("flags") or [])


def csv_row(vm):
    disks = ";".join("%s=%s" % (label, ",".join(policies)) for label, policies in sorted(policies_per_disk(vm).items()))
    return [_cell(value) for value in (
        vm.get("name"), vm.get("moref"), vm.get("power_state"), ";".join(vm.get("policies") or []), disks,
        ";".join(vm.get("held_policies") or []), vm.get("last_backup"), vm.get("last_backup_policy"),
        "no" if vm.get("flags") else "yes", ";".join(vm.get("flags") or []), reason_text(vm),
        "yes" if vm.get("known_to_backup") else "no", vm.get("folder"), vm.get("datacenter"), vm.get("cluster"),
        vm.get("host"))]


def render_csv(report):
    """One row per VM under a header row; RFC 4180 quoting, CRLF line ends, as spreadsheets expect."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    for vm in report["vms"]:
        writer.writerow(csv_row(vm))
    return buffer.getvalue()


# -- Chart data ---------------------------------------------------------------------------------------------------


def flag_chart(summary):
    """Bars of the coverage-by-flag chart: ``[{flag, count, share}]`` in flag order; count None when not read."""
    total = summary.get("vms") or 0
    bars = []
    for flag in FLAGS:
        count = (summary.get("flags") or {}).get(flag)
        bars.append({"flag": flag, "count": count,
                     "share": None if count is None or not total else round(count / total, 4)})
    return bars


def job_chart(jobs):
    """Stacked bars of the job outcomes per day, oldest first, and the largest day total (the scale); None when the
    inventory did not collect jobs."""
    if jobs is None:
        return None
    days = []
    for day in jobs.get("per_day") or []:
        counts = {outcome: int(day.get(outcome) or 0) for outcome in coverage_model.OUTCOMES}
        days.append(dict(counts, date=day.get("date"), total=sum(counts.values())))
    return {"days": days, "max": max([day["total"] for day in days] or [0]),
            "last_24h": jobs.get("last_24h"), "last_7d": jobs.get("last_7d")}


def html_rows(vms):
    """What the HTML table needs of each VM (not disks and NICs, which would only weigh the page down)."""
    return [{
        "name": vm.get("name"), "moref": vm.get("moref"), "power_state": vm.get("power_state"),
        "policies": list(vm.get("policies") or []), "disk_policies": policies_per_disk(vm),
        "held_policies": list(vm.get("held_policies") or []), "last_backup": vm.get("last_backup"),
        "last_backup_policy": vm.get("last_backup_policy"), "flags": list(vm.get("flags") or []),
        "reasons": dict(vm.get("reasons") or {}), "known_to_backup": bool(vm.get("known_to_backup")),
        "folder": vm.get("folder"),
    } for vm in vms]


# -- HTML ---------------------------------------------------------------------------------------------------------


def script_json(data):
    """JSON safe inside ``<script type="application/json">``: no ``<``, ``>`` or ``&`` can end the element or open a
    comment, and the line separators JavaScript once choked on are escaped too. JSON.parse reads it back unchanged."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    for char, escaped in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e"), ("\u2028", "\\u2028"),
                          ("\u2029", "\\u2029")):
        text = text.replace(char, escaped)
    return text


def _csp_hash(source):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii")


_DATA_OPEN = '<script type="application/json" id="report-data">'
_DATA_PATTERN = re.compile(re.escape(_DATA_OPEN) + r"(.*?)</script>", re.S)


def html_payload(report, title):
    return {"title": title, "summary": report["summary"], "filters": report["filters"], "vms": html_rows(report["vms"]),
            "charts": {"flags": flag_chart(report["summary"]), "jobs": job_chart(report["summary"].get("jobs"))},
            "generated_at": report["summary"].get("generated_at")}


def render_html(report, title=DEFAULT_TITLE):
    """One self-contained page: inline CSS and script, the data as JSON in the page, nothing fetched.

    The page's Content-Security-Policy allows only this style and this script (by hash) and no network at all, so
    even a VM name that slipped through as markup could neither run nor load anything. The script builds every
    element from the data with textContent.
    """
    title = title or DEFAULT_TITLE
    csp = "default-src 'none'; style-src %s; script-src %s; img-src data:; base-uri 'none'; form-action 'none'" % (
        _csp_hash(coverage_report_page.STYLE), _csp_hash(coverage_report_page.SCRIPT))
    return coverage_report_page.PAGE.format(
        csp=html.escape(csp, quote=False), title=html.escape(title), style=coverage_report_page.STYLE,
        script=coverage_report_page.SCRIPT,
        data_open=_DATA_OPEN, data=script_json(html_payload(report, title)))


def comparable(fmt, text):
    """The content of a rendered file with the report's generation time left out, to tell whether a new rendering
    would change anything. None when the text is not a report of ours (it is then rewritten)."""
    if text is None:
        return None
    if fmt == "csv":
        return text
    try:
        if fmt == "json":
            data = json.loads(text)
            data["summary"]["generated_at"] = None
            return json.dumps(data, sort_keys=True)
        match = _DATA_PATTERN.search(text)
        data = json.loads(match.group(1))
        data["generated_at"] = data["summary"]["generated_at"] = None
        return _DATA_PATTERN.sub(lambda _match: _DATA_OPEN + json.dumps(data, sort_keys=True) + "</script>", text)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


def render(report, fmt, title=DEFAULT_TITLE):
    if fmt == "json":
        return render_json(report)
    if fmt == "csv":
        return render_csv(report)
    return render_html(report, title)
