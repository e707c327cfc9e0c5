// Streamformer dashboard: polls /api/state and draws every chart as hand-written SVG.
"use strict";

const COLORS = ["#2e6fdb", "#e4572e", "#17a398", "#f3a712", "#8e44ad", "#6c757d", "#c0392b", "#27ae60"];
const DURATIONS = ["inference", "end_to_end", "processing", "batch_wait", "queueing"];
const SVG = "http://www.w3.org/2000/svg";

// The palette, then hues a golden angle apart: every series of a chart has its own colour.
function color(i) {
  return i < COLORS.length ? COLORS[i] : `hsl(${Math.round(i * 137.508) % 360}, 65%, 42%)`;
}

window.addEventListener("error", (e) => report("error: " + e.message));
window.addEventListener("unhandledrejection", (e) => report("error: " + e.reason));

function report(text) {
  document.getElementById("errors").textContent = text;
}

function el(name, attrs, parent) {
  const node = document.createElementNS(SVG, name);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (parent) parent.appendChild(node);
  return node;
}

// A panel with a title, a legend and an SVG line chart of named series of [x, y] points. Points further
// apart than gap (ms) are not joined: a pause in traffic shows as a pause, not as a line across it.
function chart(id, title, series, gap = Infinity) {
  let panel = document.getElementById(id);
  if (!panel) {
    panel = document.createElement("section");
    panel.className = "panel";
    panel.id = id;
    panel.innerHTML = "<h2></h2><div class='legend'></div>";
    panel.querySelector("h2").textContent = title;
    document.getElementById("charts").appendChild(panel);
  }
  const old = panel.querySelector("svg");
  if (old) old.remove();
  const legend = panel.querySelector(".legend");
  legend.textContent = "";
  const w = 400, h = 160, left = 46, bottom = 18;
  const svg = el("svg", {viewBox: `0 0 ${w} ${h + bottom}`, preserveAspectRatio: "none"});
  const points = series.reduce((n, s) => n + s.points.length, 0);
  svg.setAttribute("data-points", String(points));
  panel.appendChild(svg);
  const xs = series.flatMap((s) => s.points.map((p) => p[0]));
  const ys = series.flatMap((s) => s.points.map((p) => p[1]));
  const x0 = Math.min(...xs), x1 = Math.max(...xs, x0 + 1);
  const y1 = Math.max(...ys, 0) * 1.1 || 1;
  const sx = (x) => left + (x - x0) / (x1 - x0) * (w - left - 4);
  const sy = (y) => h - y / y1 * (h - 8);
  el("line", {x1: left, y1: h, x2: w, y2: h, class: "axis"}, svg);
  el("line", {x1: left, y1: 0, x2: left, y2: h, class: "axis"}, svg);
  for (const f of [0, 0.5, 1]) {
    const t = el("text", {x: left - 4, y: sy(y1 * f / 1.1) + 3, "text-anchor": "end", class: "tick"}, svg);
    t.textContent = format(y1 * f / 1.1);
  }
  if (points > 0) {
    const t = el("text", {x: w - 2, y: h + 14, "text-anchor": "end", class: "tick"}, svg);
    t.textContent = new Date(x1).toLocaleTimeString();
  }
  series.forEach((s, i) => {
    const c = color(i);
    const span = document.createElement("span");
    span.style.setProperty("--c", c);
    span.textContent = s.name;
    legend.appendChild(span);
    if (s.points.length === 0) return;
    const joined = (k) => k > 0 && s.points[k][0] - s.points[k - 1][0] <= gap;
    const d = s.points.map((p, k) => (joined(k) ? "L" : "M") + sx(p[0]).toFixed(1) + " " + sy(p[1]).toFixed(1))
      .join(" ");
    el("path", {d, fill: "none", stroke: c, "stroke-width": 1.6, "data-segments": String(s.points.filter((p, k) =>
      !joined(k)).length)}, svg);
    s.points.forEach((p, k) => {
      const alone = !joined(k) && !(k + 1 < s.points.length && joined(k + 1));
      if (alone) el("circle", {cx: sx(p[0]), cy: sy(p[1]), r: 2.5, fill: c}, svg);
    });
  });
}

function format(v) {
  if (v >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "k";
  return v >= 10 ? v.toFixed(0) : v.toFixed(2);
}

function draw(state) {
  const versions = Object.keys(state.versions).filter((v) => v !== "*");
  // Marked when a --metrics URL says which versions are served now.
  const served = Object.keys(state.models);
  const short = (v) => v.substring(0, 8) + (served.length && !served.includes(v) ? " (not served now)" : "");
  // A window missing between two others is a pause in traffic.
  const windowMs = Object.values(state.versions).flat().reduce((w, s) => Math.min(w, s.end - s.start), Infinity);
  const gap = 1.5 * windowMs;
  chart("chart-rps", "Records/s", versions.map((v) => ({
    name: short(v), points: state.versions[v].map((s) => [s.end, s.rps])})), gap);
  // Beside records/s: how deep requests ran (below the model's depth when exit heads let them leave early).
  chart("chart-depth", "Mean layers run per request", versions.map((v) => ({
    name: short(v), points: state.versions[v].filter((s) => s.layers_mean !== null)
      .map((s) => [s.end, s.layers_mean])})), gap);
  for (const d of DURATIONS) {
    const series = [];
    for (const v of versions) {
      ["p50", "p95", "p99"].forEach((q, k) => series.push({
        name: short(v) + " " + q, points: state.versions[v].map((s) => [s.end, s[d][k] / 1000])}));
    }
    chart("chart-" + d, "Latency: " + d.replace(/_/g, " ") + " (ms)", series, gap);
  }
  const batch = [];
  for (const v of versions) {
    batch.push({name: short(v) + " mean", points: state.versions[v].map((s) => [s.end, s.batch_mean])});
    batch.push({name: short(v) + " max", points: state.versions[v].map((s) => [s.end, s.batch_max])});
  }
  chart("chart-batch", "Batch size (requests per forward pass)", batch, gap);
  const all = state.versions["*"] || [];
  const kinds = ["DESERIALIZATION", "VALIDATION", "INFERENCE"];
  chart("chart-dead-letters", "Dead letters per window, by kind", kinds.map((k) => ({
    name: k, points: all.map((s) => [s.end, s.dead_letters[k] || 0])})), gap);
  chart("chart-lag", "Consumer lag on the request topic (records)", [{name: "lag", points: state.lag}]);
  const body = document.querySelector("#model-table tbody");
  body.textContent = "";
  const models = Object.entries(state.models);
  for (const [version, m] of models) {
    const row = document.createElement("tr");
    for (const cell of [version + " (serving)", (m.sharing_ratio || 0).toFixed(2) + "x", format(m.unique_parameters || 0),
      format(m.logical_parameters || 0), ((m.bytes || 0) / 1e6).toFixed(2) + " MB"]) {
      const td = document.createElement("td");
      td.textContent = cell;
      row.appendChild(td);
    }
    body.appendChild(row);
  }
  document.getElementById("models-note").textContent = models.length ? ""
    : "start the dashboard with --metrics http://<processor>:<health port>/metrics to show the models";
  const windows = versions.reduce((n, v) => n + state.versions[v].length, 0);
  document.getElementById("status").textContent = windows + " windows of " + versions.length
    + " model version(s), updated " + new Date().toLocaleTimeString();
}

async function refresh() {
  try {
    const response = await fetch("/api/state", {cache: "no-store"});
    if (!response.ok) throw new Error("GET /api/state answered " + response.status);
    draw(await response.json());
  } catch (e) {
    document.getElementById("status").textContent = "cannot reach the dashboard server: " + e.message;
  }
}

refresh();
setInterval(refresh, 2000);
