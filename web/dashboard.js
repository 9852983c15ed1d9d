// Sluice's dashboard (docs/dashboard.md). Plain JavaScript, no framework, no build step:
// every 2 s it reads /api/status, /api/alarms and /api/errors with the operator's bearer
// token and redraws; the charts are SVG drawn here from the status answers it has kept.
// The token is asked once and kept in sessionStorage (gone when the tab closes); a page
// opened as /#token=TOKEN (or /?token=TOKEN) takes it from the address, for scripts and
// the browser test, and removes it from the address bar at once.
"use strict";

const REFRESH_MS = 2000;
const WINDOW_S = 600;                 // what the live charts show
const TOKEN_KEY = "sluice.token";
const COLOURS = ["#2b6cb0", "#c05621", "#2f855a", "#6b46c1", "#b83280", "#2c7a7b", "#975a16"];
const SVG_NS = "http://www.w3.org/2000/svg";

const samples = [];                   // [{t: seconds, targets: {name: {lag, rate}}}]
let token = null;
let timer = null;

const $ = (id) => document.getElementById(id);

// The address may carry the token and a trend to draw: #token=T&point=1&interval=1s&range=900.
const given = new URLSearchParams(location.hash.slice(1));
for (const [k, v] of new URLSearchParams(location.search)) if (!given.has(k)) given.set(k, v);

function takeToken() {
  if (given.get("token")) {
    sessionStorage.setItem(TOKEN_KEY, given.get("token"));
    // Out of the address bar (and so out of the browser's history) at once.
    window.history.replaceState(null, "", location.pathname);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

function showMessage(text) {
  const m = $("message");
  m.textContent = text;
  m.hidden = !text;
}

function askToken(why) {
  if (timer) clearInterval(timer);
  timer = null;
  sessionStorage.removeItem(TOKEN_KEY);
  token = null;
  showMessage(why || "");
  $("login").hidden = false;
  $("main").hidden = true;
}

class HttpError extends Error {
  constructor(status, text) { super(text); this.status = status; }
}

async function api(path, options = {}) {
  const headers = token ? {Authorization: "Bearer " + token} : {};
  const res = await fetch(path, {...options, headers, cache: "no-store"});
  const text = await res.text();
  if (!res.ok) throw new HttpError(res.status, text.trim());
  return JSON.parse(text);
}

// 64-bit integers arrive as strings (protobuf's JSON).
const num = (v) => (v === undefined || v === null ? 0 : Number(v));

function fmtTime(us) {
  if (!num(us)) return "";
  return new Date(num(us) / 1000).toISOString().replace("T", " ").replace(/\.\d+Z$/, "Z");
}

function fmtNumber(v) {
  if (Math.abs(v) >= 1e6) return (v / 1e6).toFixed(1) + "M";
  if (Math.abs(v) >= 1e4) return (v / 1e3).toFixed(1) + "k";
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

function fmtBytes(b) {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (b >= 1024 && i < units.length - 1) { b /= 1024; i++; }
  return (i ? b.toFixed(1) : b) + " " + units[i];
}

function cell(row, text, cls, attrs) {
  const td = row.insertCell();
  td.textContent = text;
  if (cls) td.className = cls;
  for (const [k, v] of Object.entries(attrs || {})) td.setAttribute(k, v);
  return td;
}

function fillTable(id, items, fill) {
  const body = $(id).tBodies[0];
  body.replaceChildren();
  for (const item of items) fill(body.insertRow(), item);
}

function renderStatus(s) {
  $("node").textContent = s.node_id;
  const state = $("state");
  state.textContent = s.state === "switching" ? `switching(${s.switch_from} -> ${s.switch_to})` : s.state;
  state.className = "badge " + s.state;
  state.dataset.value = s.state;
  $("active").textContent = s.active_target || "none";
  $("active").dataset.value = s.active_target;
  $("since").textContent = "since " + fmtTime(s.state_since_us);
  $("reason").textContent = s.state_reason;
  fillTable("targets", s.targets, (row, t) => {
    row.dataset.target = t.name;
    cell(row, t.name + (t.active ? " ★" : ""));
    cell(row, t.role + (t.role === "primary" ? ` (${t.priority})` : ""), "", {"data-role": t.role});
    cell(row, t.health, t.health, {"data-health": t.health});
    cell(row, t.enabled ? t.state : "disabled", "", {"data-state": t.state});
    cell(row, fmtNumber(num(t.lag_records)), "num", {"data-lag-records": num(t.lag_records)});
    cell(row, fmtNumber(num(t.apply_per_s)), "num", {"data-apply-per-s": num(t.apply_per_s)});
    cell(row, t.health === "down" ? t.health_detail : t.ineligible);
  });
  fillTable("streams", s.streams, (row, st) => {
    row.dataset.stream = st.name;
    cell(row, st.name);
    cell(row, String(num(st.head_lsn)), "num", {"data-head-lsn": num(st.head_lsn)});
    cell(row, fmtBytes(num(st.bytes)), "num");
  });
  $("journal").textContent = `journal ${fmtBytes(num(s.journal_bytes))}` +
      (num(s.journal_budget_bytes) ? ` of a budget of ${fmtBytes(num(s.journal_budget_bytes))}` : "") +
      `; ${fmtBytes(num(s.free_bytes))} free on its disk`;
  $("updated").textContent = "updated " + new Date().toISOString().slice(11, 19) + "Z";
}

function renderAlarms(a) {
  const active = a.active || [];
  $("alarm-count").textContent = `(${active.length})`;
  $("alarm-count").dataset.value = active.length;
  fillTable("alarms", active, (row, x) => {
    cell(row, x.severity, x.severity);
    cell(row, x.check);
    cell(row, x.subject);
    cell(row, x.value_text, "num");
    cell(row, x.threshold_text, "num");
    cell(row, fmtTime(x.since_us));
    cell(row, x.detail);
  });
}

function renderErrors(e) {
  const errors = e.errors || [];
  $("error-count").textContent = `(${errors.length} open)`;
  $("error-count").dataset.value = errors.length;
  fillTable("errors", errors, (row, x) => {
    row.dataset.target = x.target;
    row.dataset.lsn = num(x.lsn);
    cell(row, x.target);
    cell(row, x.stream);
    cell(row, String(num(x.lsn)), "num");
    cell(row, x.kind);
    cell(row, fmtTime(x.failed_at_us));
    cell(row, x.message);
    const actions = row.insertCell();
    for (const verb of ["retry", "discard"]) {
      const b = document.createElement("button");
      b.textContent = verb;
      b.onclick = () => errorAction(verb, x);
      actions.append(b, " ");
    }
  });
}

async function errorAction(verb, x) {
  if (verb === "discard" &&
      !confirm(`Discard LSN ${x.lsn} of stream ${x.stream} for target ${x.target}? It will never reach it.`)) {
    return;
  }
  const body = new URLSearchParams({target: x.target, stream: x.stream, lsn: x.lsn});
  try {
    const r = await api("/api/errors/" + verb, {method: "POST", body});
    showMessage(r.failures && r.failures.length ? r.failures.join("; ") : "");
  } catch (err) {
    showMessage(err.status === 403 ? `${verb} needs a token with the admin role: ${err.message}` : err.message);
  }
  refresh();
}

function keep(s) {
  const now = Date.now() / 1000;
  const targets = {};
  for (const t of s.targets) targets[t.name] = {lag: num(t.lag_records), rate: num(t.apply_per_s)};
  samples.push({t: now, targets});
  while (samples.length && samples[0].t < now - WINDOW_S) samples.shift();
}

function svg(tag, attrs, text) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Axes, grid and labels of a chart; returns the scales.
function frame(chart, x0, x1, yMax, xLabel) {
  const box = chart.viewBox.baseVal;
  const left = 52, right = box.width - 90, top = 10, bottom = box.height - 24;
  chart.replaceChildren();
  const sx = (x) => left + (right - left) * (x - x0) / Math.max(x1 - x0, 1e-9);
  const sy = (y) => bottom - (bottom - top) * y / (yMax || 1);
  for (let i = 0; i <= 4; i++) {
    const y = (yMax || 1) * i / 4;
    chart.append(svg("line", {x1: left, x2: right, y1: sy(y), y2: sy(y), class: "axis"}));
    chart.append(svg("text", {x: left - 4, y: sy(y) + 4, "text-anchor": "end"}, fmtNumber(y)));
  }
  chart.append(svg("text", {x: left, y: box.height - 6}, xLabel[0]));
  chart.append(svg("text", {x: right, y: box.height - 6, "text-anchor": "end"}, xLabel[1]));
  return {sx, sy, right};
}

function niceMax(v) {
  if (v <= 0) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (v <= m * p) return m * p;
  return 10 * p;
}

function drawLive(id, field) {
  const chart = $(id);
  const now = Date.now() / 1000;
  const names = [...new Set(samples.flatMap((h) => Object.keys(h.targets)))].sort();
  let max = 0;
  for (const h of samples) for (const n of names) max = Math.max(max, h.targets[n] ? h.targets[n][field] : 0);
  // A page opened a moment ago shows what it has (at least a minute), not an empty window.
  const first = samples.length ? samples[0].t : now;
  const span = Math.min(WINDOW_S, Math.max(60, now - first));
  const label = span >= 120 ? `-${Math.round(span / 60)} min` : `-${Math.round(span)} s`;
  const {sx, sy, right} = frame(chart, now - span, now, niceMax(max), [label, "now"]);
  names.forEach((n, i) => {
    const pts = samples.filter((h) => h.targets[n]).map((h) => `${sx(h.t).toFixed(1)},${sy(h.targets[n][field]).toFixed(1)}`);
    const colour = COLOURS[i % COLOURS.length];
    chart.append(svg("polyline", {points: pts.join(" "), fill: "none", stroke: colour, "stroke-width": 2, "data-series": n}));
    chart.append(svg("text", {x: right + 8, y: 20 + 16 * i, style: `fill:${colour}`}, n));
  });
}

async function refresh() {
  try {
    const s = await api("/api/status");
    renderStatus(s);
    keep(s);
    drawLive("lag-chart", "lag");
    drawLive("rate-chart", "rate");
  } catch (err) {
    if (err.status === 401 || err.status === 403) return askToken(err.message);
    showMessage("status: " + err.message);
    return;
  }
  const [alarms, errors] = await Promise.allSettled([api("/api/alarms"), api("/api/errors")]);
  if (alarms.status === "fulfilled") renderAlarms(alarms.value);
  else $("alarm-count").textContent = "(" + alarms.reason.message + ")";
  if (errors.status === "fulfilled") renderErrors(errors.value);
  else $("error-count").textContent = "(" + errors.reason.message + ")";
}

// The trend viewer: Average with the Minimum-Maximum band of each interval, and the
// point's limits as dashed lines.
async function drawTrend(ev) {
  if (ev) ev.preventDefault();
  const point = $("trend-point").value;
  const interval = $("trend-interval").value;
  const seconds = Number($("trend-range").value);
  const to = Date.now() * 1000;
  const from = to - seconds * 1e6;
  const step = Math.max(1, Math.round(seconds / 200)) + "s";
  const q = new URLSearchParams({point, interval, from, to, step, aggregates: "Average,Minimum,Maximum,Count"});
  const chart = $("trend-chart");
  try {
    const r = await api("/api/history/aggregates?" + q);
    const series = {};
    for (const s of r.result.series || []) series[s.aggregate.replace("AGGREGATE_", "")] = s.values || [];
    const avg = series.AVERAGE || [];
    const value = (v) => (v && v.value !== undefined ? v.value : null);
    const lim = (r.point.limits || {});
    const ys = [];
    for (const k of ["AVERAGE", "MINIMUM", "MAXIMUM"]) for (const v of series[k] || []) if (value(v) !== null) ys.push(value(v));
    for (const k of ["hihi", "hi", "lo", "lolo"]) if (lim[k] !== null && lim[k] !== undefined) ys.push(lim[k]);
    const lo = ys.length ? Math.min(...ys) : 0, hi = ys.length ? Math.max(...ys) : 1;
    const pad = (hi - lo) * 0.08 || 1;
    const y0 = lo - pad, y1 = hi + pad;
    const {sx, sy, right} = frame(chart, from, to, 1, [fmtTime(from), fmtTime(to)]);
    // frame() labels 0..1: relabel for [y0, y1].
    chart.querySelectorAll("text[text-anchor=end]").forEach((t, i) => { if (i < 5) t.textContent = fmtNumber(y0 + (y1 - y0) * i / 4); });
    const Y = (v) => sy((v - y0) / (y1 - y0));
    const band = [];
    const mins = series.MINIMUM || [], maxs = series.MAXIMUM || [];
    maxs.forEach((v) => value(v) !== null && band.push(`${sx(num(v.ts_us)).toFixed(1)},${Y(value(v)).toFixed(1)}`));
    [...mins].reverse().forEach((v) => value(v) !== null && band.push(`${sx(num(v.ts_us)).toFixed(1)},${Y(value(v)).toFixed(1)}`));
    if (band.length) chart.append(svg("polygon", {points: band.join(" "), class: "band"}));
    const line = avg.filter((v) => value(v) !== null).map((v) => `${sx(num(v.ts_us)).toFixed(1)},${Y(value(v)).toFixed(1)}`);
    chart.append(svg("polyline", {points: line.join(" "), fill: "none", stroke: COLOURS[0], "stroke-width": 2}));
    for (const k of ["hihi", "hi", "lo", "lolo"]) {
      if (lim[k] === null || lim[k] === undefined) continue;
      chart.append(svg("line", {x1: sx(from), x2: right, y1: Y(lim[k]), y2: Y(lim[k]), class: "limit", "data-limit": k}));
      chart.append(svg("text", {x: right + 6, y: Y(lim[k]) + 4, style: "fill:#c53030"}, `${k} ${lim[k]}`));
    }
    const counted = avg.filter((v) => value(v) !== null).length;
    chart.dataset.intervals = avg.length;
    chart.dataset.withData = counted;
    $("trend-title").textContent = `${r.point.name || "point " + point}${r.point.unit ? " [" + r.point.unit + "]" : ""}: ` +
        `average of each ${step} interval (${counted} of ${avg.length} with data), minimum to maximum shaded, limits dashed`;
  } catch (err) {
    chart.replaceChildren();
    $("trend-title").textContent = err.message;
  }
}

function start() {
  // Without a token the first status request says whether one is needed (a node with
  // [auth] required = false answers it).
  token = takeToken();
  $("login").hidden = true;
  $("main").hidden = false;
  document.querySelectorAll(".window").forEach((w) => { w.textContent = `${WINDOW_S / 60} min`; });
  refresh();
  if (!timer) timer = setInterval(refresh, REFRESH_MS);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login").addEventListener("submit", (ev) => {
    ev.preventDefault();
    sessionStorage.setItem(TOKEN_KEY, $("token").value.trim());
    showMessage("");
    start();
  });
  $("trend-form").addEventListener("submit", drawTrend);
  if (given.get("point")) {
    $("trend-point").value = given.get("point");
    if (given.get("interval")) $("trend-interval").value = given.get("interval");
    if (given.get("range")) $("trend-range").value = given.get("range");
  }
  start();
  if (given.get("point")) drawTrend();
});
