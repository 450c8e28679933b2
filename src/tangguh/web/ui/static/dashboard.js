// Operators' dashboard: live gauges, map of RW flood states and warned areas, alert
// approval queue, incidents with their tasks, RW state log, impact analyses.
import {
  RW_COLOURS, SIAGA_COLOURS, api, applyI18n, baseMap, fmtTime, getToken, h, has, lang, listOf,
  loadUnits, onLanguage, siagaLabel, t, toast, toggleLanguage, wireLogin,
} from "./common.js";
import { STRINGS } from "./i18n.js";

const L = window.L;
const REFRESH_SECONDS = 30;

const state = {
  snapshot: null,
  levels: {}, // station_id -> level seen last
  units: {}, // unit_id -> {feature, layer}
  rwStates: {}, // unit_id -> {state, note, updated}
  alerts: [],
  alertsFp: null,
};

// -- map ----------------------------------------------------------------------------------------
const map = baseMap("map");
const kelurahanLayer = L.geoJSON(null, {
  style: { color: "#34495e", weight: 2, fill: false, interactive: false },
});
const rwLayer = L.geoJSON(null, {
  style: (f) => rwStyle(f.properties.unit_id),
  onEachFeature: (f, layer) => {
    state.units[f.properties.unit_id] = { feature: f, layer };
    layer.on("click", (e) => openRwPopup(f, e.latlng));
    layer.bindTooltip(() => `${f.properties.name} — ${t(`rw.state.${rwState(f.properties.unit_id)}`)}`, { sticky: true });
  },
});
const warnedLayer = L.layerGroup();
const stationLayer = L.layerGroup();

function rwState(unitId) {
  return state.rwStates[unitId]?.state ?? 0;
}

function rwStyle(unitId) {
  const s = rwState(unitId);
  return { color: "#7f8c8d", weight: 0.8, fillColor: RW_COLOURS[s], fillOpacity: s ? 0.75 : 0.55 };
}

async function drawUnits() {
  const [kel, rw] = await Promise.all([loadUnits("kelurahan"), loadUnits("rw")]);
  for (const f of kel.features) state.units[f.properties.unit_id] = { feature: f, layer: null };
  kelurahanLayer.addData(kel);
  rwLayer.addData(rw);
  rwLayer.addTo(map);
  kelurahanLayer.addTo(map);
  warnedLayer.addTo(map);
  stationLayer.addTo(map);
  const bounds = rwLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
  document.getElementById("map").dataset.units = String(rw.features.length);
}

async function layerSwitcher() {
  const overlays = {};
  overlays[t("map.kelurahan")] = kelurahanLayer;
  overlays[t("map.rw")] = rwLayer;
  overlays[t("map.warned")] = warnedLayer;
  overlays[t("map.stations")] = stationLayer;
  const res = await fetch("/collections?f=json", { headers: { Accept: "application/json", "Accept-Language": lang } });
  if (res.ok) {
    const doc = await res.json();
    for (const c of doc.collections || []) {
      if (c.id === "admin_units") continue;
      const layer = L.geoJSON(null, {
        pointToLayer: (_f, latlng) => L.circleMarker(latlng, { radius: 4, color: "#6a3d9a", weight: 1, fillOpacity: 0.7 }),
        style: { color: "#6a3d9a", weight: 1.5 },
        onEachFeature: (f, l) => l.bindTooltip(String(f.properties.name ?? f.id)),
      });
      layer.collectionId = c.id;
      overlays[c.title || c.id] = layer;
    }
  }
  const control = L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  control.getContainer().setAttribute("aria-label", t("layers.title"));
  map.on("overlayadd", async (e) => {
    const id = e.layer.collectionId;
    if (!id) return;
    const b = map.getBounds();
    const bbox = [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map((v) => v.toFixed(5)).join(",");
    const r = await fetch(`/collections/${id}/items?f=json&limit=2000&bbox=${bbox}`);
    if (r.ok) {
      e.layer.clearLayers();
      e.layer.addData(await r.json());
    }
  });
}

function legend() {
  const ctl = L.control({ position: "bottomleft" });
  ctl.onAdd = () => {
    const div = h("div", { class: "legend", id: "legend" });
    const fill = () => {
      div.replaceChildren(
        h("strong", {}, t("map.stations")), h("br"),
        ...[1, 2, 3, 4].flatMap((l) => [h("i", { style: `background:${SIAGA_COLOURS[l]}` }), siagaLabel(l), h("br")]),
        h("strong", {}, t("map.rw")), h("br"),
        ...[0, 1, 2, 3, 4].flatMap((s) => [h("i", { style: `background:${RW_COLOURS[s]}` }), t(`rw.state.${s}`), h("br")]),
      );
    };
    fill();
    onLanguage(fill);
    return div;
  };
  ctl.addTo(map);
}

// -- RW flood state -----------------------------------------------------------------------------
function openRwPopup(feature, latlng) {
  const id = feature.properties.unit_id;
  const select = h("select", { name: "state" },
    [0, 1, 2, 3, 4].map((s) => h("option", { value: s, selected: s === rwState(id) }, t(`rw.state.${s}`))));
  const note = h("input", { name: "note", placeholder: t("rw.note") });
  const save = h("button", { type: "submit" }, t("rw.save"));
  const form = h("form", { class: "rw-form", dataset: { unit: id } },
    h("strong", {}, feature.properties.name), h("div", { class: "muted" }, id),
    h("label", {}, t("rw.state")), select, h("label", {}, t("rw.note")), note, h("div", {}, save));
  if (!getToken()) {
    save.disabled = true;
    form.append(h("p", { class: "muted" }, t("login.needed")));
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      await api(`/api/v1/rw-states/${encodeURIComponent(id)}`, {
        method: "PUT",
        json: { state: Number(select.value), note: note.value || null },
      });
      toast(t("rw.saved", { unit: feature.properties.name, state: t(`rw.state.${select.value}`) }));
      map.closePopup();
      await loadRwStates();
    } catch (err) {
      toast(t("common.error", { reason: err.message }), "error");
    }
  });
  L.popup().setLatLng(latlng).setContent(form).openOn(map);
}

async function loadRwStates() {
  if (!(await has("/api/v1/rw-states"))) return;
  try {
    const rows = listOf(await api("/api/v1/rw-states"), "states", "rw_states");
    state.rwStates = {};
    for (const r of rows) state.rwStates[r.unit_id ?? r.id] = r;
    rwLayer.setStyle((f) => rwStyle(f.properties.unit_id));
  } catch (err) {
    console.warn("rw-states", err);
  }
  const box = document.getElementById("rw-log");
  if (!(await has("/api/v1/rw-states/log"))) return box.replaceChildren(h("p", { class: "muted" }, t("common.unavailable")));
  try {
    const log = listOf(await api("/api/v1/rw-states/log"), "log", "entries");
    box.replaceChildren(...(log.length ? log.slice(0, 50).map((e) =>
      h("div", {}, `${fmtTime(e.t ?? e.time ?? e.created ?? e.updated)} · ${unitName(e.unit_id)} → ${t(`rw.state.${e.state}`)}`,
        e.note ? h("span", { class: "muted" }, ` — ${e.note}`) : null)) : [h("p", { class: "muted" }, t("rw.log.none"))]));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.status === 401 || err.status === 403 ? t("login.needed") : err.message));
  }
}

function unitName(id) {
  return state.units[id]?.feature.properties.name ?? id;
}

// -- gauges (live) ------------------------------------------------------------------------------
function sparkline(st) {
  const pts = st.history.filter((p) => p[1] !== null);
  const W = 200, H = 44;
  const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  svg.setAttribute("preserveAspectRatio", "none");
  if (pts.length < 2) return svg;
  const xs = pts.map((p) => Date.parse(p[0]));
  const ys = pts.map((p) => p[1]);
  const thr = Object.entries(st.thresholds || {}).map(([l, v]) => [Number(l), v]);
  const lo = Math.min(...ys), hi = Math.max(...ys, ...thr.filter(([l]) => l === 3).map(([, v]) => v));
  const x0 = xs[0], x1 = xs[xs.length - 1] || x0 + 1, span = hi - lo || 1;
  const X = (x) => ((x - x0) / (x1 - x0 || 1)) * W;
  const Y = (y) => H - 2 - ((y - lo) / span) * (H - 4);
  for (const [l, v] of thr) {
    if (v < lo || v > hi) continue;
    const line = document.createElementNS(svg.namespaceURI, "line");
    Object.entries({ x1: 0, x2: W, y1: Y(v), y2: Y(v), stroke: SIAGA_COLOURS[l], "stroke-dasharray": "4 3", "stroke-width": 1 })
      .forEach(([k, val]) => line.setAttribute(k, val));
    svg.append(line);
  }
  const path = document.createElementNS(svg.namespaceURI, "polyline");
  path.setAttribute("points", pts.map((p, i) => `${X(xs[i]).toFixed(1)},${Y(ys[i]).toFixed(1)}`).join(" "));
  path.setAttribute("fill", "none");
  path.setAttribute("stroke", st.parameter === "rainfall" ? "#3182bd" : "#1d2433");
  path.setAttribute("stroke-width", "1.5");
  svg.append(path);
  return svg;
}

function renderGauges() {
  const snap = state.snapshot;
  const box = document.getElementById("gauges");
  if (!snap) return;
  if (!snap.stations.length) return box.replaceChildren(h("p", { class: "muted" }, t("gauges.none")));
  // Highest Siaga first, then other gauges with data, then those without data.
  const rank = (st) => [st.latest.value === null ? 1 : 0, st.parameter === "water_level" ? 0 : 1, st.level ?? 9];
  const ordered = [...snap.stations].sort((a, b) => {
    const ra = rank(a), rb = rank(b);
    for (let i = 0; i < ra.length; i++) if (ra[i] !== rb[i]) return ra[i] - rb[i];
    return a.station_id < b.station_id ? -1 : 1;
  });
  const cards = ordered.map((st) => {
    const before = state.levels[st.station_id];
    const level = st.level;
    const card = h("div", {
      class: `card gauge${before !== undefined && before !== level ? " changed" : ""}${st.latest.value === null ? " nodata" : ""}`,
      dataset: { station: st.station_id, level: level ?? "" },
      onclick: () => st.lat != null && map.setView([st.lat, st.lon], 15),
    },
    h("h3", { title: st.name }, st.name),
    h("div", { class: "row" },
      h("span", { class: "value" }, st.latest.value === null ? t("gauges.nodata") : `${st.latest.value} ${st.unit}`),
      st.parameter === "water_level"
        ? h("span", { class: `badge s${level ?? ""}`, "data-siaga": level ?? "" }, siagaLabel(level))
        : h("span", { class: "badge" }, t("gauges.rain"))),
    h("div", { class: "muted" }, st.latest.t ? t("gauges.at", { time: fmtTime(st.latest.t) }) : ""),
    sparkline(st));
    return card;
  });
  box.replaceChildren(...cards);
  stationLayer.clearLayers();
  for (const st of snap.stations) {
    if (st.lat == null) continue;
    const colour = st.parameter === "water_level" ? SIAGA_COLOURS[st.level] ?? "#8a94a3" : "#3182bd";
    L.circleMarker([st.lat, st.lon], { radius: 8, color: "#222", weight: 1.5, fillColor: colour, fillOpacity: 1 })
      .bindTooltip(`${st.name}: ${st.latest.value ?? "–"} ${st.unit} · ${st.parameter === "water_level" ? siagaLabel(st.level) : t("gauges.rain")}`)
      .addTo(stationLayer);
  }
  for (const st of snap.stations) state.levels[st.station_id] = st.level;
}

// -- alerts -------------------------------------------------------------------------------------
function alertCard(a, actions) {
  const headline = lang === "id" ? a.headline_id : a.headline_en;
  return h("div", { class: `card alert s${a.level}`, dataset: { alert: a.alert_id, status: a.status } },
    h("div", { class: "row" },
      h("span", { class: `badge s${a.level}` }, siagaLabel(a.level)),
      h("span", { class: "muted" }, `${a.status} · v${a.version}`),
      h("span", { class: "muted grow" }, t("alerts.areas", { n: (a.unit_ids || []).length }))),
    h("h3", {}, headline || a.alert_id),
    h("div", { class: "muted" }, fmtTime(a.sent || a.updated || a.created)),
    actions);
}

async function loadAlerts() {
  const box = document.getElementById("alerts");
  let active = state.snapshot?.alerts ?? [];
  if (await has("/api/v1/alerts")) {
    try {
      active = listOf(await api("/api/v1/alerts?active=true"), "alerts");
    } catch (err) {
      console.warn("alerts", err);
    }
  }
  state.alerts = active;
  box.replaceChildren(...(active.length
    ? active.map((a) => alertCard(a, h("div", { class: "row" },
        h("a", { href: `/api/v1/alerts/${a.alert_id}/cap.xml`, target: "_blank" }, t("alerts.cap")),
        a.deliveries ? h("span", { class: "muted" }, `${t("alerts.deliveries")}: ${JSON.stringify(a.deliveries)}`) : null)))
    : [h("p", { class: "muted" }, t("alerts.none"))]));
  drawWarned();
}

function drawWarned() {
  warnedLayer.clearLayers();
  for (const a of state.alerts) {
    for (const id of a.unit_ids || []) {
      const u = state.units[id];
      if (!u) continue;
      L.geoJSON(u.feature, {
        interactive: false,
        style: { color: SIAGA_COLOURS[a.level] ?? "#d7191c", weight: 3, dashArray: "6 4", fill: true, fillOpacity: 0.12 },
      }).addTo(warnedLayer);
    }
  }
}

async function loadQueue() {
  const box = document.getElementById("queue");
  if (!(await has("/api/v1/alerts/{id}/approve", "post"))) return box.replaceChildren(h("p", { class: "muted" }, t("common.unavailable")));
  if (!getToken()) return box.replaceChildren(h("p", { class: "muted" }, t("login.needed")));
  try {
    const drafts = listOf(await api("/api/v1/alerts?status=draft"), "alerts");
    box.replaceChildren(...(drafts.length
      ? drafts.map((a) => alertCard(a, h("div", { class: "row" },
          h("button", { class: "approve", onclick: () => decide(a, "approve") }, t("alerts.approve")),
          h("button", { class: "danger cancel", onclick: (ev) => askReason(ev.target, a) }, t("alerts.cancel")))))
      : [h("p", { class: "muted" }, t("alerts.queue.none"))]));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

// Cancelling needs a reason (sent in both languages); approving does not.
function askReason(button, alert) {
  const input = h("input", { class: "grow reason", placeholder: t("alerts.reason"), required: true });
  const form = h("form", { class: "row" }, input, h("button", { class: "danger", type: "submit" }, t("alerts.confirm")));
  form.addEventListener("submit", (ev) => {
    ev.preventDefault();
    decide(alert, "cancel", input.value.trim());
  });
  button.closest(".row").replaceWith(form);
  input.focus();
}

async function decide(alert, action, reason = "") {
  const body = action === "cancel"
    ? { reason_id: STRINGS.id["alerts.reason.text"].replace("{reason}", reason),
        reason_en: STRINGS.en["alerts.reason.text"].replace("{reason}", reason) }
    : undefined;
  try {
    await api(`/api/v1/alerts/${encodeURIComponent(alert.alert_id)}/${action}`, { method: "POST", json: body });
    toast(t(action === "approve" ? "alerts.approved" : "alerts.cancelled", { id: alert.alert_id }));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await Promise.all([loadQueue(), loadAlerts(), loadIncidents()]);
}

// -- incidents and tasks ------------------------------------------------------------------------
async function loadIncidents() {
  const box = document.getElementById("incidents");
  if (!(await has("/api/v1/incidents"))) return box.replaceChildren(h("p", { class: "muted" }, t("common.unavailable")));
  if (!getToken()) return box.replaceChildren(h("p", { class: "muted" }, t("login.needed")));
  try {
    const incidents = listOf(await api("/api/v1/incidents?status=open"), "incidents");
    if (!incidents.length) return box.replaceChildren(h("p", { class: "muted" }, t("incidents.none")));
    const cards = [];
    for (const inc of incidents.slice(0, 20)) {
      let tasks = inc.tasks;
      if (!tasks) {
        const detail = await api(`/api/v1/incidents/${encodeURIComponent(inc.incident_id ?? inc.id)}`);
        tasks = detail.tasks ?? [];
      }
      cards.push(h("div", { class: "card", dataset: { incident: inc.incident_id ?? inc.id } },
        h("div", { class: "row" }, h("span", { class: `badge s${inc.level ?? ""}` }, siagaLabel(inc.level)),
          h("h3", { class: "grow" }, (lang === "id" ? inc.title_id : inc.title_en) || inc.title || inc.incident_id)),
        ...tasks.map((task) => h("div", { class: "task", dataset: { task: task.task_id, status: task.status } },
          h("span", { class: "grow" }, (lang === "id" ? task.title_id : task.title_en) || task.title || task.task_id),
          h("span", { class: "muted" }, [task.agency, task.status].filter(Boolean).join(" · ")),
          ["open", "assigned"].includes(task.status) ? h("button", { class: "secondary", onclick: () => taskAction(task, "ack") }, t("tasks.ack")) : null,
          task.status !== "done" && task.status !== "cancelled" ? h("button", { onclick: () => taskAction(task, "done") }, t("tasks.done")) : null))));
    }
    box.replaceChildren(...cards);
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

async function taskAction(task, action) {
  try {
    await api(`/api/v1/tasks/${encodeURIComponent(task.task_id)}/${action}`, { method: "POST", json: {} });
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await loadIncidents();
}

// -- analyses -----------------------------------------------------------------------------------
async function loadAnalyses() {
  const box = document.getElementById("analyses");
  if (!(await has("/api/v1/analyses"))) return box.replaceChildren(h("p", { class: "muted" }, t("common.unavailable")));
  try {
    const rows = listOf(await api("/api/v1/analyses"), "analyses");
    box.replaceChildren(...(rows.length ? rows.slice(0, 20).map((a) => {
      const id = a.analysis_id ?? a.id;
      return h("div", { class: "card", dataset: { analysis: id } },
        h("h3", {}, a.title || a.kind || id), h("div", { class: "muted" }, fmtTime(a.created ?? a.finished)),
        h("a", { href: `/api/v1/analyses/${encodeURIComponent(id)}/report.html`, target: "_blank" }, t("analyses.report")));
    }) : [h("p", { class: "muted" }, t("analyses.none"))]));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

// -- login --------------------------------------------------------------------------------------
function showUser() {
  const user = sessionStorage.getItem("tangguh.user");
  const logged = Boolean(getToken());
  document.getElementById("login").hidden = logged;
  document.getElementById("logout").hidden = !logged;
  const who = document.getElementById("who");
  who.hidden = !logged;
  who.textContent = logged ? t("login.as", { user }) : "";
}

wireLogin(async () => {
  showUser();
  await refreshOps();
});
document.getElementById("lang").addEventListener("click", () => toggleLanguage());
onLanguage(() => {
  showUser();
  renderGauges();
  refreshOps();
});

// -- live updates -------------------------------------------------------------------------------
async function refreshOps() {
  await Promise.all([loadAlerts(), loadQueue(), loadIncidents(), loadRwStates(), loadAnalyses()]);
}

function onSnapshot(snap) {
  // Any change (reading, level, alert) re-reads the operators' lists too.
  const changed = snap.fingerprint !== state.alertsFp;
  state.snapshot = snap;
  state.alertsFp = snap.fingerprint;
  renderGauges();
  document.body.dataset.snapshot = snap.fingerprint;
  if (changed) refreshOps();
}

function connect() {
  const dot = document.getElementById("live-dot");
  const source = new EventSource("/dashboard/live");
  source.addEventListener("snapshot", (ev) => {
    dot.classList.add("on");
    dot.title = t("dash.live");
    onSnapshot(JSON.parse(ev.data));
  });
  source.addEventListener("open", () => dot.classList.add("on"));
  source.addEventListener("error", () => {
    dot.classList.remove("on");
    dot.title = t("dash.offline");
  });
}

applyI18n();
showUser();
legend();
await drawUnits();
await layerSwitcher();
connect();
setInterval(refreshOps, REFRESH_SECONDS * 1000);
window.tangguhDashboard = { map, state, units: state.units }; // for tests and debugging
document.body.dataset.ready = "1";
