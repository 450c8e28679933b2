// Citizens' portal: "am I at risk here?", subscribe, report a problem and follow my reports, open
// data. Mobile first.
import {
  api, applyI18n, baseMap, distanceKm, fmtTime, getToken, h, has, lang, listOf, loadUnits, onLanguage, siagaLabel, t,
  toast, toggleLanguage,
} from "./common.js";

const L = window.L;
const state = { point: null, place: "", units: [], risk: null, tab: "risk" };

// -- map and place search -----------------------------------------------------------------------
const map = baseMap("map", { tap: true });
const unitsLayer = L.geoJSON(null, {
  style: (f) => (f.properties.level === "kelurahan"
    ? { color: "#34495e", weight: 2, fill: false, interactive: false }
    : { color: "#95a5a6", weight: 0.7, fillColor: "#f8fafc", fillOpacity: 0.6 }),
}).addTo(map);
const marker = L.circleMarker([0, 0], { radius: 9, color: "#fff", weight: 3, fillColor: "#d7191c", fillOpacity: 1 });

async function drawUnits() {
  const [kel, rw] = await Promise.all([loadUnits("kelurahan"), loadUnits("rw")]);
  state.units = [...kel.features, ...rw.features];
  unitsLayer.addData(rw);
  unitsLayer.addData(kel);
  const bounds = unitsLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [4, 4] });
}

const norm = (s) => String(s ?? "").toLowerCase().normalize("NFKD").replace(/[^a-z0-9 ]/g, " ").replace(/\s+/g, " ").trim();

function search(text) {
  const list = document.getElementById("search-results");
  const q = norm(text);
  if (q.length < 2) return list.replaceChildren();
  const hits = state.units.filter((f) => norm(f.properties.name).includes(q) || norm(f.properties.unit_id).includes(q)).slice(0, 8);
  list.replaceChildren(...(hits.length ? hits.map((f) => h("li", {
    onclick: () => {
      list.replaceChildren();
      const c = L.geoJSON(f).getBounds().getCenter();
      setPoint(c.lng, c.lat, f.properties.name);
      map.fitBounds(L.geoJSON(f).getBounds(), { maxZoom: 16 });
    },
  }, h("strong", {}, f.properties.name), " ", h("span", { class: "muted" }, f.properties.level))) : [h("li", { class: "muted" }, t("portal.search.none"))]));
}

document.getElementById("search").addEventListener("input", (e) => search(e.target.value));
document.getElementById("locate").addEventListener("click", () => {
  navigator.geolocation?.getCurrentPosition(
    (pos) => setPoint(pos.coords.longitude, pos.coords.latitude),
    (err) => toast(t("common.error", { reason: err.message }), "error"),
  );
});
map.on("click", (e) => setPoint(e.latlng.lng, e.latlng.lat));

function placeName(lon, lat) {
  // The RW (and kelurahan) containing the point, from the loaded boundaries.
  const inside = (ring) => {
    let ok = false;
    for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      const [xi, yi] = ring[i], [xj, yj] = ring[j];
      if ((yi > lat) !== (yj > lat) && lon < ((xj - xi) * (lat - yi)) / (yj - yi) + xi) ok = !ok;
    }
    return ok;
  };
  const contains = (g) => {
    const polys = g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : [];
    return polys.some((p) => inside(p[0]) && !p.slice(1).some(inside));
  };
  const found = state.units.filter((f) => f.geometry && contains(f.geometry));
  found.sort((a, b) => (a.properties.level === "rw" ? -1 : 1) - (b.properties.level === "rw" ? -1 : 1));
  return found.map((f) => f.properties.name).join(", ");
}

async function setPoint(lon, lat, name) {
  state.point = [lon, lat];
  state.place = name || placeName(lon, lat) || `${lat.toFixed(5)}, ${lon.toFixed(5)}`;
  marker.setLatLng([lat, lon]).addTo(map);
  for (const id of ["sub-point", "report-point"]) {
    const el = document.getElementById(id);
    el.textContent = t(id === "sub-point" ? "sub.point" : "risk.where", { place: state.place });
  }
  await showRisk();
}

// -- "am I at risk here?" ------------------------------------------------------------------------
function pick(obj, ...keys) {
  for (const k of keys) if (obj && obj[k] !== undefined && obj[k] !== null) return obj[k];
  return undefined;
}

function label(o) {
  if (o === null || o === undefined) return "";
  if (typeof o !== "object") return String(o);
  return pick(o, `name_${lang}`, `title_${lang}`, `label_${lang}`, "name", "title", "label") ?? "";
}

async function riskFromApi(lon, lat) {
  // GET /api/v1/risk-at: {units: {rw: {unit_id, name}, kelurahan: …}, hazards: [{layer,
  // title_id, title_en, attribute, value, depth_cm}], alerts, rw_state, nearest_shelter,
  // nearest_hospital: {name, distance_m, …}}
  const data = await api(`/api/v1/risk-at?lon=${lon}&lat=${lat}`);
  const units = Array.isArray(data.units) ? data.units : Object.values(data.units || {}).filter(Boolean);
  return {
    units,
    hazards: data.hazards || [],
    alerts: listOf(data.alerts ?? [], "alerts"),
    rwState: data.rw_state,
    shelter: data.nearest_shelter,
    hospital: data.nearest_hospital,
    approx: false,
  };
}

async function nearestFromOgc(layer, lon, lat) {
  for (const d of [0.03, 0.1, null]) {
    const bbox = d === null ? "" : `&bbox=${lon - d},${lat - d},${lon + d},${lat + d}`;
    const res = await fetch(`/collections/${layer}/items?f=json&limit=1000${bbox}`);
    if (!res.ok) return null;
    const fc = await res.json();
    let best = null;
    for (const f of fc.features) {
      if (f.geometry?.type !== "Point") continue;
      const [x, y] = f.geometry.coordinates;
      const km = distanceKm(lon, lat, x, y);
      if (!best || km < best.distance_km) best = { ...f.properties, lon: x, lat: y, distance_km: km };
    }
    if (best) return best;
  }
  return null;
}

async function riskFromOpenData(lon, lat) {
  const e = 1e-6;
  const res = await fetch(`/collections/admin_units/items?f=json&limit=50&bbox=${lon - e},${lat - e},${lon + e},${lat + e}`);
  const units = res.ok ? (await res.json()).features.map((f) => f.properties) : [];
  const ids = new Set(units.map((u) => u.unit_id));
  const snap = await fetch("/dashboard/snapshot").then((r) => (r.ok ? r.json() : { alerts: [] }));
  const alerts = snap.alerts.filter((a) => (a.unit_ids || []).some((id) => ids.has(id)));
  const [shelter, hospital] = await Promise.all([nearestFromOgc("shelters", lon, lat), nearestFromOgc("hospitals", lon, lat)]);
  return { units, hazards: [], alerts, shelter, hospital, approx: true };
}

function facility(titleKey, f) {
  if (!f) return h("div", {}, h("strong", {}, t(titleKey)), ": ", t("risk.none"));
  const km = f.distance_km ?? (f.distance_m !== undefined ? f.distance_m / 1000 : undefined);
  return h("div", { class: "facility" }, h("strong", {}, t(titleKey)), ": ", label(f) || f.id || "",
    km !== undefined ? h("span", { class: "muted" }, ` · ${t("risk.distance", { km: Number(km).toFixed(1) })}`) : null);
}

function renderRisk() {
  const box = document.getElementById("risk");
  const r = state.risk;
  if (!r) return box.replaceChildren();
  const worst = r.alerts.reduce((m, a) => Math.min(m, a.level ?? 4), 4);
  box.replaceChildren(h("div", { class: "card", id: "risk-panel", dataset: { level: worst } },
    h("h3", {}, t("risk.title")),
    h("div", { class: "muted" }, t("risk.where", { place: state.place })),
    h("div", { class: "risk-level" }, h("span", { class: `badge s${worst}` }, siagaLabel(worst))),
    r.rwState ? h("p", { class: "rw-state" }, t("rw.current", { label: label({ label_id: r.rwState.label_id, label_en: r.rwState.label_en }) })) : null,
    h("strong", {}, t("risk.alerts")),
    r.alerts.length
      ? h("ul", {}, r.alerts.map((a) => h("li", { class: "risk-alert" }, label({ title_id: a.headline_id, title_en: a.headline_en, title: a.headline }),
          h("div", { class: "muted" }, lang === "id" ? a.instruction_id : a.instruction_en))))
      : h("p", { class: "muted" }, t("risk.alerts.none")),
    h("strong", {}, t("risk.hazards")),
    r.hazards.length
      ? h("ul", {}, r.hazards.map((z) => h("li", { class: "risk-hazard" },
          `${label(z) || z.layer}: ${pick(z, `label_${lang}`, "value") ?? ""}${z.depth_cm != null ? ` (${z.depth_cm} cm)` : ""}`)))
      : h("p", { class: "muted" }, t("risk.hazards.none")),
    facility("risk.shelter", r.shelter),
    facility("risk.hospital", r.hospital),
    r.approx ? h("p", { class: "muted" }, t("risk.approx")) : null));
}

async function showRisk() {
  const [lon, lat] = state.point;
  const box = document.getElementById("risk");
  box.replaceChildren(h("p", { class: "muted" }, t("common.loading")));
  try {
    state.risk = (await has("/api/v1/risk-at")) ? await riskFromApi(lon, lat) : await riskFromOpenData(lon, lat);
  } catch (err) {
    state.risk = null;
    box.replaceChildren(h("p", { class: "muted" }, t("common.error", { reason: err.message })));
    return;
  }
  renderRisk();
}

// -- subscribe ----------------------------------------------------------------------------------
document.getElementById("subscribe").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("sub-result");
  if (!state.point) return toast(t("sub.nopoint"), "error");
  const form = new FormData(ev.target);
  try {
    const res = await api("/api/v1/subscriptions", {
      method: "POST",
      json: {
        lon: state.point[0],
        lat: state.point[1],
        language: form.get("language"),
        channels: { [form.get("channel")]: form.get("contact") },
      },
    });
    const token = res?.token;
    const link = res?.links?.manage ?? (token ? `/api/v1/subscriptions/me?token=${encodeURIComponent(token)}` : null);
    out.replaceChildren(h("div", { class: "card", id: "sub-ok" }, h("p", {}, t("sub.ok")),
      link ? h("p", {}, t("sub.link"), h("br"), h("a", { href: link }, new URL(link, location.href).href)) : null));
    ev.target.reset();
  } catch (err) {
    out.replaceChildren(h("p", { class: "muted", id: "sub-error" }, t("common.error", { reason: err.message })));
  }
});

// -- report ---------------------------------------------------------------------------------------
// Six report types (depth only for floods), an optional photo. The answer carries the reporter
// token once: it is kept in this browser (localStorage, "my reports") to follow the report and
// to confirm or reopen it when the responsible unit marks it resolved.
const $ = (id) => document.getElementById(id);
const MINE_KEY = "tangguh.myreports";
const MINE_MAX = 50;
const MINE_REFRESH_MS = 60_000;
const OPEN_STATUSES = ["new", "verified", "assigned", "in_progress", "reopened"];
const reports = { view: "send", config: null, items: null, last: null, loading: null };

function mine() {
  try {
    const list = JSON.parse(localStorage.getItem(MINE_KEY) || "[]");
    return Array.isArray(list) ? list.filter((x) => x && typeof x.id === "string" && x.id) : [];
  } catch {
    return [];
  }
}

function saveMine(list) {
  localStorage.setItem(MINE_KEY, JSON.stringify(list.slice(0, MINE_MAX)));
  showMineCount();
}

function remember(entry) {
  saveMine([entry, ...mine().filter((x) => x.id !== entry.id)]);
}

function forget(id) {
  saveMine(mine().filter((x) => x.id !== id));
  if (reports.items) reports.items = reports.items.filter((x) => x.e.id !== id);
  renderMine();
}

function showMineCount() {
  const el = $("mine-count");
  const n = mine().length;
  const waiting = (reports.items || []).some((x) => x.r?.status === "resolved");
  el.textContent = n ? String(n) : "";
  el.classList.toggle("attention", waiting);
}

const typeLabel = (type) => (type ? t(`report.type.${type}`) : t("report.type.unknown"));
const statusBadge = (status) => h("span", { class: `badge status st-${status}`, dataset: { status } }, t(`status.${status}`));
const hours = (n) => (n >= 48 && n % 24 === 0 ? t("time.days", { n: n / 24 }) : t("time.hours", { n }));

async function loadReportConfig() {
  // Responsible units (English names) and SLA hours per type, from GET /api/v1/reports/units.
  if (!(await has("/api/v1/reports/units"))) return;
  try {
    reports.config = await api("/api/v1/reports/units", { token: null });
  } catch {
    reports.config = null;
  }
}

function unitName(r) {
  const unit = (reports.config?.units || []).find((u) => u.code === r.unit);
  return (unit && (lang === "en" ? unit.name_en : unit.name_id)) || r.unit_name || r.unit || "";
}

function syncType() {
  const type = $("report-type").value;
  const flood = type === "flood";
  const depth = $("report-depth");
  $("report-depth-field").hidden = !flood;
  depth.disabled = !flood; // a disabled field is not sent
  depth.required = flood;
  const rule = (reports.config?.types || []).find((x) => x.type === type);
  $("report-sla").textContent = rule
    ? t("report.sla", { reach: hours(rule.reach_hours), resolve: hours(rule.resolve_hours) })
    : "";
}

function renderSubmitted() {
  const out = $("report-result");
  const r = reports.last;
  if (!r) return;
  out.replaceChildren(h("div", { class: "card", id: "report-ok", dataset: { report: r.report_id, status: r.status } },
    h("p", {}, h("strong", {}, t("report.ok", { id: r.report_id }))),
    h("p", {}, `${typeLabel(r.type)} · ${t("mine.status")}: `, statusBadge(r.status)),
    h("p", { class: "muted" }, r.token ? t("report.saved") : t("report.notoken")),
    r.token ? h("details", { class: "token" }, h("summary", {}, t("report.token.show")),
      h("code", { id: "report-token" }, r.token), h("p", { class: "muted" }, t("report.token.note"))) : null,
    h("button", { type: "button", class: "secondary", id: "report-to-mine", onclick: () => showView("mine") }, t("report.tomine"))));
}

$("report-type").addEventListener("change", syncType);
$("report").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = $("report-result");
  if (!state.point) return toast(t("report.nopoint"), "error");
  const form = new FormData(ev.target);
  form.set("lon", String(state.point[0]));
  form.set("lat", String(state.point[1]));
  const photo = form.get("photo");
  if (!photo || !photo.size) form.delete("photo");
  const button = ev.target.querySelector("button[type=submit]");
  button.disabled = true;
  try {
    const res = await api("/api/v1/reports", { method: "POST", form });
    if (!res?.report_id) throw new Error("no report id");
    if (res.token) {
      remember({ id: res.report_id, token: res.token, type: res.type, t: res.t, place: state.place });
    }
    reports.last = res;
    renderSubmitted();
    const type = $("report-type").value;
    ev.target.reset();
    $("report-type").value = type; // the next report is often of the same kind
    syncType();
  } catch (err) {
    out.replaceChildren(h("p", { class: "muted", id: "report-error" }, t("common.error", { reason: err.message })));
  } finally {
    button.disabled = false;
  }
});

// -- my reports ---------------------------------------------------------------------------------
function showView(view) {
  reports.view = view;
  for (const b of document.querySelectorAll("[data-view]")) b.setAttribute("aria-pressed", String(b.dataset.view === view));
  $("report-send").hidden = view === "mine";
  $("report-mine").hidden = view !== "mine";
  syncMap();
  if (view === "mine") loadMine();
}

for (const b of document.querySelectorAll("[data-view]")) b.addEventListener("click", () => showView(b.dataset.view));
$("mine-refresh").addEventListener("click", () => loadMine());
$("mine-add-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const id = $("mine-add-id").value.trim();
  const token = $("mine-add-token").value.trim();
  if (!id || !token) return;
  remember({ id, token, type: null, t: null, place: "" });
  ev.target.reset();
  $("mine-add").open = false;
  loadMine();
});

async function fetchOne(e) {
  try {
    return { e, r: await api(`/api/v1/reports/${encodeURIComponent(e.id)}`, { token: null }) };
  } catch (err) {
    return { e, err };
  }
}

async function loadMine() {
  const box = $("mine-list");
  const list = mine();
  if (!list.length) {
    reports.items = [];
    return renderMine();
  }
  if (!(await has("/api/v1/reports/{report_id}"))) {
    return box.replaceChildren(h("p", { class: "muted unavailable" }, t("common.unavailable")));
  }
  if (!reports.items) box.replaceChildren(h("p", { class: "muted" }, t("common.loading")));
  const run = Promise.all(list.map(fetchOne));
  reports.loading = run;
  const items = await run;
  if (reports.loading !== run) return; // a newer refresh is on its way
  reports.items = items;
  renderMine();
}

function slaLines(r) {
  const sla = r.sla || {};
  const lines = [];
  const open = OPEN_STATUSES.includes(r.status);
  if (!sla.reached && open && sla.reach_due) lines.push(t("mine.reach_due", { time: fmtTime(sla.reach_due) }));
  if (open && sla.resolve_due) lines.push(t("mine.resolve_due", { time: fmtTime(sla.resolve_due) }));
  if (r.status === "resolved" && r.resolved_at) lines.push(t("mine.resolved_at", { time: fmtTime(r.resolved_at) }));
  if (r.status === "confirmed" && r.closed_at) lines.push(t("mine.closed_at", { time: fmtTime(r.closed_at) }));
  return lines;
}

function slaFlags(r) {
  const sla = r.sla || {};
  const flags = [];
  if (sla.reach_overdue) flags.push("reach_overdue");
  if (sla.reach_late) flags.push("reach_late");
  if (sla.resolve_overdue) flags.push("resolve_overdue");
  return flags.map((f) => h("span", { class: `badge flag ${f}`, dataset: { flag: f } }, t(`mine.flag.${f}`)));
}

async function loadEvents(id, box) {
  try {
    const events = await api(`/api/v1/reports/${encodeURIComponent(id)}/events`, { token: null });
    box.replaceChildren(h("ol", { class: "events" }, events.map((ev) => h("li", {},
      h("span", { class: "muted" }, fmtTime(ev.t)), " ", t(`status.${ev.status_to}`),
      ev.unit && ev.status_to === "assigned" ? h("span", { class: "muted" }, ` · ${unitName({ unit: ev.unit, unit_name: ev.unit })}`) : null))));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, t("common.error", { reason: err.message })));
  }
}

async function act(e, action, note) {
  if (action === "reopen" && !note) return toast(t("mine.note.needed"), "error");
  try {
    const r = await api(`/api/v1/reports/${encodeURIComponent(e.id)}/${action}`, {
      method: "POST", json: { token: e.token, note: note || null }, token: null,
    });
    reports.items = (reports.items || []).map((x) => (x.e.id === e.id ? { e, r } : x));
    renderMine();
    toast(t(action === "confirm" ? "mine.confirmed" : "mine.reopened"));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
}

function mineCard({ e, r, err }, notes) {
  if (err) {
    const gone = err.status === 404;
    return h("div", { class: "card myreport", dataset: { report: e.id, status: gone ? "gone" : "error" } },
      h("h3", {}, typeLabel(e.type)),
      h("div", { class: "muted" }, `#${e.id}`),
      h("p", { class: "muted" }, gone ? t("mine.gone") : t("common.error", { reason: err.message })),
      gone ? h("button", { type: "button", class: "secondary forget", onclick: () => forget(e.id) }, t("mine.forget")) : null);
  }
  const place = e.place || placeName(r.lon, r.lat) || `${r.lat.toFixed(5)}, ${r.lon.toFixed(5)}`;
  const flags = slaFlags(r);
  const history = h("div", { class: "history" });
  const details = h("details", { ontoggle: (ev) => ev.target.open && loadEvents(r.report_id, history) },
    h("summary", {}, t("mine.history")), history);
  const resolution = r.resolution_photo_urls || [];
  let decide = null;
  if (r.status === "resolved") {
    const note = h("textarea", { class: "note", rows: 2, maxlength: 1000, placeholder: t("mine.note") });
    note.value = notes[r.report_id] || "";
    decide = h("div", { class: "decide" },
      h("p", {}, h("strong", {}, t("mine.ask"))),
      note,
      h("div", { class: "row actions" },
        h("button", { type: "button", class: "confirm", onclick: () => act(e, "confirm", note.value.trim()) }, t("mine.confirm")),
        h("button", { type: "button", class: "danger reopen", onclick: () => act(e, "reopen", note.value.trim()) }, t("mine.reopen"))));
  }
  return h("div", { class: `card myreport${flags.length ? " overdue" : ""}`, dataset: { report: r.report_id, status: r.status } },
    h("div", { class: "row" },
      h("h3", { class: "grow" }, typeLabel(r.type), r.depth_cm != null ? ` · ${t("mine.depth", { d: r.depth_cm })}` : ""),
      statusBadge(r.status)),
    h("div", { class: "muted" }, [t("mine.sent", { time: fmtTime(r.t) }), place, `#${r.report_id}`].join(" · ")),
    flags.length ? h("div", { class: "row flags" }, flags) : null,
    h("p", { class: "unit" }, r.unit_name || r.unit ? t("mine.unit", { unit: unitName(r) }) : t("mine.unit.none")),
    ...slaLines(r).map((line) => h("div", { class: "muted sla" }, line)),
    r.cluster_size > 1 ? h("div", { class: "muted" }, t("mine.cluster", { n: r.cluster_size - 1 })) : null,
    r.text ? h("blockquote", {}, r.text) : null,
    r.photo_url ? h("img", { class: "thumb", src: r.photo_url, alt: t("mine.photo"), loading: "lazy" }) : null,
    resolution.length
      ? h("div", { class: "resolution" }, h("strong", {}, t(r.status === "reopened" ? "mine.resolution.earlier" : "mine.resolution")),
          resolution.map((src) => h("img", { class: "resolution-photo", src, alt: t("mine.resolution") })))
      : null,
    decide,
    details);
}

function renderMine() {
  const box = $("mine-list");
  showMineCount();
  if (!reports.items) return;
  if (!reports.items.length) return box.replaceChildren(h("p", { class: "muted", id: "mine-empty" }, t("mine.empty")));
  const notes = {}; // keep what the citizen is typing across refreshes
  for (const el of box.querySelectorAll(".myreport textarea.note")) notes[el.closest(".myreport").dataset.report] = el.value;
  box.replaceChildren(...reports.items.map((x) => mineCard(x, notes)));
}

setInterval(() => {
  if (reports.view === "mine" && !$("report-mine").hidden && !$("panel-report").hidden && document.visibilityState === "visible") loadMine();
}, MINE_REFRESH_MS);

// -- open data ----------------------------------------------------------------------------------
async function loadCollections() {
  document.getElementById("data-intro").textContent = t("data.intro", { url: location.origin });
  const box = document.getElementById("collections");
  const res = await fetch("/collections?f=json", { headers: { Accept: "application/json", "Accept-Language": lang } });
  if (!res.ok) return box.replaceChildren(h("p", { class: "muted" }, t("common.unavailable")));
  const doc = await res.json();
  box.replaceChildren(...doc.collections.map((c) => {
    const meta = c.tangguh || {};
    const enclosures = (c.links || []).filter((l) => l.rel === "enclosure");
    const fmt = (href) => (new URL(href, location.href).searchParams.get("f") || "").toUpperCase();
    return h("div", { class: "card collection", dataset: { collection: c.id } },
      h("h3", {}, c.title || c.id),
      h("div", { class: "muted" }, [
        meta.feature_count !== undefined ? t("data.features", { n: Number(meta.feature_count).toLocaleString(lang) }) : null,
        meta.synthetic ? t("data.synthetic") : null, c.license,
      ].filter(Boolean).join(" · ")),
      c.description ? h("p", {}, c.description) : null,
      h("div", { class: "row" },
        h("a", { href: `/collections/${c.id}/items?f=html` }, "HTML"),
        h("a", { href: `/collections/${c.id}/items?f=json&limit=10000`, download: `${c.id}.geojson` }, "GeoJSON"),
        ...enclosures.map((l) => h("a", { href: l.href, download: "" }, fmt(l.href)))));
  }));
}

// -- tabs, language, PWA ------------------------------------------------------------------------
// Reports need a citizen account (role citizen): a small login above the form.
async function citizenLogin() {
  const box = document.getElementById("report-login");
  if (!(await has("/api/v1/auth/token", "post"))) return;
  const render = () => {
    const user = sessionStorage.getItem("tangguh.user");
    if (getToken()) {
      box.replaceChildren(h("p", { class: "muted" }, t("login.as", { user }), " ",
        h("button", { class: "secondary", type: "button", onclick: () => {
          sessionStorage.removeItem("tangguh.token");
          render();
        } }, t("login.logout"))));
      return;
    }
    const user_ = h("input", { name: "username", autocomplete: "username", placeholder: t("login.user"), required: true });
    const pass = h("input", { name: "password", type: "password", autocomplete: "current-password", placeholder: t("login.password"), required: true });
    const form = h("form", { id: "citizen-login" }, h("p", { class: "muted" }, t("report.login")), user_, pass,
      h("button", { type: "submit" }, t("login.submit")));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        const body = new URLSearchParams({ grant_type: "password", username: user_.value, password: pass.value });
        const res = await api("/api/v1/auth/token", { method: "POST", form: body, token: null });
        sessionStorage.setItem("tangguh.token", res.access_token);
        sessionStorage.setItem("tangguh.user", user_.value);
        render();
      } catch (err) {
        toast(t("login.failed", { reason: err.message }), "error");
      }
    });
    box.replaceChildren(form);
  };
  render();
  onLanguage(render);
}

async function guardForms() {
  const pairs = [["subscribe", "/api/v1/subscriptions"], ["report", "/api/v1/reports"]];
  for (const [id, path] of pairs) {
    const ok = await has(path, "post");
    const form = document.getElementById(id);
    form.querySelector("button[type=submit]").disabled = !ok;
    form.dataset.available = ok ? "1" : "0";
    const note = form.querySelector(".unavailable");
    if (!ok && !note) form.append(h("p", { class: "muted unavailable" }, t("common.unavailable")));
  }
}

// The map is hidden on the data tab and in "my reports" (each card names its place).
function syncMap() {
  const showMap = state.tab !== "data" && !(state.tab === "report" && reports.view === "mine");
  const el = document.getElementById("map");
  const was = !el.hidden;
  el.hidden = !showMap;
  if (showMap && !was) map.invalidateSize();
}

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    state.tab = tab.dataset.tab;
    for (const other of document.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${tab.dataset.tab}`;
    syncMap();
    if (tab.dataset.tab === "data") loadCollections();
    if (tab.dataset.tab === "report" && reports.view === "mine") loadMine();
  });
}

document.getElementById("lang").addEventListener("click", () => toggleLanguage());
onLanguage(() => {
  renderRisk();
  if (state.point) setPoint(state.point[0], state.point[1], state.place);
  if (!document.getElementById("panel-data").hidden) loadCollections();
  syncType();
  renderSubmitted();
  renderMine();
  document.querySelectorAll(".unavailable").forEach((el) => (el.textContent = t("common.unavailable")));
});

if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/portal/sw.js", { scope: "/portal" }).catch((err) => console.warn("sw", err));
}

applyI18n();
document.getElementById("sub-language").value = lang;
await drawUnits();
await guardForms();
await citizenLogin();
await loadReportConfig();
syncType();
showMineCount();
window.tangguhPortal = { map, state, setPoint, reports, loadMine }; // for tests and debugging
document.body.dataset.ready = "1";
