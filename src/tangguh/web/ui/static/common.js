// Shared helpers of the dashboard and the portal: language, API calls, the base map.
import { STRINGS } from "./i18n.js";

const L = window.L;
const LANG_KEY = "tangguh.lang";

export let lang = localStorage.getItem(LANG_KEY) === "en" ? "en" : "id";

export function t(key, vars = {}) {
  const text = STRINGS[lang][key] ?? STRINGS.id[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in vars ? String(vars[name]) : `{${name}}`));
}

const listeners = [];
export function onLanguage(fn) {
  listeners.push(fn);
}

export function applyI18n(root = document) {
  document.documentElement.lang = lang;
  for (const el of root.querySelectorAll("[data-i18n]")) el.textContent = t(el.dataset.i18n);
  for (const el of root.querySelectorAll("[data-i18n-ph]")) el.placeholder = t(el.dataset.i18nPh);
  for (const el of root.querySelectorAll("[data-i18n-title]")) el.title = t(el.dataset.i18nTitle);
}

export function setLanguage(value) {
  lang = value === "en" ? "en" : "id";
  localStorage.setItem(LANG_KEY, lang);
  applyI18n();
  for (const fn of listeners) fn(lang);
}

export function toggleLanguage() {
  setLanguage(lang === "id" ? "en" : "id");
}

// Element builder: h("div", {class: "x", onclick: fn}, child, "text", ...)
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else if (k === "dataset") Object.assign(el.dataset, v);
    else el.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children.flat()) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

// -- API ------------------------------------------------------------------------------------
export class ApiError extends Error {
  constructor(status, problem) {
    const detail = problem?.[lang === "id" ? "detail_id" : "detail"] || problem?.detail || problem?.title;
    super(detail || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// The paths the server documents in /api (OpenAPI): pages only call endpoints that exist.
let pathsPromise = null;
export function apiPaths() {
  if (!pathsPromise) {
    pathsPromise = fetch("/api", { headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : { paths: {} }))
      .then((doc) => doc.paths || {})
      .catch(() => ({}));
  }
  return pathsPromise;
}

// True when `path` (e.g. "/api/v1/alerts/{id}/approve") is served with `method`.
export async function has(path, method = "get") {
  const paths = await apiPaths();
  const want = path.replace(/\{[^}]+\}/g, "{}");
  for (const [p, ops] of Object.entries(paths)) {
    if (p.replace(/\{[^}]+\}/g, "{}") === want && ops[method]) return true;
  }
  return false;
}

export function getToken() {
  return sessionStorage.getItem("tangguh.token");
}

export async function api(path, { method = "GET", json, form, token, accept = "application/json" } = {}) {
  const headers = { Accept: accept, "Accept-Language": lang };
  const bearer = token === undefined ? getToken() : token;
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  let body;
  if (json === undefined && form === undefined && method !== "GET") json = {};
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form !== undefined) {
    body = form; // FormData or URLSearchParams: the browser sets the content type
  }
  const res = await fetch(path, { method, headers, body });
  const type = res.headers.get("content-type") || "";
  const data = type.includes("json") ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) throw new ApiError(res.status, typeof data === "object" ? data : { detail: data });
  return data;
}

// Lists come as arrays, {items: [...]}, {<name>: [...]} or GeoJSON collections.
export function listOf(data, ...names) {
  if (Array.isArray(data)) return data;
  if (!data || typeof data !== "object") return [];
  for (const n of [...names, "items", "results", "data"]) if (Array.isArray(data[n])) return data[n];
  if (Array.isArray(data.features)) return data.features.map((f) => ({ ...f.properties, id: f.properties?.id ?? f.id, geometry: f.geometry }));
  return [];
}

export function fmtTime(iso) {
  if (!iso) return "";
  const d = new Date(iso);
  return d.toLocaleString(lang === "id" ? "id-ID" : "en-GB", {
    timeZone: "Asia/Jakarta",
    day: "2-digit",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  }) + " WIB";
}

// -- Map ------------------------------------------------------------------------------------
export const SIAGA_COLOURS = { 1: "#d7191c", 2: "#f07c1a", 3: "#f2c500", 4: "#1a9641" };
// PetaBencana flood states (classification flood_petabencana_state): 0 none … 4 high.
export const RW_COLOURS = { 0: "#ffffff", 1: "#8fd16a", 2: "#ffd400", 3: "#ff8c00", 4: "#e31a1c" };

export function siagaLabel(level) {
  return level ? t(`siaga.${level}`) : t("siaga.none");
}

// A Leaflet map with no tile layer: the admin units drawn from the API are the base map.
export function baseMap(el, options = {}) {
  const map = L.map(el, { zoomSnap: 0.25, preferCanvas: false, ...options });
  map.setView([-6.14, 106.83], 12);
  map.attributionControl.setPrefix("Leaflet | Tangguh");
  return map;
}

// Admin units from OGC API – Features, one request per level.
export async function loadUnits(level, bbox) {
  const params = new URLSearchParams({ f: "json", level, limit: "10000" });
  if (bbox) params.set("bbox", bbox);
  const res = await fetch(`/collections/admin_units/items?${params}`, { headers: { Accept: "application/geo+json" } });
  if (!res.ok) return { type: "FeatureCollection", features: [] };
  return res.json();
}

export function distanceKm(lon1, lat1, lon2, lat2) {
  const r = Math.PI / 180;
  const a =
    Math.sin(((lat2 - lat1) * r) / 2) ** 2 +
    Math.cos(lat1 * r) * Math.cos(lat2 * r) * Math.sin(((lon2 - lon1) * r) / 2) ** 2;
  return 12742 * Math.asin(Math.sqrt(a));
}

export function toast(message, kind = "info") {
  let box = document.getElementById("toasts");
  if (!box) {
    box = h("div", { id: "toasts", role: "status", "aria-live": "polite" });
    document.body.append(box);
  }
  const item = h("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

// The operators' pages link to each other from their header bar.
const DASHBOARD_PAGES = [
  ["/dashboard", "nav.flood"],
  ["/dashboard/reports", "nav.reports"],
  ["/dashboard/services", "nav.services"],
  ["/dashboard/connectivity", "nav.connectivity"],
];

function pageNav() {
  const bar = document.querySelector("header.bar");
  if (!bar || !location.pathname.startsWith("/dashboard") || bar.querySelector("nav.pages")) return;
  const nav = document.createElement("nav");
  nav.className = "pages";
  nav.dataset.i18nTitle = "nav.title";
  nav.title = t("nav.title");
  for (const [href, key] of DASHBOARD_PAGES) {
    const a = document.createElement("a");
    a.href = href;
    a.dataset.i18n = key;
    a.textContent = t(key);
    if (location.pathname.replace(/\/$/, "") === href) a.setAttribute("aria-current", "page");
    nav.append(a);
  }
  const title = bar.querySelector("h1");
  if (title) title.after(nav);
  else bar.prepend(nav);
}

onLanguage(() => {
  for (const a of document.querySelectorAll("nav.pages a")) a.textContent = t(a.dataset.i18n);
});
if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", pageNav);
else pageNav();

// The operators' login form (#login) and logout button (#logout): a bearer token kept for
// the browser session; ``after`` runs after each change (show the user, reload data).
export function wireLogin(after) {
  document.getElementById("login").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const form = new FormData(ev.target);
    try {
      const body = new URLSearchParams({ grant_type: "password", username: form.get("username"), password: form.get("password") });
      const res = await api("/api/v1/auth/token", { method: "POST", form: body, token: null });
      sessionStorage.setItem("tangguh.token", res.access_token);
      sessionStorage.setItem("tangguh.user", form.get("username"));
      ev.target.reset();
      await after();
    } catch (err) {
      toast(t("login.failed", { reason: err.message }), "error");
    }
  });
  document.getElementById("logout").addEventListener("click", async () => {
    sessionStorage.removeItem("tangguh.token");
    sessionStorage.removeItem("tangguh.user");
    await after();
  });
}
