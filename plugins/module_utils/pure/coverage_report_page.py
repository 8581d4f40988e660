# -*- coding: utf-8 -*-
# Copyright (c) 2026, sovereign.vm_backup contributors
# GNU General Public License v3.0+ (see LICENSES/GPL-3.0-or-later.txt or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later
"""The assets of the coverage report's HTML page: its template, its style sheet and its script. Pure data.

Considered private: only this collection may import it. ``coverage_report.render_html`` fills ``PAGE`` (a
``str.format`` template) with the escaped title, the Content-Security-Policy that allows exactly ``STYLE`` and
``SCRIPT`` by hash, and the report data as JSON. The script builds every element from that JSON with
``textContent``, never with markup.
"""

from __future__ import annotations

PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{csp}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="sovereign.vm_backup.coverage_report">
<title>{title}</title>
<style>{style}</style>
</head>
<body>
<header class="page-header">
  <h1 id="title">{title}</h1>
  <p class="meta" id="meta"></p>
  <p class="meta" id="filters"></p>
</header>
<noscript><p class="notice">This report draws its tables with JavaScript. The same data is in coverage.json and
coverage.csv next to this file.</p></noscript>
<main>
  <section aria-labelledby="h-summary">
    <h2 id="h-summary">Summary</h2>
    <div class="cards" id="cards"></div>
    <h3 class="group-label">Non-compliant VMs by flag <span>(a VM can have several flags)</span></h3>
    <div class="cards" id="flag-cards"></div>
  </section>
  <div class="charts">
    <section aria-labelledby="h-flags" class="panel">
      <h2 id="h-flags">Coverage by flag</h2>
      <div id="flag-chart"></div>
    </section>
    <section aria-labelledby="h-jobs" class="panel">
      <h2 id="h-jobs">Backup job outcomes, last 7 days</h2>
      <div id="job-chart"></div>
    </section>
  </div>
  <section aria-labelledby="h-policies">
    <h2 id="h-policies">Policies</h2>
    <table class="grid" id="policy-table"><caption class="visually-hidden">VMs per backup policy</caption>
      <thead><tr><th scope="col">Policy</th><th scope="col" class="num">VMs</th><th scope="col">State</th></tr></thead>
      <tbody></tbody></table>
  </section>
  <section aria-labelledby="h-vms">
    <h2 id="h-vms">Virtual machines</h2>
    <div class="toolbar">
      <label for="vm-filter">Filter</label>
      <input type="search" id="vm-filter" placeholder="name, policy, flag, reason\u2026" autocomplete="off">
      <label class="check"><input type="checkbox" id="only-noncompliant"> Non-compliant only</label>
      <span id="vm-count" class="muted" aria-live="polite"></span>
    </div>
    <table class="grid" id="vm-table"><caption class="visually-hidden">Virtual machines and their backup
      compliance; select a column header to sort</caption>
      <thead><tr></tr></thead><tbody></tbody></table>
  </section>
</main>
{data_open}{data}</script>
<script>{script}</script>
</body>
</html>
"""

# Okabe-Ito colours (safe for the common colour-vision deficiencies); every colour also has a text label.
STYLE = """
:root { --ink: #1d232b; --muted: #5b6673; --line: #d9dee4; --bg: #f6f7f9; --card: #fff; --accent: #0b5cad;
  --ok: #009e73; --bad: #d55e00; --warn: #e69f00; --info: #56b4e9; --grey: #8a94a0; }
* { box-sizing: border-box; }
html { font-size: 15px; }
body { margin: 0; background: var(--bg); color: var(--ink); line-height: 1.45;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif; }
.page-header { background: var(--card); border-bottom: 1px solid var(--line); padding: 24px 32px 16px; }
h1 { margin: 0 0 4px; font-size: 1.6rem; font-weight: 650; letter-spacing: -0.01em; }
h2 { font-size: 1.05rem; font-weight: 650; margin: 0 0 12px; }
main { padding: 20px 32px 40px; max-width: 1400px; }
section { margin-bottom: 28px; }
.meta { margin: 2px 0; color: var(--muted); font-size: 0.93rem; }
.meta strong { color: var(--ink); font-weight: 600; }
.notice { margin: 16px 32px; padding: 12px; border: 1px solid var(--warn); background: #fff8e6; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(150px, 1fr)); gap: 12px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px;
  border-top: 4px solid var(--grey); }
.card .value { display: block; font-size: 1.7rem; font-weight: 650; font-variant-numeric: tabular-nums; }
.card .label { display: block; color: var(--muted); font-size: 0.85rem; }
.card.total { border-top-color: var(--accent); }
.card.good { border-top-color: var(--ok); }
.card.bad { border-top-color: var(--bad); }
.card.zero { border-top-color: var(--line); }
.card.zero .value { color: var(--muted); }
.card .value.na { font-size: 1rem; font-weight: 500; color: var(--muted); padding: 9px 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(420px, 1fr)); gap: 16px; margin-bottom: 28px; }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 16px 18px;
  margin: 0; }
svg text { font: 12px system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "DejaVu Sans", sans-serif;
  fill: var(--ink); }
svg .axis { stroke: var(--line); }
svg .muted-text { fill: var(--muted); }
.legend { display: flex; flex-wrap: wrap; gap: 14px; margin: 8px 0 0; padding: 0; list-style: none;
  font-size: 0.85rem; color: var(--muted); }
.swatch { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 6px;
  vertical-align: -1px; }
.jobs-24h { margin: 0 0 10px; font-size: 0.9rem; color: var(--muted); }
.jobs-24h strong { color: var(--ink); }
.empty { color: var(--muted); font-style: italic; margin: 8px 0; }
table.grid { width: 100%; border-collapse: collapse; background: var(--card); border: 1px solid var(--line);
  font-size: 0.92rem; }
.grid th, .grid td { text-align: left; padding: 8px 10px; border-bottom: 1px solid var(--line);
  vertical-align: top; }
.grid thead th { background: #eef1f4; font-weight: 600; white-space: nowrap; }
.grid .num { text-align: right; font-variant-numeric: tabular-nums; }
#policy-table { max-width: 640px; }
th button { all: unset; font: inherit; color: inherit; cursor: pointer; display: inline-flex; gap: 6px;
  align-items: center; }
th button:focus-visible { outline: 2px solid var(--accent); outline-offset: 2px; }
th button .arrow { color: var(--muted); font-size: 0.8em; min-width: 1em; }
tr.noncompliant td:first-child { box-shadow: inset 4px 0 0 var(--bad); }
tr.noncompliant { background: #fff6f0; }
.grid tbody th { font-weight: 400; }
.vm-name { font-weight: 600; word-break: break-word; }
.nowrap, .grid [data-col=power_state] { white-space: nowrap; }
.grid td[data-col=reasons] { min-width: 22em; }
.grid td[data-col=flags] { min-width: 10em; }
.group-label { font-size: 0.9rem; font-weight: 600; color: var(--muted); margin: 16px 0 8px; }
.group-label span { font-weight: 400; }
.sub { display: block; color: var(--muted); font-size: 0.82rem; }
.badge { display: inline-block; border-radius: 999px; padding: 1px 9px; font-size: 0.8rem; font-weight: 600;
  margin: 0 4px 3px 0; border: 1px solid transparent; white-space: nowrap; }
.badge.ok { background: #e3f5ef; color: #00664a; border-color: #9fd9c7; }
.badge.flag { background: #fde9dc; color: #8a3a00; border-color: #f1b58c; }
.badge.held { background: #fdf1d6; color: #7a5200; border-color: #efcf85; }
.badge.pol { background: #eef1f4; color: var(--ink); border-color: var(--line); font-weight: 500; }
.reasons { margin: 0; padding-left: 1.1em; }
.reasons li { margin-bottom: 2px; }
.toolbar { display: flex; flex-wrap: wrap; gap: 12px; align-items: center; margin-bottom: 10px; }
.toolbar input[type=search] { font: inherit; padding: 6px 10px; border: 1px solid var(--line); border-radius: 6px;
  min-width: 280px; background: var(--card); }
.toolbar input[type=search]:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
.toolbar .check { color: var(--muted); }
.muted { color: var(--muted); font-size: 0.9rem; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0);
  white-space: nowrap; }
@media print {
  body { background: #fff; font-size: 11px; }
  .page-header, main { padding: 8px 0; }
  .toolbar { display: none; }
  .card, .panel, table.grid { break-inside: avoid; }
  .grid tr { break-inside: avoid; }
  .grid thead { display: table-header-group; }
  th button .arrow { display: none; }
  tr.noncompliant { background: none; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
"""

SCRIPT = r"""
(function () {
  "use strict";
  var data = JSON.parse(document.getElementById("report-data").textContent);
  var summary = data.summary;
  var SVG = "http://www.w3.org/2000/svg";
  var FLAG_LABELS = {
    unknown_to_backup: "Unknown to backup", unprotected: "Unprotected", held_only: "Held only", stale: "Stale",
    blocked_first_backup: "Blocked first backup", partially_covered: "Partially covered", violation: "Violation"
  };
  var OUTCOMES = [["successful", "Successful", "#009e73"], ["failed", "Failed", "#d55e00"],
                  ["partial", "Partial", "#e69f00"], ["running", "Running", "#56b4e9"]];

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined && text !== null) { node.textContent = String(text); }
    return node;
  }
  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) { node.textContent = String(text); }
    return node;
  }
  function flagLabel(flag) { return FLAG_LABELS[flag] || flag; }
  function when(isoTime) { return isoTime ? isoTime.replace("T", " ").replace("Z", " UTC") : "never"; }
  function ageHours(isoTime) {
    if (!isoTime || !data.generated_at) { return null; }
    return Math.max(0, Math.round((Date.parse(data.generated_at) - Date.parse(isoTime)) / 36e5));
  }

  // Header
  var meta = document.getElementById("meta");
  [["Data as of ", when(data.generated_at)], ["RPO ", summary.rpo || "not set"]].forEach(function (part, i) {
    if (i) { meta.appendChild(document.createTextNode("  \u00b7  ")); }
    meta.appendChild(document.createTextNode(part[0]));
    meta.appendChild(el("strong", null, part[1]));
  });
  var filterParts = [];
  if (data.filters.policies) { filterParts.push("policies " + data.filters.policies.join(", ")); }
  if (data.filters.backed_up_since) { filterParts.push("last backup since " + when(data.filters.backed_up_since)); }
  if (data.filters.backed_up_before) {
    filterParts.push("last backup before " + when(data.filters.backed_up_before) + " or never");
  }
  document.getElementById("filters").textContent =
    filterParts.length ? "Filtered: " + filterParts.join("; ") : "All VMs (no filter)";

  // Summary cards
  var cards = document.getElementById("cards");
  function card(key, label, value, tone, parent) {
    var box = el("div", "card " + (tone || ""));
    box.setAttribute("data-key", key);
    var number = el("span", "value" + (value === null ? " na" : ""), value === null ? "not collected" : value);
    box.appendChild(number);
    box.appendChild(el("span", "label", label));
    (parent || cards).appendChild(box);
  }
  function tone(value) { return value === null ? "" : (value ? "bad" : "zero"); }
  card("vms", "VMs", summary.vms, "total");
  card("compliant", "Compliant", summary.compliant, "good");
  card("non_compliant", "Non-compliant", summary.non_compliant, tone(summary.non_compliant));
  card("backup_only", "Backup only (not in vCenter)", summary.backup_only, tone(summary.backup_only));
  var flagCards = document.getElementById("flag-cards");
  Object.keys(FLAG_LABELS).forEach(function (flag) {
    card("flags." + flag, flagLabel(flag), summary.flags[flag], tone(summary.flags[flag]), flagCards);
  });

  // Coverage by flag: horizontal bars, count and share written next to each bar.
  (function () {
    var bars = data.charts.flags, width = 520, rowH = 28, labelW = 160, barW = 260;
    var box = svg("svg", {viewBox: "0 0 " + width + " " + (bars.length * rowH + 8), width: "100%", role: "img",
                          "aria-labelledby": "h-flags"});
    bars.forEach(function (bar, i) {
      var y = i * rowH + 4;
      box.appendChild(svg("text", {x: labelW - 10, y: y + 17, "text-anchor": "end"}, flagLabel(bar.flag)));
      box.appendChild(svg("rect", {x: labelW, y: y + 4, width: barW, height: 18, fill: "#eef1f4", rx: 3}));
      if (bar.count === null) {
        box.appendChild(svg("text", {x: labelW + 8, y: y + 17, "class": "muted-text"}, "not collected"));
        return;
      }
      var w = bar.share ? Math.max(2, Math.round(bar.share * barW)) : 0;
      var rect = svg("rect", {x: labelW, y: y + 4, width: w, height: 18, fill: bar.count ? "#d55e00" : "#8a94a0",
                              rx: 3});
      rect.appendChild(svg("title", {}, flagLabel(bar.flag) + ": " + bar.count));
      box.appendChild(rect);
      var pct = bar.share === null ? "" : " (" + Math.round(bar.share * 100) + " %)";
      box.appendChild(svg("text", {x: labelW + barW + 8, y: y + 17}, bar.count + pct));
    });
    document.getElementById("flag-chart").appendChild(box);
  })();

  // Job outcomes per day: stacked bars with a legend; the last 24 h as text above.
  (function () {
    var target = document.getElementById("job-chart"), jobs = data.charts.jobs;
    if (!jobs) { target.appendChild(el("p", "empty", "Job outcomes not collected.")); return; }
    if (jobs.last_24h) {
      var line = el("p", "jobs-24h");
      line.appendChild(document.createTextNode("Last 24 h: "));
      OUTCOMES.forEach(function (o, i) {
        if (i) { line.appendChild(document.createTextNode(", ")); }
        var n = el("strong", null, jobs.last_24h[o[0]] || 0);
        n.setAttribute("data-key", "jobs.last_24h." + o[0]);
        line.appendChild(n);
        line.appendChild(document.createTextNode(" " + o[1].toLowerCase()));
      });
      target.appendChild(line);
    }
    var width = 520, height = 200, left = 34, bottom = 22, top = 14, plotH = height - top - bottom;
    var slot = (width - left) / Math.max(1, jobs.days.length), barW = Math.min(44, slot * 0.6);
    var step = Math.max(1, Math.ceil((jobs.max || 1) / 4)), scale = step * Math.ceil((jobs.max || 1) / step);
    var ticks = [];
    for (var t = 0; t <= scale; t += step) { ticks.push(t); }
    var box = svg("svg", {viewBox: "0 0 " + width + " " + height, width: "100%", role: "img",
                          "aria-labelledby": "h-jobs"});
    ticks.forEach(function (tick) {
      var y = top + plotH - tick / scale * plotH;
      box.appendChild(svg("line", {x1: left, x2: width, y1: y, y2: y, "class": "axis"}));
      box.appendChild(svg("text", {x: left - 6, y: y + 4, "text-anchor": "end", "class": "muted-text"}, tick));
    });
    jobs.days.forEach(function (day, i) {
      var x = left + i * slot + (slot - barW) / 2, y = top + plotH;
      var group = svg("g", {"data-date": day.date});
      OUTCOMES.forEach(function (o) {
        var n = day[o[0]];
        if (!n) { return; }
        var h = n / scale * plotH;
        y -= h;
        var rect = svg("rect", {x: x, y: y, width: barW, height: h, fill: o[2]});
        rect.appendChild(svg("title", {}, day.date + " " + o[1].toLowerCase() + ": " + n));
        group.appendChild(rect);
      });
      group.appendChild(svg("text", {x: x + barW / 2, y: y - 4, "text-anchor": "middle",
                                     "class": day.total ? "" : "muted-text"}, day.total));
      group.appendChild(svg("text", {x: x + barW / 2, y: height - 6, "text-anchor": "middle", "class": "muted-text"},
                            (day.date || "").slice(5)));
      box.appendChild(group);
    });
    target.appendChild(box);
    var legend = el("ul", "legend");
    OUTCOMES.forEach(function (o) {
      var item = el("li");
      var swatch = el("span", "swatch");
      swatch.style.background = o[2];
      item.appendChild(swatch);
      item.appendChild(document.createTextNode(o[1] + " (7 days: " + ((jobs.last_7d || {})[o[0]] || 0) + ")"));
      legend.appendChild(item);
    });
    target.appendChild(legend);
  })();

  // Policies
  var policyBody = document.querySelector("#policy-table tbody");
  Object.keys(summary.per_policy).sort().forEach(function (name) {
    var row = el("tr"), info = summary.per_policy[name];
    row.appendChild(el("th", null, name)).setAttribute("scope", "row");
    row.appendChild(el("td", "num", info.vms));
    var state = el("td");
    state.appendChild(el("span", info.held ? "badge held" : "badge ok", info.held ? "Held" : "Active"));
    row.appendChild(state);
    policyBody.appendChild(row);
  });
  if (!Object.keys(summary.per_policy).length) {
    var none = el("tr"), cell = el("td", "empty", "No policy.");
    cell.colSpan = 3;
    none.appendChild(cell);
    policyBody.appendChild(none);
  }

  // VMs: a sortable table. Each column has a key that sorts (text, number or time) and a cell builder.
  function badges(parent, names, cls) {
    names.forEach(function (name) { parent.appendChild(el("span", "badge " + cls, name)); });
  }
  function allPolicyText(vm) {
    var disks = Object.keys(vm.disk_policies).map(function (d) { return d + "=" + vm.disk_policies[d].join(","); });
    return vm.policies.concat(disks).join(" ");
  }
  var COLUMNS = [
    {key: "name", label: "VM", type: "text", value: function (vm) { return vm.name || ""; },
     cell: function (td, vm) {
       td.appendChild(el("span", "vm-name", vm.name));
       td.appendChild(el("span", "sub", (vm.folder || "") + (vm.moref ? "  \u00b7  " + vm.moref : "")));
     }},
    {key: "power_state", label: "Power state", type: "text", value: function (vm) { return vm.power_state || ""; },
     cell: function (td, vm) {
       var labels = {poweredOn: "On", poweredOff: "Off", suspended: "Suspended"};
       td.textContent = labels[vm.power_state] || vm.power_state || "";
     }},
    {key: "policies", label: "Policies", type: "text", value: allPolicyText,
     cell: function (td, vm) {
       badges(td, vm.policies.filter(function (p) { return vm.held_policies.indexOf(p) < 0; }), "pol");
       badges(td, vm.policies.filter(function (p) { return vm.held_policies.indexOf(p) >= 0; }).map(function (p) {
         return p + " (held)"; }), "held");
       Object.keys(vm.disk_policies).sort().forEach(function (disk) {
         td.appendChild(el("span", "sub", disk + ": " + vm.disk_policies[disk].join(", ")));
       });
       if (!vm.policies.length && !Object.keys(vm.disk_policies).length) { td.appendChild(el("span", "sub", "none")); }
       if (!vm.known_to_backup) { td.appendChild(el("span", "sub", "not known to the backup server")); }
     }},
    {key: "last_backup", label: "Last backup", type: "time",
     value: function (vm) { return vm.last_backup ? Date.parse(vm.last_backup) : -Infinity; },
     cell: function (td, vm) {
       td.appendChild(el("span", "nowrap", when(vm.last_backup)));
       var age = ageHours(vm.last_backup);
       var sub = [];
       if (age !== null) { sub.push("age " + age + " h"); }
       if (vm.last_backup_policy) { sub.push(vm.last_backup_policy); }
       if (sub.length) { td.appendChild(el("span", "sub", sub.join("  \u00b7  "))); }
     }},
    {key: "flags", label: "Flags", type: "number", value: function (vm) { return vm.flags.length; },
     cell: function (td, vm) {
       if (!vm.flags.length) { td.appendChild(el("span", "badge ok", "Compliant")); return; }
       badges(td, vm.flags.map(flagLabel), "flag");
     }},
    {key: "reasons", label: "Reasons", type: "text",
     value: function (vm) { return vm.flags.map(function (f) { return vm.reasons[f] || ""; }).join(" "); },
     cell: function (td, vm) {
       if (!vm.flags.length) { return; }
       var list = el("ul", "reasons");
       vm.flags.forEach(function (flag) {
         var item = el("li");
         item.setAttribute("data-flag", flag);
         item.appendChild(el("strong", null, flagLabel(flag) + ": "));
         item.appendChild(document.createTextNode(vm.reasons[flag] || ""));
         list.appendChild(item);
       });
       td.appendChild(list);
     }}
  ];

  var table = document.getElementById("vm-table"), body = table.querySelector("tbody");
  var headRow = table.querySelector("thead tr"), sortState = {key: null, dir: 1};
  var collator = new Intl.Collator(undefined, {numeric: true, sensitivity: "base"});
  var rows = data.vms.map(function (vm) {
    var row = el("tr", vm.flags.length ? "noncompliant" : "compliant");
    row.setAttribute("data-name", vm.name || "");
    COLUMNS.forEach(function (column) {
      var td = el(column.key === "name" ? "th" : "td");
      if (column.key === "name") { td.setAttribute("scope", "row"); }
      td.setAttribute("data-col", column.key);
      column.cell(td, vm);
      row.appendChild(td);
    });
    if (vm.flags.length) {
      row.cells[0].appendChild(el("span", "visually-hidden", " (non-compliant)"));
    }
    var search = [vm.name, vm.moref, vm.folder, vm.power_state, allPolicyText(vm), vm.flags.join(" "),
                  vm.flags.map(flagLabel).join(" "), COLUMNS[5].value(vm)].join(" ").toLowerCase();
    return {vm: vm, row: row, search: search};
  });

  COLUMNS.forEach(function (column) {
    var th = el("th");
    th.setAttribute("scope", "col");
    th.setAttribute("aria-sort", "none");
    th.setAttribute("data-col", column.key);
    var button = el("button");
    button.type = "button";
    button.appendChild(el("span", null, column.label));
    button.appendChild(el("span", "arrow"));
    button.addEventListener("click", function () { sortBy(column); });
    th.appendChild(button);
    headRow.appendChild(th);
  });

  function compare(column, a, b) {
    var x = column.value(a.vm), y = column.value(b.vm);
    if (column.type === "text") { return collator.compare(x, y); }
    return x === y ? 0 : (x < y ? -1 : 1);
  }
  function sortBy(column) {
    sortState.dir = sortState.key === column.key ? -sortState.dir : 1;
    sortState.key = column.key;
    rows.sort(function (a, b) {
      return sortState.dir * compare(column, a, b) || collator.compare(a.vm.name || "", b.vm.name || "");
    });
    Array.prototype.forEach.call(headRow.cells, function (th) {
      var active = th.getAttribute("data-col") === column.key;
      th.setAttribute("aria-sort", active ? (sortState.dir > 0 ? "ascending" : "descending") : "none");
      th.querySelector(".arrow").textContent = active ? (sortState.dir > 0 ? "\u25b2" : "\u25bc") : "";
    });
    draw();
  }

  var filterBox = document.getElementById("vm-filter"), onlyBad = document.getElementById("only-noncompliant");
  function draw() {
    var words = filterBox.value.toLowerCase().split(/\s+/).filter(Boolean), shown = 0;
    var fragment = document.createDocumentFragment();
    rows.forEach(function (item) {
      var visible = (!onlyBad.checked || item.vm.flags.length > 0) &&
        words.every(function (w) { return item.search.indexOf(w) >= 0; });
      item.row.hidden = !visible;
      if (visible) { shown += 1; }
      fragment.appendChild(item.row);
    });
    body.appendChild(fragment);
    document.getElementById("vm-count").textContent = shown + " of " + rows.length + " VMs shown";
  }
  filterBox.addEventListener("input", draw);
  onlyBad.addEventListener("change", draw);
  if (!rows.length) {
    var emptyRow = el("tr"), emptyCell = el("td", "empty", "No VM matches the report's filters.");
    emptyCell.colSpan = COLUMNS.length;
    emptyRow.appendChild(emptyCell);
    body.appendChild(emptyRow);
  }
  draw();
  document.body.setAttribute("data-ready", "true");
})();
"""
