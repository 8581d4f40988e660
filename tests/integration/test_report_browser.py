# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backup_report role against the lab, then its HTML page in headless Chromium: the numbers shown are those of
coverage.json, a known non-compliant VM shows its flags and reasons, a VM name full of markup stays text, the table
sorts both ways, and the page makes no request. A screenshot goes to tests/output/browser/coverage.png."""

from __future__ import annotations

import json
import os

import pytest

import vcenter
from browser import chromium
from helpers import poll
from ansible_collections.sovereign.vm_backup.plugins.module_utils.pure import coverage_report

pytestmark = pytest.mark.integration
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCREENSHOT = os.path.join(ROOT, "tests", "output", "browser", "coverage.png")
PROTECTED, UNPROTECTED = "DC0_H0_VM0", "DC0_C0_RP0_VM0"
# vcsim cannot take a "/" in a VM name, so the </script> break-out is checked on a rendered page below.
MARKUP_NAME = 'rpt<img src=x onerror="window.pwned=1">&amp;<!--'
BREAKOUT_NAME = '</script><script>window.pwned=1</script><!--'
FLAG_LABELS = {"unknown_to_backup": "Unknown to backup", "unprotected": "Unprotected", "violation": "Violation",
               "held_only": "Held only", "stale": "Stale"}
PLAYBOOK = """---
- name: Backup report
  hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - name: Run the role
      ansible.builtin.include_role:
        name: sovereign.vm_backup.backup_report
      vars:
        backup_report_dest: "{{ report_dest }}"
        backup_report_title: Backup coverage - lab
        backup_report_rpo: 24h
    - name: Save the results
      save_result:
        content: "{{ {'report': backup_report_result, 'inventory': backup_report_inventory} | to_json }}"
        dest: "{{ results_file }}"
      check_mode: false
"""


def run_role(lab, dest, check=False):
    playbook = os.path.join(os.path.dirname(dest), "report.yml")
    with open(playbook, "w", encoding="utf-8") as handle:
        handle.write(PLAYBOOK)
    _rc, output, results = lab.playbook(os.path.abspath(playbook), {"report_dest": dest}, check=check)
    assert results is not None, output[-3000:]
    assert "Coverage report: %s" % os.path.join(dest, "coverage.html") in output, "the role prints the page's path"
    return results


def wait_until_no_job_runs(lab, timeout=60):
    """A session may still be closing when vm_backup_run returns; the four runs need data that no longer moves."""
    poll(lambda: not [s for s in lab.spp.sessions() if s.get("status") in ("PENDING", "RUNNING")], timeout,
         "a backup job session still runs")


def lookup(summary, key):
    value = summary
    for part in key.split("."):
        value = value[part]
    return value


def test_report_page_in_a_browser(fresh_lab, tmp_path):
    fresh_lab.module("vm_backup_policy", {"vm": PROTECTED, "policies": ["Gold"]})
    fresh_lab.module("vm_backup_run", {"vms": [PROTECTED], "timeout": 300})
    wait_until_no_job_runs(fresh_lab)
    with fresh_lab.vcenter() as vsphere:
        assert str(vcenter.find_vm(vsphere, UNPROTECTED).runtime.powerState) == "poweredOn"
        vcenter.clone_vm(vsphere, PROTECTED, MARKUP_NAME, power_on=False)
    try:
        dest = str(tmp_path / "report")
        results = [run_role(fresh_lab, dest, check=check) for check in (True, False, True, False)]
        assert [r["report"]["changed"] for r in results] == [True, True, False, False], \
            "a re-run with the same data changes nothing, the generation time aside: %s" % [
                (r["report"]["changed_files"], r["inventory"]["summary"]) for r in results]
        with open(os.path.join(dest, "coverage.json"), encoding="utf-8") as handle:
            report = json.load(handle)
        inventory = results[-1]["inventory"]
        expected = dict(inventory["summary"], generated_at=None)
        assert dict(report["summary"], generated_at=None) == expected, \
            "unfiltered, the report keeps the inventory's counts"
        rows = {row["name"]: row for row in report["vms"]}
        assert rows[PROTECTED]["compliant"] and rows[PROTECTED]["last_backup_policy"] == "Gold"
        assert {"unprotected", "violation"} <= set(rows[UNPROTECTED]["flags"])
        assert "unknown_to_backup" in rows[MARKUP_NAME]["flags"]
        check_page(os.path.join(dest, "coverage.html"), report, [UNPROTECTED, MARKUP_NAME])
    finally:
        with fresh_lab.vcenter() as vsphere:
            vcenter.destroy_vm(vsphere, MARKUP_NAME)


def test_a_script_end_tag_in_a_vm_name_stays_text(tmp_path):
    record = {"name": BREAKOUT_NAME, "moref": "vm-1", "known_to_backup": True, "power_state": "poweredOn",
              "policies": [], "disks": [], "held_policies": [], "last_backup": None, "last_backup_policy": None,
              "flags": ["unprotected", "violation"], "compliant": False,
              "reasons": {"unprotected": "no policy </script><b>", "violation": "powered on <!-- -->"}}
    summary = {"flags": dict.fromkeys(coverage_report.FLAGS, 0), "per_policy": {}, "rpo": "24h", "rpo_seconds": 86400,
               "generated_at": "2026-11-22T02:11:10Z", "jobs": None}
    report = coverage_report.build_report({"vms": [record], "vcenter_only": [], "spp_only": [], "summary": summary})
    path = tmp_path / "coverage.html"
    path.write_text(coverage_report.render_html(report, title="</title><script>window.pwned=1</script>"), encoding="utf-8")
    with chromium() as driver:
        driver.get("file://%s" % path)
        assert driver.execute_script("return document.title") == "</title><script>window.pwned=1</script>"
        assert driver.execute_script("return window.pwned") is None
        assert driver.execute_script("return document.scripts.length") == 2
        assert driver.execute_script("return document.querySelector('#vm-table tbody tr').getAttribute('data-name')") \
            == BREAKOUT_NAME
        assert driver.find_element("css selector", "#vm-table .vm-name").text == BREAKOUT_NAME
        assert driver.find_element("css selector", "#vm-table [data-flag=unprotected]").text == \
            "Unprotected: no policy </script><b>"
        assert driver.find_element("css selector", ".card[data-key=non_compliant] .value").text == "1"
        assert driver.find_element("css selector", "#job-chart").text == "Job outcomes not collected."


def check_page(path, report, noncompliant):
    with chromium() as driver:
        driver.get("file://" + path)
        assert driver.execute_script("return document.body.getAttribute('data-ready')") == "true", "the script ran"

        shown = driver.execute_script(
            "return Array.from(document.querySelectorAll('.cards [data-key]'), c => "
            "[c.getAttribute('data-key'), c.querySelector('.value').textContent]);")
        assert len(shown) == 3 + len(report["summary"]["flags"]) + 1
        for key, text in shown:
            value = lookup(report["summary"], key)
            assert text == ("not collected" if value is None else str(value)), key
        jobs = report["summary"]["jobs"]
        if jobs is not None:
            last_24h = driver.execute_script(
                "return Array.from(document.querySelectorAll('[data-key^=\"jobs.last_24h.\"]'), n => "
                "[n.getAttribute('data-key'), n.textContent]);")
            outcomes = ("successful", "failed", "partial", "running")
            expected_jobs = {"jobs.last_24h." + o: jobs["last_24h"][o] for o in outcomes}
            assert {key: int(value) for key, value in last_24h} == expected_jobs

        for name in noncompliant:
            row = [r for r in report["vms"] if r["name"] == name][0]
            cells = driver.execute_script(
                "var row = Array.from(document.querySelectorAll('#vm-table tbody tr'))"
                ".find(r => r.getAttribute('data-name') === arguments[0]);"
                "if (!row) { return null; }"
                "return {cls: row.className, name: row.querySelector('.vm-name').textContent,"
                " flags: Array.from(row.querySelectorAll('[data-col=flags] .badge'), b => b.textContent),"
                " reasons: Array.from(row.querySelectorAll('[data-col=reasons] li'), li => "
                "  [li.getAttribute('data-flag'), li.textContent])};", name)
            assert cells is not None, "%s has a row" % name
            assert cells["cls"] == "noncompliant" and cells["name"] == name
            assert cells["flags"] == [FLAG_LABELS.get(flag, flag) for flag in row["flags"]]
            for flag, text in cells["reasons"]:
                assert text.endswith(row["reasons"][flag]), (flag, text)
            assert [flag for flag, _text in cells["reasons"]] == row["flags"]
        assert driver.execute_script("return document.scripts.length") == 2, "no markup of a VM name became a script"
        assert driver.execute_script("return document.querySelectorAll('img').length") == 0
        assert driver.execute_script("return window.pwned") is None

        names = [row["name"] for row in report["vms"]]
        order_script = ("return Array.from(document.querySelectorAll('#vm-table tbody tr'), r => "
                        "r.getAttribute('data-name'));")
        header = driver.find_element("css selector", "#vm-table th[data-col=name] button")
        header.click()
        ascending = driver.execute_script(order_script)
        assert ascending == sorted(names, key=str.casefold)
        assert driver.find_element("css selector", "#vm-table th[data-col=name]").get_attribute("aria-sort") == \
            "ascending"
        header.click()
        assert driver.execute_script(order_script) == list(reversed(ascending))
        assert driver.find_element("css selector", "#vm-table th[data-col=name]").get_attribute("aria-sort") == \
            "descending"

        driver.find_element("css selector", "#vm-filter").send_keys("violation")
        visible = driver.execute_script(
            "return Array.from(document.querySelectorAll('#vm-table tbody tr:not([hidden])'), r => "
            "r.getAttribute('data-name'));")
        assert sorted(visible) == sorted(r["name"] for r in report["vms"] if "violation" in r["flags"])
        driver.find_element("css selector", "#vm-filter").clear()
        driver.execute_script("document.getElementById('vm-filter').dispatchEvent(new Event('input'));")

        assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0
        assert driver.execute_script(
            "return Array.from(document.querySelectorAll('[src],[href]'), e => e.getAttribute('src') || "
            "e.getAttribute('href')).filter(u => /^(https?:)?\\/\\//i.test(u));") == []
        problems = [entry for entry in driver.get_log("browser") if entry.get("level") in ("SEVERE", "WARNING")]
        assert problems == [], "no script error and no blocked request"

        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(1400, min(int(height) + 160, 6000))
        driver.execute_script("window.scrollTo(0, 0);")
        os.makedirs(os.path.dirname(SCREENSHOT), exist_ok=True)
        assert driver.save_screenshot(SCREENSHOT)
