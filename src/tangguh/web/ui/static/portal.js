// Citizens' portal: "am I at risk here?", subscribe, report a flood, open data. Mobile first.
import {
  api, applyI18n, baseMap, distanceKm, getToken, h, has, lang, listOf, loadUnits, onLanguage, siagaLabel, t, toast,
  toggleLanguage,
} from "./common.js";

const L = window.L;
const state = { point: null, place: "", units: [], risk: null };

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

// -- report -------------------------------------------------------------------------------------
document.getElementById("report").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const out = document.getElementById("report-result");
  if (!state.point) return toast(t("report.nopoint"), "error");
  const form = new FormData(ev.target);
  form.set("lon", String(state.point[0]));
  form.set("lat", String(state.point[1]));
  const photo = form.get("photo");
  if (!photo || !photo.size) form.delete("photo");
  try {
    const res = await api("/api/v1/reports", { method: "POST", form });
    if (res?.report_id === undefined && res?.id === undefined) throw new Error("no report id");
    const id = res?.report_id ?? res?.id ?? "";
    out.replaceChildren(h("div", { class: "card", id: "report-ok", dataset: { report: id } }, t("report.ok", { id })));
    ev.target.reset();
  } catch (err) {
    out.replaceChildren(h("p", { class: "muted", id: "report-error" }, t("common.error", { reason: err.message })));
  }
});

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

for (const tab of document.querySelectorAll("[data-tab]")) {
  tab.addEventListener("click", () => {
    for (const other of document.querySelectorAll("[data-tab]")) other.setAttribute("aria-selected", String(other === tab));
    for (const panel of document.querySelectorAll(".panel")) panel.hidden = panel.id !== `panel-${tab.dataset.tab}`;
    const showMap = tab.dataset.tab !== "data";
    document.getElementById("map").hidden = !showMap;
    if (showMap) map.invalidateSize();
    if (tab.dataset.tab === "data") loadCollections();
  });
}

document.getElementById("lang").addEventListener("click", () => toggleLanguage());
onLanguage(() => {
  renderRisk();
  if (state.point) setPoint(state.point[0], state.point[1], state.place);
  if (!document.getElementById("panel-data").hidden) loadCollections();
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
window.tangguhPortal = { map, state, setPoint }; // for tests and debugging
document.body.dataset.ready = "1";
