// Operators' report queue (/dashboard/reports): citizen reports with their status, SLA
// and near-duplicate clusters, on a map; lifecycle actions; RW flood-state suggestions
// (applied only when the operator clicks). Strings of this page live here.
import {
  api, applyI18n, baseMap, fmtTime, getToken, h, lang, listOf, loadUnits, onLanguage, RW_COLOURS,
  t, toast, toggleLanguage, wireLogin,
} from "./common.js";

const L = window.L;
const REFRESH_SECONDS = 30;

const STR = {
  id: {
    title: "Antrean Laporan Warga",
    back: "Dasbor",
    queue: "Antrean",
    suggestions: "Saran status banjir RW",
    summary: "Laporan per RW",
    "f.status": "Semua status",
    "f.type": "Semua jenis",
    "f.overdue": "Hanya terlambat (SLA)",
    "f.flagged": "Hanya bertanda",
    none: "Tidak ada laporan.",
    "none.suggestions": "Tidak ada saran (belum ada laporan banjir terverifikasi).",
    "login.needed": "Masuk sebagai operator untuk melihat antrean.",
    open: "terbuka", overdue: "terlambat", total: "laporan",
    late: "Terlambat", "late.reach": "belum sampai unit > {h} j", "late.resolve": "melewati target selesai",
    cluster: "{n} laporan serupa", primary: "utama", unit: "Unit",
    "a.verify": "Verifikasi", "a.reject": "Tolak", "a.restore": "Pulihkan", "a.start": "Mulai kerjakan",
    "a.resolve": "Selesai (foto)", "a.reopen": "Buka kembali", "a.assign": "Tugaskan",
    "a.apply": "Terapkan status {s}",
    "need.photo": "Pilih foto penyelesaian dahulu.",
    done: "Laporan {id}: {status}",
    applied: "Status RW {rw} diubah ke {s}",
    depth: "{d} cm",
    "sug.line": "{rw}: saran {s} (median {d} cm, {n} laporan), sekarang {c}",
    "flag.burst": "banyak kiriman", "flag.ip_burst": "banyak dari satu alamat",
    "flag.often_rejected": "sering ditolak", "flag.photo_reused": "foto dipakai ulang",
    "type.flood": "Banjir", "type.water_outage": "Air PAM mati", "type.water_quality": "Air kecil/keruh",
    "type.waste_pile": "Tumpukan sampah", "type.blocked_drain": "Saluran tersumbat",
    "type.damaged_infrastructure": "Prasarana rusak",
    "st.new": "baru", "st.verified": "terverifikasi", "st.rejected": "ditolak", "st.assigned": "ditugaskan",
    "st.in_progress": "dikerjakan", "st.resolved": "selesai", "st.confirmed": "dikonfirmasi",
    "st.reopened": "dibuka kembali",
  },
  en: {
    title: "Citizen report queue",
    back: "Dashboard",
    queue: "Queue",
    suggestions: "Suggested RW flood states",
    summary: "Reports per RW",
    "f.status": "All statuses",
    "f.type": "All types",
    "f.overdue": "Overdue only (SLA)",
    "f.flagged": "Flagged only",
    none: "No reports.",
    "none.suggestions": "No suggestions (no verified flood reports yet).",
    "login.needed": "Log in as an operator to see the queue.",
    open: "open", overdue: "overdue", total: "reports",
    late: "Overdue", "late.reach": "not at a unit after {h} h", "late.resolve": "past the resolution target",
    cluster: "{n} similar reports", primary: "primary", unit: "Unit",
    "a.verify": "Verify", "a.reject": "Reject", "a.restore": "Restore", "a.start": "Start work",
    "a.resolve": "Resolve (photo)", "a.reopen": "Reopen", "a.assign": "Assign",
    "a.apply": "Apply state {s}",
    "need.photo": "Choose a resolution photo first.",
    done: "Report {id}: {status}",
    applied: "RW {rw} state set to {s}",
    depth: "{d} cm",
    "sug.line": "{rw}: suggests {s} (median {d} cm, {n} reports), now {c}",
    "flag.burst": "burst", "flag.ip_burst": "burst from one address",
    "flag.often_rejected": "often rejected", "flag.photo_reused": "photo reused",
    "type.flood": "Flood", "type.water_outage": "Water outage", "type.water_quality": "Low pressure/dirty water",
    "type.waste_pile": "Waste pile", "type.blocked_drain": "Blocked drain",
    "type.damaged_infrastructure": "Damaged infrastructure",
    "st.new": "new", "st.verified": "verified", "st.rejected": "rejected", "st.assigned": "assigned",
    "st.in_progress": "in progress", "st.resolved": "resolved", "st.confirmed": "confirmed",
    "st.reopened": "reopened",
  },
};

function tr(key, vars = {}) {
  const text = STR[lang][key] ?? STR.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, n) => (n in vars ? String(vars[n]) : `{${n}}`));
}

const TYPES = ["flood", "water_outage", "water_quality", "waste_pile", "blocked_drain", "damaged_infrastructure"];
const STATUSES = ["new", "verified", "assigned", "in_progress", "resolved", "reopened", "confirmed", "rejected"];
const STATUS_COLOURS = {
  new: "#0b5394", verified: "#3182bd", assigned: "#f07c1a", in_progress: "#f07c1a", reopened: "#d7191c",
  resolved: "#1a9641", confirmed: "#1a9641", rejected: "#5f6b7a",
};

const state = { reports: [], units: [], names: {}, markers: {} };

// -- map -----------------------------------------------------------------------------------------
const map = baseMap("map");
const rwLayer = L.geoJSON(null, { style: { color: "#7f8c8d", weight: 0.8, fillOpacity: 0.05 } });
const reportLayer = L.layerGroup();

async function drawUnits() {
  const rw = await loadUnits("rw");
  for (const f of rw.features) state.names[f.properties.unit_id] = f.properties.name;
  rwLayer.addData(rw).addTo(map);
  reportLayer.addTo(map);
  const bounds = rwLayer.getBounds();
  if (bounds.isValid()) map.fitBounds(bounds, { padding: [10, 10] });
}

function drawReports() {
  reportLayer.clearLayers();
  state.markers = {};
  for (const r of state.reports) {
    const m = L.circleMarker([r.lat, r.lon], {
      radius: r.primary && r.cluster_size > 1 ? 6 + Math.min(8, r.cluster_size) : 6,
      color: r.sla?.overdue ? "#d7191c" : "#222", weight: r.sla?.overdue ? 3 : 1,
      fillColor: STATUS_COLOURS[r.status] ?? "#888", fillOpacity: 0.85,
    }).bindTooltip(`${tr(`type.${r.type}`)} · ${tr(`st.${r.status}`)}`);
    m.on("click", () => document.querySelector(`[data-report="${r.report_id}"]`)?.scrollIntoView({ behavior: "smooth" }));
    m.addTo(reportLayer);
    state.markers[r.report_id] = m;
  }
}

// -- filters and labels --------------------------------------------------------------------------
function labels() {
  document.title = `Tangguh — ${tr("title")}`;
  document.getElementById("title").textContent = tr("title");
  // (the header links to the other pages: common.js)
  document.getElementById("h-queue").textContent = tr("queue");
  document.getElementById("h-suggestions").textContent = tr("suggestions");
  document.getElementById("h-summary").textContent = tr("summary");
  document.getElementById("l-overdue").textContent = tr("f.overdue");
  document.getElementById("l-flagged").textContent = tr("f.flagged");
  const status = document.getElementById("f-status");
  const type = document.getElementById("f-type");
  const sv = status.value, tv = type.value;
  status.replaceChildren(h("option", { value: "" }, tr("f.status")), ...STATUSES.map((s) => h("option", { value: s }, tr(`st.${s}`))));
  type.replaceChildren(h("option", { value: "" }, tr("f.type")), ...TYPES.map((k) => h("option", { value: k }, tr(`type.${k}`))));
  status.value = sv;
  type.value = tv;
}

function query() {
  const f = new FormData(document.getElementById("filters"));
  const p = new URLSearchParams({ limit: "500" });
  if (f.get("status")) p.set("status", f.get("status"));
  if (f.get("type")) p.set("type", f.get("type"));
  if (f.get("overdue")) p.set("overdue", "true");
  if (f.get("flagged")) p.set("flagged", "true");
  return p;
}

// -- the queue -----------------------------------------------------------------------------------
function slaBadge(r) {
  if (!r.sla?.overdue) return null;
  const why = r.sla.reach_overdue ? tr("late.reach", { h: 6 }) : tr("late.resolve");
  return h("span", { class: "badge late", title: why }, `${tr("late")}: ${why}`);
}

function actions(r) {
  const box = h("div", { class: "actions" });
  const act = (name, label, cls = "") => h("button", { class: `${name} ${cls}`.trim(), type: "button", onclick: () => run(r, name) }, label);
  if (r.status === "new") box.append(act("verify", tr("a.verify")), act("reject", tr("a.reject"), "danger"));
  if (r.status === "verified") box.append(act("assign", tr("a.assign")), act("reject", tr("a.reject"), "danger"));
  if (r.status === "rejected") box.append(act("restore", tr("a.restore"), "secondary"));
  if (["assigned", "reopened"].includes(r.status)) box.append(act("start", tr("a.start")));
  if (["verified", "assigned", "reopened"].includes(r.status) && state.units.length) {
    const sel = h("select", { class: "unit-select", "aria-label": tr("unit") },
      state.units.map((u) => h("option", { value: u.code, selected: u.code === r.unit }, lang === "id" ? u.name_id : u.name_en)));
    box.append(sel, h("button", { class: "secondary reassign", type: "button", onclick: () => run(r, "assign", { unit: sel.value }) }, tr("a.assign")));
  }
  if (r.status === "in_progress") {
    const file = h("input", { type: "file", accept: "image/jpeg,image/png", class: "resolve-photo" });
    box.append(file, h("button", { class: "resolve", type: "button", onclick: () => resolve(r, file) }, tr("a.resolve")));
  }
  if (r.status === "resolved") box.append(act("reopen", tr("a.reopen"), "secondary"));
  return box;
}

function card(r) {
  const flags = (r.flags || []).map((f) => h("span", { class: "badge flag" }, tr(`flag.${f}`)));
  return h("div", {
    class: "card report",
    dataset: { report: r.report_id, status: r.status, type: r.type, overdue: r.sla?.overdue ? "1" : "0" },
  },
  r.photo_url ? h("a", { href: r.photo_url, target: "_blank" }, h("img", { class: "thumb", src: r.photo_url, alt: "" })) : null,
  h("div", { class: "row" },
    h("span", { class: `badge st-${r.status}` }, tr(`st.${r.status}`)),
    h("strong", {}, tr(`type.${r.type}`)),
    r.depth_cm !== null && r.depth_cm !== undefined ? h("span", {}, tr("depth", { d: r.depth_cm })) : null,
    slaBadge(r), ...flags),
  h("div", { class: "muted" }, [
    fmtTime(r.t), state.names[r.rw_id] ?? r.rw_id ?? r.kelurahan_id,
    r.unit_name ? `${tr("unit")}: ${r.unit_name}` : null,
    r.cluster_size > 1 ? tr("cluster", { n: r.cluster_size }) + (r.primary ? ` (${tr("primary")})` : "") : null,
  ].filter(Boolean).join(" · ")),
  r.text ? h("p", {}, r.text) : null,
  actions(r));
}

async function loadQueue() {
  const box = document.getElementById("reports");
  if (!getToken()) {
    box.replaceChildren(h("p", { class: "muted" }, tr("login.needed")));
    state.reports = [];
    drawReports();
    return;
  }
  try {
    state.reports = listOf(await api(`/api/v1/reports?${query()}`), "reports");
    box.replaceChildren(...(state.reports.length ? state.reports.map(card) : [h("p", { class: "muted" }, tr("none"))]));
    const open = state.reports.filter((r) => ["new", "verified", "assigned", "in_progress", "reopened"].includes(r.status)).length;
    const late = state.reports.filter((r) => r.sla?.overdue).length;
    document.getElementById("counts").replaceChildren(
      h("span", {}, h("b", {}, state.reports.length), ` ${tr("total")}`),
      h("span", {}, h("b", {}, open), ` ${tr("open")}`),
      h("span", { id: "count-overdue" }, h("b", {}, late), ` ${tr("overdue")}`));
    drawReports();
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
  document.body.dataset.reports = String(state.reports.length);
}

async function run(r, action, body = {}) {
  try {
    const res = await api(`/api/v1/reports/${encodeURIComponent(r.report_id)}/${action}`, { method: "POST", json: body });
    toast(tr("done", { id: r.report_id, status: tr(`st.${res.status}`) }));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await refresh();
}

async function resolve(r, input) {
  if (!input.files.length) return toast(tr("need.photo"), "error");
  const form = new FormData();
  form.set("photo", input.files[0]);
  try {
    const res = await api(`/api/v1/reports/${encodeURIComponent(r.report_id)}/resolve`, { method: "POST", form });
    toast(tr("done", { id: r.report_id, status: tr(`st.${res.status}`) }));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await refresh();
}

// -- suggestions and summary ---------------------------------------------------------------------
async function loadSuggestions() {
  const box = document.getElementById("suggestions");
  if (!getToken()) return box.replaceChildren(h("p", { class: "muted" }, tr("login.needed")));
  try {
    const rows = listOf(await api("/api/v1/reports/suggestions"));
    box.replaceChildren(...(rows.length ? rows.map((s) => h("div", { class: "suggestion", dataset: { rw: s.rw_id, suggested: s.suggested_state } },
      h("i", { style: `display:inline-block;width:12px;height:12px;border:1px solid #888;background:${RW_COLOURS[s.suggested_state]}` }),
      h("span", { class: "grow" }, tr("sug.line", { rw: state.names[s.rw_id] ?? s.rw_id, s: t(`rw.state.${s.suggested_state}`),
        d: s.median_depth_cm, n: s.reports, c: t(`rw.state.${s.current_state}`) })),
      s.differs ? h("button", { class: "secondary apply", type: "button", onclick: () => apply(s) }, tr("a.apply", { s: s.suggested_state })) : null))
      : [h("p", { class: "muted" }, tr("none.suggestions"))]));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

// The operator decides: the suggestion is applied only through this explicit click.
async function apply(s) {
  try {
    await api(`/api/v1/rw-states/${encodeURIComponent(s.rw_id)}`, {
      method: "PUT",
      json: { state: s.suggested_state, note: `${s.reports} laporan warga / citizen reports, median ${s.median_depth_cm} cm` },
    });
    toast(tr("applied", { rw: state.names[s.rw_id] ?? s.rw_id, s: s.suggested_state }));
  } catch (err) {
    toast(t("common.error", { reason: err.message }), "error");
  }
  await loadSuggestions();
}

async function loadSummary() {
  const box = document.getElementById("summary");
  try {
    const rows = listOf(await api("/api/v1/reports/summary"));
    box.replaceChildren(...rows.slice(0, 100).map((r) => h("div", { dataset: { unit: r.unit_id } },
      `${state.names[r.unit_id] ?? r.unit_id}: ${r.total} ${tr("total")}, ${r.open} ${tr("open")}, ${r.overdue} ${tr("overdue")} — `,
      h("span", { class: "muted" }, Object.entries(r.by_type).map(([k, v]) => `${tr(`type.${k}`)} ${v}`).join(", ")))));
  } catch (err) {
    box.replaceChildren(h("p", { class: "muted" }, err.message));
  }
}

async function loadUnitsConfig() {
  try {
    state.units = (await api("/api/v1/reports/units")).units ?? [];
  } catch {
    state.units = [];
  }
}

async function refresh() {
  await Promise.all([loadQueue(), loadSuggestions(), loadSummary()]);
}

// -- login ---------------------------------------------------------------------------------------
function showUser() {
  const logged = Boolean(getToken());
  document.getElementById("login").hidden = logged;
  document.getElementById("logout").hidden = !logged;
  const who = document.getElementById("who");
  who.hidden = !logged;
  who.textContent = logged ? t("login.as", { user: sessionStorage.getItem("tangguh.user") }) : "";
}

wireLogin(async () => {
  showUser();
  await refresh();
});
document.getElementById("lang").addEventListener("click", () => toggleLanguage());
document.getElementById("filters").addEventListener("change", () => loadQueue());
onLanguage(() => {
  labels();
  showUser();
  refresh();
});

applyI18n();
labels();
showUser();
await drawUnits();
await loadUnitsConfig();
await refresh();
setInterval(refresh, REFRESH_SECONDS * 1000);
window.tangguhReports = { map, state }; // for tests and debugging
document.body.dataset.ready = "1";
