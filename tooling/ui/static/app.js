// The Streaming page: one snapshot at a time from the server's event stream (/api/events), drawn into the
// charts (uPlot) and tables; a click on a batch asks for its detail (/api/batches/<time>). Every value from the
// server goes in as text (textContent), never as markup. No build step: this file is served as it is.
"use strict";

const METRICS = [
  { key: "input", value: (b, s) => (b.records === undefined || !s.batchIntervalMs ? null : b.records / (s.batchIntervalMs / 1000)) },
  { key: "scheduling", value: (b) => b.schedulingDelayMs ?? null },
  { key: "processing", value: (b) => b.processingMs ?? null },
  { key: "total", value: (b) => b.totalDelayMs ?? null },
];
const HISTOGRAM_BUCKETS = 10;

/** The charts by metric: { timeline, histogram } uPlot instances (also read by the end-to-end test). */
const charts = {};
window.sparklessCharts = charts;
let shownDetail;

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined && text !== null) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

const fmtTime = (ms) => new Date(ms).toISOString().replace("T", " ").replace(/\.\d+Z$/, "");
const fmtMs = (ms) => (ms === undefined || ms === null ? "-" : ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`);
const fmtNum = (n) => (n === undefined || n === null ? "-" : Number(n).toLocaleString("en-US"));
const fmtBytes = (n) => (n === undefined ? "-" : n < 1024 ? `${n} B` : n < 1048576 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 1048576).toFixed(1)} MB`);

function row(cells, attrs) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = el("td", c.text, c.cls);
    if (c.title) td.title = c.title;
    tr.appendChild(td);
  }
  for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
  return tr;
}

function fill(tableId, rows) {
  const body = document.querySelector(`#${tableId} tbody`);
  body.replaceChildren(...rows);
}

/** A chart's share of its metric's box (the grid's 3fr / 1fr, less the gap and padding). */
function chartSize(container, share, height) {
  const box = container.closest(".metric");
  return { width: Math.max(120, Math.floor(((box && box.clientWidth) || 560) * share) - 16), height };
}

function ensureCharts(metric) {
  if (charts[metric]) return charts[metric];
  const box = document.querySelector(`.metric[data-metric="${metric}"]`);
  const tl = box.querySelector(".timeline");
  const hist = box.querySelector(".histogram");
  const timeline = new uPlot(
    { ...chartSize(tl, 0.75, 160), series: [{}, { label: metric, stroke: "#0969da", width: 1.5, points: { show: true, size: 4 } }], axes: [{}, { size: 60 }], legend: { show: false } },
    [[], []],
    tl,
  );
  const histogram = new uPlot(
    {
      ...chartSize(hist, 0.25, 160),
      scales: { x: { time: false } },
      series: [{}, { label: "batches", fill: "rgba(9,105,218,.35)", stroke: "#0969da", paths: uPlot.paths.bars({ size: [0.9, 40] }), points: { show: false } }],
      axes: [{ size: 30 }, { size: 40 }],
      legend: { show: false },
    },
    [[], []],
    hist,
  );
  charts[metric] = { timeline, histogram };
  return charts[metric];
}

function histogramOf(values) {
  if (values.length === 0) return [[], []];
  const min = Math.min(...values);
  const max = Math.max(...values);
  const width = max > min ? (max - min) / HISTOGRAM_BUCKETS : 1;
  const xs = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => min + (i + 0.5) * width);
  const ys = xs.map(() => 0);
  for (const v of values) ys[Math.min(HISTOGRAM_BUCKETS - 1, Math.floor((v - min) / width))]++;
  return [xs, ys];
}

function drawCharts(s) {
  const done = s.batches.filter((b) => b.state === "completed" || b.state === "failed").slice().sort((a, b) => a.time - b.time);
  const withRecords = s.batches.filter((b) => b.state !== "active" || b.records !== undefined).slice().sort((a, b) => a.time - b.time);
  for (const m of METRICS) {
    const rows = m.key === "input" ? withRecords : done;
    const xs = rows.map((b) => b.time / 1000);
    const ys = rows.map((b) => m.value(b, s));
    const c = ensureCharts(m.key);
    c.timeline.setData([xs, ys]);
    const present = ys.filter((v) => v !== null);
    c.histogram.setData(histogramOf(present));
    const avg = present.length ? present.reduce((a, b) => a + b, 0) / present.length : undefined;
    document.querySelector(`.metric[data-metric="${m.key}"] .avg`).textContent =
      avg === undefined ? "" : `avg ${m.key === "input" ? `${avg.toFixed(1)} records/s` : fmtMs(avg)} over ${present.length} batches`;
  }
}

function recordRows(list) {
  return list.items.map((r) =>
    row(
      [
        { text: r.shard ?? "-" },
        { text: r.position ?? "-" },
        { text: r.batch !== undefined ? fmtTime(r.batch) : "-" },
        { text: r.operator ?? "-" },
        { text: r.reason, cls: "reason" },
        { text: fmtNum(r.bytes), cls: "num" },
        { text: r.data, cls: "data", title: r.id },
      ],
      { "data-id": r.id },
    ),
  );
}

function render(s) {
  document.getElementById("pipeline").textContent = s.pipeline;
  document.getElementById("where").textContent = `on ${s.where}${s.batchIntervalMs ? `, a batch every ${fmtMs(s.batchIntervalMs)}` : ""}${s.lastFinalized !== undefined ? `; last completed batch ${fmtTime(s.lastFinalized)}` : ""}`;
  document.getElementById("summary").textContent = s.summary;
  document.getElementById("warnings").replaceChildren(...s.warnings.map((w) => el("li", w)));
  const completed = s.batches.filter((b) => b.state === "completed" || b.state === "failed").length;
  document.getElementById("window").textContent = `over the last ${completed} completed batches`;
  drawCharts(s);

  fill(
    "batches",
    s.batches.map((b) =>
      row(
        [
          { text: fmtTime(b.time), title: `${b.time} ms` },
          { text: b.state },
          { text: fmtNum(b.records), cls: "num" },
          { text: fmtMs(b.schedulingDelayMs), cls: "num" },
          { text: fmtMs(b.processingMs), cls: "num" },
          { text: fmtMs(b.totalDelayMs), cls: "num" },
          { text: fmtNum(b.outputs), cls: "num" },
          { text: fmtNum(b.deadLetters), cls: "num" },
          { text: fmtNum(b.lateRecords), cls: "num" },
        ],
        { "data-time": String(b.time), class: `state-${b.state}` },
      ),
    ),
  );
  fill(
    "shards",
    s.shards.map((sh) =>
      row(
        [
          { text: sh.id + (sh.closed ? " (closed)" : "") },
          { text: sh.position ?? "-" },
          { text: sh.watermark === undefined ? "-" : sh.watermark === 0 ? "0" : fmtTime(sh.watermark), title: sh.watermark === undefined ? "" : `${sh.watermark} ms` },
          { text: (sh.recordsBehindCapped ? "> " : "") + fmtNum(sh.recordsBehind), cls: "num" },
          { text: sh.drained === undefined ? "-" : sh.drained ? "yes" : "no" },
        ],
        { "data-shard": sh.id },
      ),
    ),
  );
  fill(
    "operators",
    s.operators.map((o) =>
      row(
        [{ text: o.id }, { text: o.kind }, { text: o.batchTime !== undefined ? fmtTime(o.batchTime) : "-" }, { text: fmtNum(o.keys), cls: "num" }, { text: fmtBytes(o.bytes), cls: "num" }],
        { "data-operator": o.id },
      ),
    ),
  );
  document.getElementById("dead-letters-total").textContent = `${fmtNum(s.deadLetters.total)} in all${s.deadLetters.total > s.deadLetters.items.length ? `, the newest ${s.deadLetters.items.length} shown` : ""}`;
  fill("dead-letters", recordRows(s.deadLetters));
  document.getElementById("late-total").textContent = `${fmtNum(s.lateRecords.total)} in all`;
  fill("late", recordRows(s.lateRecords));
  document.body.dataset.takenAt = String(s.takenAt);
}

async function showDetail(time) {
  shownDetail = time;
  const box = document.getElementById("batch-detail");
  const body = document.getElementById("detail-body");
  document.getElementById("detail-time").textContent = `${fmtTime(time)} (${time} ms)`;
  box.hidden = false;
  body.replaceChildren(el("p", "loading…", "muted"));
  const res = await fetch(`/api/batches/${time}`);
  const d = await res.json();
  if (shownDetail !== time) return;
  const parts = [];
  parts.push(el("h4", "Job errors"));
  parts.push(d.errors.length ? el("pre", d.errors.join("\n")) : el("p", "none", "muted"));
  parts.push(el("h4", "Printed"));
  parts.push(d.printed ? el("pre", d.printed.join("\n") || "(empty batch)", "printed") : el("p", "not available here (on AWS print() goes to CloudWatch Logs)", "muted"));
  parts.push(el("h4", `Outputs (${d.outputs.length})`));
  for (const o of d.outputs) {
    parts.push(el("p", o.path + (o.truncated ? " (first lines)" : "")));
    parts.push(el("pre", o.lines.join("\n")));
  }
  if (d.deadLetters.length) {
    parts.push(el("h4", `Dead letters (${d.deadLetters.length})`));
    parts.push(el("pre", d.deadLetters.map((r) => `${r.shard ?? ""} ${r.position ?? ""}: ${r.reason}`).join("\n")));
  }
  const container = el("div");
  container.id = "detail-content";
  container.replaceChildren(...parts);
  body.replaceChildren(container);
}

document.querySelector("#batches tbody").addEventListener("click", (e) => {
  const tr = e.target.closest("tr[data-time]");
  if (tr) void showDetail(Number(tr.dataset.time));
});
document.getElementById("detail-close").addEventListener("click", () => {
  shownDetail = undefined;
  document.getElementById("batch-detail").hidden = true;
});

const connection = document.getElementById("connection");
const events = new EventSource("/api/events");
events.addEventListener("snapshot", (e) => {
  connection.textContent = `updated ${new Date().toLocaleTimeString()}`;
  render(JSON.parse(e.data));
});
events.addEventListener("failure", (e) => {
  connection.textContent = `could not read the pipeline: ${JSON.parse(e.data).message} (retrying)`;
});
events.onerror = () => {
  connection.textContent = "disconnected from sparkless ui (retrying)";
};
