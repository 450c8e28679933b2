// Basic services dashboard: coverage map per indicator and level with a time slider over
// the stored snapshots, legend, underserved units, operator notices, refresh runs, and the
// trend of a clicked unit (inline SVG). Data: /api/v1/services/* (docs/services-refresh.md).
import {
  api, applyI18n, baseMap, fmtTime, getToken, h, lang, listOf, onLanguage, t, toast, toggleLanguage, wireLogin,
} from "./common.js";
import { STRINGS } from "./i18n.js";

// Strings of this page, both languages (merged into the shared table so t() finds them).
const TEXT = {
  id: {
    "svc.title": "Layanan Dasar — Air, Sanitasi, Sampah",
    "svc.back": "Dasbor banjir",
    "svc.map": "Peta cakupan",
    "svc.indicator": "Indikator",
    "svc.level": "Tingkat",
    "svc.snapshot": "Snapshot",
    "svc.nosnapshot": "Belum ada snapshot. Jalankan `tangguh services refresh --all`.",
    "svc.noindicator": "Belum ada indikator",
    "svc.notices": "Pemberitahuan operator",
    "svc.notices.none": "Tidak ada pemberitahuan terbuka.",
    "svc.ack": "Tandai dibaca",
    "svc.acked": "Pemberitahuan {id} ditandai dibaca",
    "svc.trend": "Tren",
    "svc.trend.hint": "Klik wilayah di peta untuk melihat trennya.",
    "svc.trend.none": "Belum ada nilai untuk {unit}.",
    "svc.trend.title": "{indicator} — {unit}",
    "svc.underserved": "Wilayah kurang terlayani",
    "svc.underserved.none": "Tidak ada wilayah kurang terlayani pada snapshot ini.",
    "svc.runs": "Proses pembaruan",
    "svc.runs.none": "Belum ada proses.",
    "svc.refresh": "Perbarui sekarang",
    "svc.refreshed": "Pembaruan {run}: {status}",
    "svc.nodata": "Tidak ada data",
    "svc.underserved.mark": "Kurang terlayani",
    "svc.status.ok": "berhasil",
    "svc.status.partial": "sebagian",
    "svc.status.failed": "gagal",
    "svc.status.running": "berjalan",
    "svc.run.detail": "{ok} sumber berhasil, {failed} gagal, {features} fitur dibaca",
    "svc.value": "Nilai",
  },
  en: {
    "svc.title": "Basic services — Water, Sanitation, Waste",
    "svc.back": "Flood dashboard",
    "svc.map": "Coverage map",
    "svc.indicator": "Indicator",
    "svc.level": "Level",
    "svc.snapshot": "Snapshot",
    "svc.nosnapshot": "No snapshot yet. Run `tangguh services refresh --all`.",
    "svc.noindicator": "No indicators yet",
    "svc.notices": "Operator notices",
    "svc.notices.none": "No open notices.",
    "svc.ack": "Acknowledge",
    "svc.acked": "Notice {id} acknowledged",
    "svc.trend": "Trend",
    "svc.trend.hint": "Click a unit on the map to see its trend.",
    "svc.trend.none": "No values yet for {unit}.",
    "svc.trend.title": "{indicator} — {unit}",
    "svc.underserved": "Underserved units",
    "svc.underserved.none": "No underserved units in this snapshot.",
    "svc.runs": "Refresh runs",
    "svc.runs.none": "No runs yet.",
    "svc.refresh": "Refresh now",
    "svc.refreshed": "Refresh {run}: {status}",
    "svc.nodata": "No data",
    "svc.underserved.mark": "Underserved",
    "svc.status.ok": "ok",
    "svc.status.partial": "partial",
    "svc.status.failed": "failed",
    "svc.status.running": "running",
    "svc.run.detail": "{ok} source(s) ok, {failed} failed, {features} features read",
    "svc.value": "Value",
  },
};
Object.assign(STRINGS.id, TEXT.id);
Object.assign(STRINGS.en, TEXT.en);

const L = window.L;
const V1 = "/api/v1/services";
const PALETTE = ["#f0f9e8", "#bae4bc", "#7bccc4", "#43a2ca", "#0868ac"];
const NODATA = "#d0d4d9";

const state = {
  indicators: [], // [{id, title_id, title_en, unit_id, unit_en}]
  snapshots: [], // [{run_id, taken_at, status}], oldest first
  index: -1, // slider position
  indicator: null,
  level: "rw",
  data: null, // the coverage FeatureCollection shown
  breaks: [],
  selected: null, // unit_id of the trend
  units: {}, // unit_id -> leaflet layer
};

// -- map ----------------------------------------------------------------------------------------
const map = baseMap("map");
const layer = L.geoJSON(null, {
  style: (f) => unitStyle(f.properties),
  onEachFeature: (f, l) => {
    state.units[f.properties.unit_id] = l;
    l.on("click", () => selectUnit(f.properties.unit_id));
    l.bindTooltip(() => tooltip(f.properties), { sticky: true });
  },
}).addTo(map);
let fitted = false;

function indicatorInfo(id = state.indicator) {
  return state.indicators.find((i) => i.id === id) || { id, title_id: id, title_en: id, unit_id: "", unit_en: "" };
}

function title(info) {
  return (lang === "id" ? info.title_id : info.title_en) || info.id;
}

function unitLabel(info) {
  return (lang === "id" ? info.unit_id : info.unit_en) || "";
}

function fmt(value) {
  if (value === null || value === undefined || Number.isNaN(value)) return "–";
  const digits = Math.abs(value) >= 100 || Number.isInteger(value) ? 0 : 1;
  return value.toLocaleString(lang === "id" ? "id-ID" : "en-GB", { maximumFractionDigits: digits });
}

// Five classes: fixed 0-100 for percentages, else equal intervals between min and max.
function computeBreaks(data) {
  const info = indicatorInfo();
  if (info.unit_en === "%" || (state.indicator || "").endsWith("_pct")) return [20, 40, 60, 80];
  const lo = data?.min, hi = data?.max;
  if (lo === null || hi === null || lo === undefined || hi === undefined || hi === lo) return [];
  return [1, 2, 3, 4].map((i) => lo + ((hi - lo) * i) / 5);
}

function colour(value) {
  if (value === null || value === undefined) return NODATA;
  if (!state.breaks.length) return PALETTE[2];
  let k = 0;
  while (k < state.breaks.length && value >= state.breaks[k]) k++;
  return PALETTE[k];
}

function unitStyle(p) {
  const selected = p.unit_id === state.selected;
  return {
    color: selected ? "#111" : p.underserved ? "#d7191c" : "#7f8c8d",
    weight: selected ? 3 : p.underserved ? 2 : 0.8,
    dashArray: p.underserved && !selected ? "4 3" : null,
    fillColor: colour(p.value),
    fillOpacity: 0.8,
  };
}

function tooltip(p) {
  const info = indicatorInfo();
  const value = p.value === null || p.value === undefined ? t("svc.nodata") : `${fmt(p.value)} ${unitLabel(info)}`;
  return `${p.name ?? p.unit_id}: ${value}${p.underserved ? ` · ${t("svc.underserved.mark")}` : ""}`;
}

const legendCtl = L.control({ position: "bottomleft" });
legendCtl.onAdd = () => h("div", { class: "legend", id: "legend" });
legendCtl.addTo(map);

function drawLegend() {
  const box = document.getElementById("legend");
  const info = indicatorInfo();
  if (!state.indicator) return box.replaceChildren(t("svc.noindicator"));
  const edges = [state.data?.min ?? null, ...state.breaks, state.data?.max ?? null];
  const pct = state.breaks.length && state.breaks[0] === 20 && state.breaks[3] === 80;
  const rows = [];
  const n = state.breaks.length ? PALETTE.length : 1;
  for (let k = 0; k < n; k++) {
    const from = pct ? k * 20 : edges[k];
    const to = pct ? (k + 1) * 20 : edges[k + 1];
    const c = state.breaks.length ? PALETTE[k] : PALETTE[2];
    rows.push(h("i", { style: `background:${c}` }), `${fmt(from)} – ${fmt(to)}`, h("br"));
  }
  box.replaceChildren(
    h("strong", {}, title(info)), unitLabel(info) ? ` (${unitLabel(info)})` : "", h("br"),
    ...rows,
    h("i", { style: `background:${NODATA}` }), t("svc.nodata"), h("br"),
    h("i", { style: "background:#fff;border:2px dashed #d7191c" }), t("svc.underserved.mark"),
  );
}

// -- data -----------------------------------------------------------------------------------------
function currentSnapshot() {
  return state.index >= 0 ? state.snapshots[state.index] : null;
}

function atParam() {
  const snap = currentSnapshot();
  return snap ? `&at=${encodeURIComponent(snap.taken_at)}` : "";
}

async function loadIndicators() {
  state.indicators = listOf(await api(`${V1}/indicators`)).filter((i) => i.in_snapshots !== false);
  const select = document.getElementById("indicator");
  if (!state.indicator || !state.indicators.some((i) => i.id === state.indicator)) {
    const preferred = ["water.piped_pct", "waste.tps_walk_pct"].find((id) => state.indicators.some((i) => i.id === id));
    state.indicator = preferred ?? state.indicators[0]?.id ?? null;
  }
  select.replaceChildren(...state.indicators.map((i) =>
    h("option", { value: i.id, selected: i.id === state.indicator }, title(i))));
}

async function loadSnapshots() {
  state.snapshots = listOf(await api(`${V1}/snapshots`));
  const slider = document.getElementById("time");
  slider.max = String(Math.max(0, state.snapshots.length - 1));
  slider.disabled = state.snapshots.length < 2;
  if (state.index < 0 || state.index >= state.snapshots.length) state.index = state.snapshots.length - 1;
  slider.value = String(Math.max(0, state.index));
  slider.dataset.count = String(state.snapshots.length);
  timeLabel();
}

function timeLabel() {
  const snap = currentSnapshot();
  document.getElementById("time-label").textContent = snap ? fmtTime(snap.taken_at) : t("svc.nosnapshot");
}

async function loadCoverage() {
  const params = `level=${state.level}${state.indicator ? `&indicator=${encodeURIComponent(state.indicator)}` : ""}${atParam()}`;
  const data = await api(`${V1}/coverage?${params}`);
  state.data = data;
  state.breaks = computeBreaks(data);
  state.units = {};
  layer.clearLayers();
  layer.addData(data);
  const el = document.getElementById("map");
  el.dataset.units = String(data.features.length);
  el.dataset.run = data.run_id ?? "";
  el.dataset.indicator = state.indicator ?? "";
  el.dataset.level = state.level;
  if (!fitted && data.features.length) {
    const b = layer.getBounds();
    if (b.isValid()) map.fitBounds(b, { padding: [10, 10] });
    fitted = true;
  }
  drawLegend();
}

async function loadUnderserved() {
  const box = document.getElementById("underserved");
  const data = await api(`${V1}/underserved?level=${state.level}${atParam()}`);
  const units = data.units || [];
  if (!units.length) return box.replaceChildren(h("p", { class: "muted" }, t("svc.underserved.none")));
  box.replaceChildren(...units.map((u) => h("div", {
    class: "unit-row", dataset: { unit: u.unit_id }, onclick: () => selectUnit(u.unit_id, true),
  },
  h("span", { class: "grow" }, u.name ?? u.unit_id, u.parent_name ? h("span", { class: "muted" }, ` · ${u.parent_name}`) : null),
  h("span", { class: "reasons" }, reasonText(u.reasons)))));
}

function reasonText(reasons) {
  return (reasons || []).map((r) => {
    if (typeof r === "string") return r;
    return (lang === "id" ? r.id : r.en) || r.indicator || "";
  }).filter(Boolean).join("; ");
}

async function loadRuns() {
  const box = document.getElementById("runs");
  const runs = listOf(await api(`${V1}/runs?limit=20`));
  if (!runs.length) return box.replaceChildren(h("p", { class: "muted" }, t("svc.runs.none")));
  box.replaceChildren(...runs.map((r) => h("div", { class: "run", dataset: { run: r.run_id, status: r.status } },
    h("span", {}, fmtTime(r.started)),
    h("span", { class: `status ${r.status}` }, t(`svc.status.${r.status}`)),
    h("span", { class: "muted grow", title: (lang === "id" ? r.message_id : r.message_en) || "" },
      t("svc.run.detail", { ok: r.sources_ok, failed: r.sources_failed, features: r.features_read })))));
}

async function loadNotices() {
  const box = document.getElementById("notices");
  if (!getToken()) return box.replaceChildren(h("p", { class: "muted" }, t("login.needed")));
  try {
    const items = listOf(await api(`${V1}/notices`));
    if (!items.length) return box.replaceChildren(h("p", { class: "muted" }, t("svc.notices.none")));
    box.replaceChildren(...items.map((n) => h("div", { class: "card notice", dataset: { notice: n.notice_id } },
      h("div", { class: "muted" }, `${fmtTime(n.t)} · ${n.source_id ?? t("svc.indicator")}`),
      h("div", {}, lang === "id" ? n.message_id : n.message_en),
      (lang === "id" ? n.hint_id : n.hint_en) ? h("div", { class: "muted" }, lang === "id" ? n.hint_id : n.hint_en) : null,
      h("button", { class: "secondary ack", onclick: () => ack(n.notice_id) }, t("svc.ack")))));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.status === 401 || err.status === 403 ? t("login.needed") : err.message));
  }
}

async function ack(id) {
  try {
    await api(`${V1}/notices/${id}/ack`, { method: "POST" });
    toast(t("svc.acked", { id }));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await loadNotices();
}

// -- trend ------------------------------------------------------------------------------------------
async function selectUnit(unitId, zoom = false) {
  const previous = state.selected;
  state.selected = unitId;
  for (const id of [previous, unitId]) {
    const l = id && state.units[id];
    if (l) l.setStyle(unitStyle(l.feature.properties));
  }
  const l = state.units[unitId];
  if (zoom && l) map.fitBounds(l.getBounds(), { maxZoom: 15 });
  await drawTrend();
}

async function drawTrend() {
  const box = document.getElementById("trend");
  const unitId = state.selected;
  if (!unitId || !state.indicator) return;
  const data = await api(`${V1}/trend?unit_id=${encodeURIComponent(unitId)}&indicator=${encodeURIComponent(state.indicator)}`);
  const name = data.name ?? unitId;
  const info = indicatorInfo();
  const pts = (data.points || []).filter((p) => p.value !== null);
  const head = h("div", { class: "muted" }, t("svc.trend.title", { indicator: title(info), unit: name }));
  box.dataset.unit = unitId;
  box.dataset.points = String(pts.length);
  if (!pts.length) return box.replaceChildren(head, h("p", { class: "muted" }, t("svc.trend.none", { unit: name })));
  box.replaceChildren(head, chart(pts, info));
}

function svgEl(tag, attrs) {
  const el = document.createElementNS("http://www.w3.org/2000/svg", tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}

function chart(pts, info) {
  const W = 400, H = 170, left = 44, right = 10, top = 12, bottom = 24;
  const svg = svgEl("svg", { viewBox: `0 0 ${W} ${H}`, role: "img" });
  const xs = pts.map((p) => Date.parse(p.taken_at));
  const ys = pts.map((p) => p.value);
  let lo = Math.min(...ys), hi = Math.max(...ys);
  if (info.unit_en === "%") { lo = Math.min(lo, 0); hi = Math.max(hi, 100); }
  if (hi === lo) { hi += 1; lo -= 1; }
  const x0 = xs[0], x1 = xs[xs.length - 1];
  const X = (x) => left + (x1 === x0 ? (W - left - right) / 2 : ((x - x0) / (x1 - x0)) * (W - left - right));
  const Y = (y) => H - bottom - ((y - lo) / (hi - lo)) * (H - top - bottom);
  svg.append(svgEl("line", { x1: left, x2: left, y1: top, y2: H - bottom, stroke: "#bbb" }));
  svg.append(svgEl("line", { x1: left, x2: W - right, y1: H - bottom, y2: H - bottom, stroke: "#bbb" }));
  for (const v of [lo, hi]) {
    const label = svgEl("text", { x: left - 4, y: Y(v) + 3, "text-anchor": "end" });
    label.textContent = fmt(v);
    svg.append(label);
  }
  const day = (x) => new Date(x).toLocaleDateString(lang === "id" ? "id-ID" : "en-GB", { timeZone: "Asia/Jakarta", day: "2-digit", month: "short", year: "2-digit" });
  const first = svgEl("text", { x: left, y: H - 8, "text-anchor": "start" });
  first.textContent = day(x0);
  svg.append(first);
  if (x1 !== x0) {
    const last = svgEl("text", { x: W - right, y: H - 8, "text-anchor": "end" });
    last.textContent = day(x1);
    svg.append(last);
  }
  svg.append(svgEl("polyline", {
    points: pts.map((p, i) => `${X(xs[i]).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(" "),
    fill: "none", stroke: "#0868ac", "stroke-width": 2,
  }));
  const current = currentSnapshot()?.run_id;
  pts.forEach((p, i) => {
    const dot = svgEl("circle", {
      cx: X(xs[i]).toFixed(1), cy: Y(ys[i]).toFixed(1), r: p.run_id === current ? 5 : 3,
      fill: p.run_id === current ? "#d7191c" : "#0868ac",
    });
    const tip = svgEl("title", {});
    tip.textContent = `${fmtTime(p.taken_at)}: ${fmt(p.value)} ${unitLabel(info)}`;
    dot.append(tip);
    svg.append(dot);
  });
  return svg;
}

// -- controls, login, language ------------------------------------------------------------------------
async function redraw() {
  timeLabel();
  await Promise.all([loadCoverage(), loadUnderserved()]);
  if (state.selected) await drawTrend();
  document.body.dataset.shown = `${state.indicator}|${state.level}|${currentSnapshot()?.run_id ?? ""}`;
}

document.getElementById("indicator").addEventListener("change", (ev) => {
  state.indicator = ev.target.value;
  redraw();
});
document.getElementById("level").addEventListener("change", (ev) => {
  state.level = ev.target.value;
  state.selected = null;
  redraw();
});
document.getElementById("time").addEventListener("input", (ev) => {
  state.index = Number(ev.target.value);
  redraw();
});
document.getElementById("refresh").addEventListener("click", async () => {
  try {
    const run = await api(`${V1}/refresh`, { method: "POST", json: {} });
    toast(t("svc.refreshed", { run: run.run_id, status: t(`svc.status.${run.status}`) }));
    await reloadAll(true);
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
});

function showUser() {
  const user = sessionStorage.getItem("tangguh.user");
  const logged = Boolean(getToken());
  document.getElementById("login").hidden = logged;
  document.getElementById("logout").hidden = !logged;
  document.getElementById("refresh").hidden = !logged;
  const who = document.getElementById("who");
  who.hidden = !logged;
  who.textContent = logged ? t("login.as", { user }) : "";
}

wireLogin(async () => {
  showUser();
  await loadNotices();
});
document.getElementById("lang").addEventListener("click", () => toggleLanguage());
onLanguage(async () => {
  showUser();
  await loadIndicators();
  drawLegend();
  await Promise.all([loadUnderserved(), loadRuns(), loadNotices()]);
  timeLabel();
  if (state.selected) await drawTrend();
});

async function reloadAll(latest = false) {
  await Promise.all([loadIndicators(), loadSnapshots()]);
  if (latest) {
    state.index = state.snapshots.length - 1;
    document.getElementById("time").value = String(Math.max(0, state.index));
  }
  await Promise.all([redraw(), loadRuns(), loadNotices()]);
}

applyI18n();
showUser();
await reloadAll();
window.tangguhServices = { map, state }; // for tests and debugging
document.body.dataset.ready = "1";
