// Connectivity dashboard: evacuation routes coloured by walking time, shelters sized by
// load/capacity, RWs without a safe route, flooded streets, the flood cascade; SDG 11.2.1
// per kelurahan and TOD areas when the transit endpoints are served.
import {
  api, applyI18n, baseMap, getToken, h, has, lang, loadUnits, onLanguage, t, toast, toggleLanguage,
} from "./common.js";
import { STRINGS } from "./i18n.js";

const L = window.L;

// Strings of this page, both languages (merged into the shared table).
const OWN = {
  id: {
    "conn.title": "Konektivitas dan Evakuasi",
    "conn.plan": "Rencana evakuasi",
    "conn.noplan": "Belum ada rencana evakuasi. Hitung dengan `tangguh evacuate plan` atau tombol di bawah (operator).",
    "conn.flood.layer": "ID lapisan banjir",
    "conn.flood.layerOpt": "Lapisan banjir",
    "conn.compute": "Hitung sekarang",
    "conn.computed": "Rencana {id} dihitung.",
    "conn.noroute": "RW tanpa rute aman / kekurangan tempat",
    "conn.none": "Semua pengungsi mendapat tempat.",
    "conn.cascade": "Dampak berantai banjir",
    "conn.cascade.none": "Tidak ada data dampak berantai.",
    "conn.evacuees": "Pengungsi",
    "conn.placed": "Mendapat tempat",
    "conn.shortfall": "Kekurangan tempat",
    "conn.without": "RW tanpa rute aman",
    "conn.flood": "Banjir",
    "conn.minutes": "menit",
    "conn.people": "orang",
    "conn.routes": "Rute evakuasi (menit jalan kaki)",
    "conn.shelters": "Tempat pengungsian (isi/kapasitas)",
    "conn.streets": "Jalan tergenang",
    "conn.rwfail": "RW tanpa rute aman",
    "conn.sdg": "SDG 11.2.1 per kelurahan",
    "conn.tod": "Kawasan TOD",
    "conn.shelter.tip": "{name}: {load} / {capacity} orang",
    "conn.shelter.unusable": "{name}: tidak dapat dipakai ({reason})",
    "conn.route.tip": "{rw} → {shelter}: {people} orang, {metres} m, {minutes} menit",
    "conn.stops": "Halte tidak dapat dipakai",
    "conn.sdg.before": "SDG 11.2.1 sebelum",
    "conn.sdg.after": "SDG 11.2.1 sesudah",
    "conn.hospital": "RW kehilangan akses rumah sakit",
    "conn.market": "RW kehilangan akses pasar",
    "reason.no_open_street": "tidak ada jalan terbuka",
    "reason.beyond_limit": "di luar batas jarak",
    "reason.shelters_full": "tempat pengungsian penuh",
    "reason.flooded": "tergenang",
  },
  en: {
    "conn.title": "Connectivity and Evacuation",
    "conn.plan": "Evacuation plan",
    "conn.noplan": "No evacuation plan yet. Compute one with `tangguh evacuate plan` or the button below (operator).",
    "conn.flood.layer": "Flood layer id",
    "conn.flood.layerOpt": "Flood layer",
    "conn.compute": "Compute now",
    "conn.computed": "Plan {id} computed.",
    "conn.noroute": "RWs without a safe route / shortfall",
    "conn.none": "Every evacuee has a place.",
    "conn.cascade": "Flood cascade",
    "conn.cascade.none": "No cascade data.",
    "conn.evacuees": "Evacuees",
    "conn.placed": "Placed",
    "conn.shortfall": "Shortfall",
    "conn.without": "RWs without a safe route",
    "conn.flood": "Flood",
    "conn.minutes": "minutes",
    "conn.people": "people",
    "conn.routes": "Evacuation routes (walking minutes)",
    "conn.shelters": "Shelters (load/capacity)",
    "conn.streets": "Flooded streets",
    "conn.rwfail": "RWs without a safe route",
    "conn.sdg": "SDG 11.2.1 per kelurahan",
    "conn.tod": "TOD areas",
    "conn.shelter.tip": "{name}: {load} / {capacity} people",
    "conn.shelter.unusable": "{name}: unusable ({reason})",
    "conn.route.tip": "{rw} → {shelter}: {people} people, {metres} m, {minutes} min",
    "conn.stops": "Stops unusable",
    "conn.sdg.before": "SDG 11.2.1 before",
    "conn.sdg.after": "SDG 11.2.1 after",
    "conn.hospital": "RWs losing a hospital",
    "conn.market": "RWs losing a market",
    "reason.no_open_street": "no open street",
    "reason.beyond_limit": "beyond the walk limit",
    "reason.shelters_full": "shelters full",
    "reason.flooded": "flooded",
  },
};
Object.assign(STRINGS.id, OWN.id);
Object.assign(STRINGS.en, OWN.en);

const state = { plan: null, rw: {} };
const map = baseMap("map");
const rwLayer = L.geoJSON(null, { style: rwStyle, onEachFeature: (f, l) => l.bindTooltip(() => f.properties.name, { sticky: true }) });
const streetLayer = L.geoJSON(null, { style: { color: "#1f78b4", weight: 4, opacity: 0.8 } });
const routeLayer = L.geoJSON(null, {
  style: (f) => ({ color: minuteColour(f.properties.minutes), weight: 3, opacity: 0.9 }),
  onEachFeature: (f, l) => l.bindTooltip(() => t("conn.route.tip", {
    rw: f.properties.rw_name || f.properties.unit_id, shelter: f.properties.shelter_name,
    people: f.properties.people, metres: Math.round(f.properties.metres), minutes: f.properties.minutes,
  })),
});
const shelterLayer = L.geoJSON(null, {
  pointToLayer: (f, latlng) => {
    const p = f.properties;
    const radius = 5 + 10 * Math.sqrt(Math.min(1, p.fill ?? 0));
    const colour = !p.usable ? "#7f7f7f" : (p.fill ?? 0) >= 0.999 ? "#d7191c" : "#1a9641";
    return L.circleMarker(latlng, { radius, color: "#222", weight: 1, fillColor: colour, fillOpacity: 0.85 });
  },
  onEachFeature: (f, l) => l.bindTooltip(() => (f.properties.usable
    ? t("conn.shelter.tip", { name: f.properties.name, load: f.properties.load, capacity: f.properties.capacity })
    : t("conn.shelter.unusable", { name: f.properties.name, reason: t(`reason.${f.properties.reason}`) }))),
});
const sdgLayer = L.geoJSON(null, { style: (f) => sdgStyle(f.properties.unit_id) });
const todLayer = L.geoJSON(null, { style: { color: "#6a3d9a", weight: 1.5, fillOpacity: 0.15 } });
const sdgShare = {};

function minuteColour(m) {
  if (m <= 10) return "#1a9641";
  if (m <= 20) return "#a6d96a";
  if (m <= 30) return "#fdae61";
  return "#d7191c";
}

function rwStyle(f) {
  const row = state.rw[f.properties.unit_id];
  if (row && row.placed === 0) return { color: "#b10026", weight: 2, fillColor: "#e31a1c", fillOpacity: 0.45, dashArray: "4" };
  if (row && row.shortfall > 0) return { color: "#7f7f7f", weight: 0.8, fillColor: "#fd8d3c", fillOpacity: 0.35 };
  return { color: "#9e9e9e", weight: 0.6, fill: false };
}

function sdgStyle(unitId) {
  const share = sdgShare[unitId];
  if (share === undefined || share === null) return { color: "#999", weight: 0.5, fill: false };
  const v = Math.max(0, Math.min(1, share));
  return { color: "#555", weight: 0.7, fillColor: `hsl(${Math.round(120 * v)}, 70%, 45%)`, fillOpacity: 0.45 };
}

function legend() {
  const ctl = L.control({ position: "bottomleft" });
  ctl.onAdd = () => {
    const div = h("div", { class: "legend", id: "legend" });
    const fill = () => div.replaceChildren(
      h("strong", {}, t("conn.routes")), h("br"),
      ...[[10, "≤ 10"], [20, "≤ 20"], [30, "≤ 30"], [31, "> 30"]].flatMap(([m, label]) => [
        h("i", { style: `background:${minuteColour(m)}` }), `${label} ${t("conn.minutes")}`, h("br")]),
      h("i", { style: "background:#1f78b4" }), t("conn.streets"), h("br"),
      h("i", { style: "background:#e31a1c" }), t("conn.rwfail"), h("br"),
    );
    fill();
    onLanguage(fill);
    return div;
  };
  ctl.addTo(map);
}

async function loadPlan() {
  const box = document.getElementById("plan-summary");
  let plan;
  const stored = await api("/api/v1/evacuation/plans?limit=1");
  try {
    if (!Array.isArray(stored) || !stored.length) throw Object.assign(new Error("no plan"), { status: 404 });
    plan = await api("/api/v1/evacuation/plan");
  } catch (err) {
    if (err.status === 404) {
      box.replaceChildren(h("p", { class: "muted", id: "no-plan" }, t("conn.noplan")));
      document.getElementById("map").dataset.routes = "0";
      return;
    }
    throw err;
  }
  state.plan = plan;
  state.rw = Object.fromEntries(plan.rw.map((r) => [r.unit_id, r]));
  rwLayer.setStyle(rwStyle);
  renderSummary();
  const [routes, shelters, streets] = await Promise.all([
    api(`/api/v1/evacuation/routes?plan_id=${encodeURIComponent(plan.plan_id)}`),
    api(`/api/v1/evacuation/shelters?plan_id=${encodeURIComponent(plan.plan_id)}`),
    api(`/api/v1/evacuation/flooded-streets?plan_id=${encodeURIComponent(plan.plan_id)}`).catch(() => ({ type: "FeatureCollection", features: [] })),
  ]);
  for (const layer of [routeLayer, shelterLayer, streetLayer]) layer.clearLayers();
  streetLayer.addData(streets);
  routeLayer.addData(routes);
  shelterLayer.addData(shelters);
  const el = document.getElementById("map");
  el.dataset.routes = String(routes.features.length);
  el.dataset.shelters = String(shelters.features.length);
  el.dataset.streets = String(streets.features.length);
  el.dataset.noroute = String(plan.rw.filter((r) => r.placed === 0).length);
  renderShortfall();
  await loadCascade(plan);
}

function renderSummary() {
  const plan = state.plan;
  if (!plan) return;
  const s = plan.summary;
  const row = (label, value) => h("div", { class: "row" }, h("span", {}, label), h("strong", {}, String(value ?? "–")));
  document.getElementById("plan-summary").replaceChildren(
    h("div", { class: "muted" }, `${plan.plan_id} — ${t("conn.flood")}: ${plan.flood.key}`),
    row(t("conn.evacuees"), s.evacuees.toLocaleString(lang)),
    row(t("conn.placed"), s.placed.toLocaleString(lang)),
    row(t("conn.shortfall"), s.shortfall.toLocaleString(lang)),
    row(t("conn.without"), s.rw_without_route),
  );
}

function renderShortfall() {
  const box = document.getElementById("shortfall");
  const rows = (state.plan?.rw || []).filter((r) => r.shortfall > 0).sort((a, b) => b.shortfall - a.shortfall);
  if (!rows.length) {
    box.replaceChildren(h("p", { class: "muted" }, t("conn.none")));
    return;
  }
  box.replaceChildren(...rows.slice(0, 200).map((r) => h("div", { class: "entry", dataset: { unit: r.unit_id, reason: r.reason || "" } },
    h("strong", {}, r.name || r.unit_id), " ",
    `${r.shortfall.toLocaleString(lang)} ${t("conn.people")} — ${t(`reason.${r.reason}`)}`)));
}

async function loadCascade(plan) {
  const box = document.getElementById("cascade");
  const flood = plan.flood;
  const params = new URLSearchParams();
  if (flood.kind === "layer") {
    params.set("flood", flood.layer);
    if (flood.field) params.set("flood_field", flood.field);
    if (flood.min_value !== null && flood.min_value !== undefined) params.set("flood_min", flood.min_value);
  } else {
    params.set("rw_states", flood.min_state);
  }
  try {
    const c = await api(`/api/v1/transit/cascade?${params}`);
    state.cascade = c;
    renderCascade();
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, `${t("conn.cascade.none")} ${err.message}`));
  }
}

function renderCascade() {
  const c = state.cascade;
  if (!c) return;
  const s = c.summary;
  const row = (label, value) => h("div", { class: "row" }, h("span", {}, label), h("strong", {}, String(value ?? "–")));
  document.getElementById("cascade").replaceChildren(
    row(t("conn.stops"), `${s.stops_unusable} / ${s.stops}`),
    row(t("conn.sdg.before"), `${s.sdg_before_pct} %`),
    row(t("conn.sdg.after"), `${s.sdg_after_pct} %`),
    row(t("conn.hospital"), s.rw_losing_hospital),
    row(t("conn.market"), s.rw_losing_market),
  );
  document.getElementById("cascade").dataset.ready = "1";
}

async function transitLayers(overlays) {
  // Only layers that have been computed: no request that would answer 404.
  try {
    const runs = await api("/api/v1/transit/access/trend");
    if (Array.isArray(runs) && runs.length) {
      const data = await api("/api/v1/transit/access?level=kelurahan");
      for (const f of data.features || []) {
        if (f.properties?.unit_id) sdgShare[f.properties.unit_id] = f.properties.share;
      }
      sdgLayer.addData(data);
      overlays[t("conn.sdg")] = sdgLayer;
    }
  } catch (err) { /* the layer stays off when SDG 11.2.1 cannot be read */ }
  try {
    const cols = await api("/collections?f=json");
    if ((cols.collections || []).some((c) => c.id === "tod_station_areas")) {
      const data = await api("/api/v1/transit/tod");
      if (data && data.type === "FeatureCollection") {
        todLayer.addData(data);
        overlays[t("conn.tod")] = todLayer;
      }
    }
  } catch (err) { /* as above */ }
}

async function init() {
  applyI18n();
  document.getElementById("lang").addEventListener("click", toggleLanguage);
  onLanguage(() => { renderSummary(); renderShortfall(); renderCascade(); });
  const rw = await loadUnits("rw");
  rwLayer.addData(rw);
  rwLayer.addTo(map);
  streetLayer.addTo(map);
  routeLayer.addTo(map);
  shelterLayer.addTo(map);
  const bounds = rwLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
  legend();
  const overlays = {
    [t("conn.rwfail")]: rwLayer, [t("conn.streets")]: streetLayer,
    [t("conn.routes")]: routeLayer, [t("conn.shelters")]: shelterLayer,
  };
  await transitLayers(overlays);
  L.control.layers(null, overlays, { collapsed: true }).addTo(map);
  try {
    await loadPlan();
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  setupForms();
  document.body.dataset.ready = "1";
}

function setupForms() {
  const form = document.getElementById("plan-form");
  const login = document.getElementById("login");
  const showForm = () => {
    const user = sessionStorage.getItem("tangguh.user");
    form.hidden = !getToken();
    login.hidden = Boolean(getToken());
    const who = document.getElementById("who");
    who.hidden = !getToken();
    if (getToken()) who.textContent = t("login.as", { user });
  };
  showForm();
  login.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(ev.target);
    const body = new URLSearchParams({ grant_type: "password", username: data.get("username"), password: data.get("password") });
    try {
      const res = await api("/api/v1/auth/token", { method: "POST", form: body, token: null });
      sessionStorage.setItem("tangguh.token", res.access_token);
      sessionStorage.setItem("tangguh.user", data.get("username"));
      showForm();
    } catch (err) {
      toast(t("login.failed", { reason: err.message }), "error");
    }
  });
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const data = new FormData(form);
    const json = {};
    if (data.get("rw_states")) json.rw_states = Number(data.get("rw_states"));
    else json.flood = data.get("flood");
    try {
      const plan = await api("/api/v1/evacuation/plan", { method: "POST", json });
      toast(t("conn.computed", { id: plan.plan_id }));
      await loadPlan();
    } catch (err) {
      toast(t("common.error", { reason: err.message }), "error");
    }
  });
}

init();
