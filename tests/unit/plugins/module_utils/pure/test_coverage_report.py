# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""coverage_report's pure rendering: filters and recounted summary, CSV quoting, HTML escaping and self-containment,
chart data, and the comparison that makes re-runs report no change. The last tests run the module itself on local
files (it needs no server)."""

from __future__ import annotations

import copy
import csv
import io
import json
import os
import re
import subprocess
import sys

import pytest

from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report
from ansible_collections.sovereign.vm_backup.plugins.module_utils._errors import InvalidRequest

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), *[os.pardir] * 5))
EVIL = 'web</script><script>alert("x")</script>&<!--'


def vm(name, policies=(), disks=None, flags=(), reasons=None, last_backup=None, known=True, held=(), **extra):
    record = {
        "name": name, "moref": "vm-%d" % (abs(hash(name)) % 1000), "instance_uuid": "uuid-" + name,
        "spp_id": "spp-" + name if known else None, "known_to_backup": known, "power_state": "poweredOn",
        "has_snapshots": False, "folder": "/DC0/vm", "datacenter": "DC0", "host": "H0", "cluster": "C0",
        "policies": list(policies), "disks": disks if disks is not None else [], "nics": [],
        "disk_policies": sorted({p for d in disks or [] for p in d["policies"]}),
        "held_policies": list(held), "last_backup": last_backup,
        "last_backup_policy": (list(policies) or [None])[0] if last_backup else None,
        "flags": list(flags), "reasons": reasons or {}, "compliant": not flags,
    }
    record.update(extra)
    return record


def disk(label, policies=()):
    return {"label": label, "key": 2000, "size_bytes": 1 << 30, "mode": "normal", "spp_id": "d-" + label,
            "policies": list(policies)}


def coverage():
    vms = [
        vm("db01", ["Gold"], last_backup="2026-11-22T02:00:00Z"),
        vm("app10", ["Silver"], last_backup="2026-11-19T01:00:00Z", flags=["stale"],
           reasons={"stale": "last good backup 2026-11-19T01:00:00Z is 73 h old, older than the RPO of 24h"}),
        vm("app2", [], disks=[disk("Hard disk 1"), disk("Hard disk 2", ["Bronze"])], flags=["violation"],
           reasons={"violation": "powered on without a VM-level policy"}),
        vm(EVIL, ["Gold", "Held"], held=["Held"], last_backup="2026-11-21T23:00:00Z",
           flags=["partially_covered"], reasons={"partially_covered": 'disk "a, b" is independent; not captured'}),
        vm("=cmd|' /C calc'!A0", [], flags=["unprotected", "violation"],
           reasons={"unprotected": "no policy", "violation": "powered on, no policy"}),
    ]
    vcenter_only = [vm("new01", [], known=False, flags=["unknown_to_backup"],
                       reasons={"unknown_to_backup": "the backup server has not inventoried it"})]
    per_day = [{"date": "2026-11-%02d" % day, "successful": day % 3, "failed": 1 if day == 20 else 0,
                "partial": 0, "running": 1 if day == 22 else 0} for day in range(16, 23)]
    summary = {
        "vms": 6, "known_to_backup": 5, "unknown_to_backup": 1, "backup_only": 1, "compliant": 1, "non_compliant": 5,
        "with_vm_policy": 3, "with_disk_policy_only": 1, "without_policy": 2,
        "flags": {"unknown_to_backup": 1, "unprotected": 1, "held_only": 0, "stale": 1, "blocked_first_backup": 0,
                  "partially_covered": 1, "violation": 2},
        "per_policy": {"Gold": {"vms": 2, "held": False}, "Silver": {"vms": 1, "held": False},
                       "Bronze": {"vms": 1, "held": False}, "Held": {"vms": 1, "held": True},
                       "Platinum": {"vms": 0, "held": False}},
        "last_backup_sources": {},
        "rpo": "24h", "rpo_seconds": 86400, "generated_at": "2026-11-22T02:11:10Z",
        "jobs": {"last_24h": {"successful": 2, "failed": 0, "partial": 0, "running": 1, "total": 3},
                 "last_7d": {"successful": 8, "failed": 1, "partial": 0, "running": 1, "total": 10},
                 "per_day": per_day},
    }
    spp_only = [{"name": "gone01", "spp_id": "9", "policies": ["Gold"]}]
    return {"vms": vms, "vcenter_only": vcenter_only, "spp_only": spp_only, "summary": summary, "rescanned": False,
            "changed": False}


def names(report):
    return [row["name"] for row in report["vms"]]


# -- Filters and summary --------------------------------------------------------------------------------------------


def test_unfiltered_report_has_every_vm_sorted_and_the_inventory_summary():
    data = coverage()
    report = coverage_report.build_report(data)
    assert names(report) == sorted(v["name"] for v in data["vms"] + data["vcenter_only"])
    assert report["summary"] == data["summary"], "recounting every VM gives backup_inventory's own summary"
    assert report["filters"] == {"policies": None, "backed_up_since": None, "backed_up_before": None}


def test_policy_filter_matches_vm_and_disk_level_and_recounts():
    report = coverage_report.build_report(coverage(), policies=["Bronze", "Gold"])
    assert names(report) == sorted(["app2", "db01", EVIL]), "app2 has Bronze on a disk only"
    summary = report["summary"]
    assert summary["vms"] == 3 and summary["compliant"] == 1 and summary["non_compliant"] == 2
    assert summary["per_policy"] == {"Bronze": {"vms": 1, "held": False}, "Gold": {"vms": 2, "held": False}}
    assert summary["flags"]["violation"] == 1 and summary["flags"]["stale"] == 0
    assert summary["with_disk_policy_only"] == 1 and summary["without_policy"] == 0
    assert summary["backup_only"] == 1, "gone01 has Gold"
    assert summary["jobs"] == coverage()["summary"]["jobs"], "job outcomes are server-wide, never filtered"


def test_held_policy_counts_for_the_policy_filter():
    assert names(coverage_report.build_report(coverage(), policies=["Held"])) == [EVIL]


def test_since_drops_never_backed_up_and_before_keeps_them():
    since = coverage_report.build_report(coverage(), backed_up_since="2026-11-21")
    assert names(since) == sorted(["db01", EVIL])
    before = coverage_report.build_report(coverage(), backed_up_before="2026-11-21T23:00:00+00:00")
    assert names(before) == sorted(["app10", "app2", "=cmd|' /C calc'!A0", "new01"]), \
        "strictly before; never backed up kept"
    assert before["filters"]["backed_up_before"] == "2026-11-21T23:00:00Z"
    window = coverage_report.build_report(coverage(), backed_up_since="2026-11-19T00:00:00Z",
                                          backed_up_before="2026-11-22T01:00:00+01:00")
    assert names(window) == sorted(["app10", EVIL])


def test_times_are_utc_and_bad_times_are_refused():
    assert coverage_report.iso(coverage_report.parse_time("2026-11-22T03:00:00+02:00", "x")) == "2026-11-22T01:00:00Z"
    assert coverage_report.iso(coverage_report.parse_time("2026-11-22 03:00", "x")) == "2026-11-22T03:00:00Z"
    with pytest.raises(InvalidRequest, match="backed_up_since: 'yesterday' is neither a date"):
        coverage_report.build_report(coverage(), backed_up_since="yesterday")


def test_flag_not_read_stays_null():
    data = coverage()
    data["summary"]["flags"]["partially_covered"] = None
    report = coverage_report.build_report(data, policies=["Gold"])
    assert report["summary"]["flags"]["partially_covered"] is None
    assert coverage_report.flag_chart(report["summary"])[FLAG_INDEX["partially_covered"]] == {
        "flag": "partially_covered", "count": None, "share": None}


FLAG_INDEX = {flag: index for index, flag in enumerate(coverage_report.FLAGS)}


def test_coverage_without_compliance_keys_is_refused_clearly():
    data = coverage()
    for record in data["vms"]:
        del record["flags"]
    with pytest.raises(InvalidRequest, match="no compliance data"):
        coverage_report.build_report(data)
    with pytest.raises(InvalidRequest, match="registered result of sovereign.vm_backup.backup_inventory"):
        coverage_report.build_report({"msg": "failed"})


# -- CSV ------------------------------------------------------------------------------------------------------------


def test_csv_quotes_and_joins_like_a_backup_report():
    text = coverage_report.render_csv(coverage_report.build_report(coverage()))
    assert text.endswith("\r\n")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == list(coverage_report.CSV_COLUMNS)
    by_name = {row["VM"]: row for row in rows}
    assert len(rows) == 6
    app2 = by_name["app2"]
    assert app2["policies"] == "" and app2["disk policies"] == "Hard disk 2=Bronze" and app2["compliant"] == "no"
    assert app2["reasons"] == "violation: powered on without a VM-level policy"
    evil = by_name[EVIL]
    assert evil["policies"] == "Gold;Held" and evil["held policies"] == "Held"
    assert evil["reasons"] == 'partially_covered: disk "a, b" is independent; not captured', "commas and quotes survive"
    assert '"partially_covered: disk ""a, b"" is independent; not captured"' in text, "RFC 4180 quoting"
    formula = by_name["'=cmd|' /C calc'!A0"]
    assert formula["flags"] == "unprotected;violation"
    assert formula["reasons"] == "unprotected: no policy | violation: powered on, no policy"
    assert by_name["new01"]["known to backup"] == "no" and by_name["db01"]["compliant"] == "yes"
    assert by_name["db01"]["last backup"] == "2026-11-22T02:00:00Z" and by_name["db01"]["last backup policy"] == "Gold"


# -- HTML -----------------------------------------------------------------------------------------------------------


def embedded(page):
    return json.loads(re.search(r'<script type="application/json" id="report-data">(.*?)</script>', page, re.S).group(1))


def test_html_embeds_data_that_cannot_break_out_of_its_script_element():
    page = coverage_report.render_html(coverage_report.build_report(coverage()), title='Report <b>"&"</b>')
    assert page.count("</script>") == 2, "only the data and the code elements end a script"
    assert "<script>alert" not in page and "<!--" not in page.split("<style>", maxsplit=1)[0] + page.split("</style>")[1]
    data = embedded(page)
    assert EVIL in [row["name"] for row in data["vms"]], "JSON.parse gives the name back unchanged"
    assert "<title>Report &lt;b&gt;&quot;&amp;&quot;&lt;/b&gt;</title>" in page
    assert data["title"] == 'Report <b>"&"</b>'


def test_html_line_separators_are_escaped():
    data = coverage()
    data["vms"][0]["name"] = "a\u2028b"
    page = coverage_report.render_html(coverage_report.build_report(data))
    assert "\u2028" not in page and "a\u2028b" in [row["name"] for row in embedded(page)["vms"]]


def test_html_is_self_contained_and_locked_down():
    page = coverage_report.render_html(coverage_report.build_report(coverage()))
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page, re.I), "no external resource"
    assert "@import" not in page and "url(" not in page
    assert not re.search(r"https?://(?!www\.w3\.org/2000/svg)", page), "the SVG namespace is the only URL"
    csp = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', page).group(1)
    assert "default-src 'none'" in csp
    script = re.search(r"<script>(.*?)</script>", page, re.S).group(1)
    assert coverage_report._csp_hash(script) in csp, "the inline script is allowed by its hash, nothing else is"
    assert "innerHTML" not in script and "insertAdjacentHTML" not in script and "document.write" not in script


def test_html_rows_leave_disks_and_nics_out():
    rows = coverage_report.html_rows(coverage_report.build_report(coverage())["vms"])
    app2 = [row for row in rows if row["name"] == "app2"][0]
    assert app2["disk_policies"] == {"Hard disk 2": ["Bronze"]} and "disks" not in app2 and "nics" not in app2


def test_job_chart_stacks_each_day_and_scales_on_the_busiest():
    chart = coverage_report.job_chart(coverage()["summary"]["jobs"])
    assert [day["date"] for day in chart["days"]] == ["2026-11-%02d" % d for d in range(16, 23)]
    by_date = {day["date"]: day for day in chart["days"]}
    assert by_date["2026-11-20"] == {"date": "2026-11-20", "successful": 2, "failed": 1, "partial": 0, "running": 0,
                                     "total": 3}
    assert chart["max"] == max(day["total"] for day in chart["days"]) == 3
    assert chart["last_24h"]["running"] == 1
    assert coverage_report.job_chart(None) is None
    assert coverage_report.job_chart({"per_day": [], "last_24h": None, "last_7d": None})["max"] == 0


def test_page_says_when_jobs_were_not_collected():
    data = coverage()
    data["summary"]["jobs"] = None
    page = coverage_report.render_html(coverage_report.build_report(data))
    assert embedded(page)["charts"]["jobs"] is None and "Job outcomes not collected." in page


def test_flag_chart_shares():
    bars = coverage_report.flag_chart(coverage()["summary"])
    assert [item["flag"] for item in bars] == list(coverage_report.FLAGS)
    assert bars[FLAG_INDEX["violation"]] == {"flag": "violation", "count": 2, "share": round(2 / 6, 4)}


# -- Idempotence ----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", coverage_report.FORMATS)
def test_comparison_ignores_the_generation_time_only(fmt):
    data = coverage()
    first = coverage_report.render(coverage_report.build_report(data), fmt)
    later = copy.deepcopy(data)
    later["summary"]["generated_at"] = "2026-11-22T09:00:00Z"
    second = coverage_report.render(coverage_report.build_report(later), fmt)
    assert coverage_report.comparable(fmt, first) == coverage_report.comparable(fmt, second)
    later["vms"][0]["last_backup"] = "2026-11-22T08:00:00Z"
    third = coverage_report.render(coverage_report.build_report(later), fmt)
    assert coverage_report.comparable(fmt, first) != coverage_report.comparable(fmt, third)
    assert coverage_report.comparable(fmt, "not a report") in (None, "not a report")
    if fmt != "csv":
        assert coverage_report.comparable(fmt, "not a report") is None


def test_title_change_changes_the_page():
    report = coverage_report.build_report(coverage())
    assert coverage_report.comparable("html", coverage_report.render_html(report, "A")) != \
        coverage_report.comparable("html", coverage_report.render_html(report, "B"))


# -- The module on local files ----------------------------------------------------------------------------------------


def run_module(tmp_path, args, check=False, diff=False):
    args = dict(args, _ansible_check_mode=check, _ansible_diff=diff)
    args_file = tmp_path / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    module = os.path.join(ROOT, "plugins", "modules", "coverage_report.py")
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, ".build", "collections"))
    completed = subprocess.run([sys.executable, module, str(args_file)], capture_output=True, text=True, env=env,
                               check=False, timeout=120)
    return json.loads(completed.stdout)


def test_module_converges_in_four_runs_and_ignores_the_generation_time(tmp_path):
    dest = tmp_path / "out"
    args = {"coverage": coverage(), "dest": str(dest)}
    first = run_module(tmp_path, args, check=True, diff=True)
    assert not os.path.exists(dest), "check mode writes nothing"
    results = [first] + [run_module(tmp_path, args, check=check, diff=True) for check in (False, True, False)]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert sorted(results[0]["changed_files"]) == sorted(str(dest / name) for name in coverage_report.FILE_NAMES.values())
    assert "coverage.html: new" in results[0]["diff"]["after"] and "absent" in results[0]["diff"]["before"]
    assert results[3]["changed_files"] == [] and results[3]["files"]["html"] == str(dest / "coverage.html")
    assert sorted(os.listdir(dest)) == ["coverage.csv", "coverage.html", "coverage.json"], "no temporary file left"

    later = coverage()
    later["summary"]["generated_at"] = "2026-11-23T00:00:00Z"
    assert run_module(tmp_path, dict(args, coverage=later))["changed"] is False
    stored = json.loads((dest / "coverage.json").read_text())
    assert stored["summary"]["generated_at"] == "2026-11-22T02:11:10Z", "an unchanged file is not rewritten"

    later["vms"][1]["flags"] = []
    changed = run_module(tmp_path, dict(args, coverage=later, formats=["json", "csv"]), check=True, diff=True)
    assert changed["changed"] and sorted(changed["changed_files"]) == sorted(
        [str(dest / "coverage.json"), str(dest / "coverage.csv")])
    assert "coverage.json: rewritten" in changed["diff"]["after"]
    assert json.loads((dest / "coverage.json").read_text())["summary"]["compliant"] == 1, "check mode wrote nothing"


def test_module_fails_cleanly_on_bad_input(tmp_path):
    result = run_module(tmp_path, {"coverage": {"vms": []}, "dest": str(tmp_path)})
    assert result["failed"] and "registered result of sovereign.vm_backup.backup_inventory" in result["msg"]
    result = run_module(tmp_path, {"coverage": coverage(), "dest": str(tmp_path), "backed_up_before": "soon"})
    assert result["failed"] and "backed_up_before: 'soon'" in result["msg"]
