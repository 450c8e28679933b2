// Service worker of the citizens' portal (served at /portal/sw.js, scope /portal).
// The app shell is cached at install; pages and static files are fetched from the
// network first and fall back to the cache when offline. API data is never cached.
const CACHE = "tangguh-portal-{{version}}";
const SHELL = [
  "/portal",
  "/portal/manifest.webmanifest",
  "/static/ui/portal.js?v={{version}}",
  "/static/ui/common.js",
  "/static/ui/i18n.js",
  "/static/ui/ui.css?v={{version}}",
  "/static/ui/vendor/leaflet/leaflet.js",
  "/static/ui/vendor/leaflet/leaflet.css",
  "/static/ui/icons/icon-192.png",
  "/static/ui/icons/icon-512.png",
];

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("tangguh-portal-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const url = new URL(event.request.url);
  if (event.request.method !== "GET" || url.origin !== location.origin) return;
  const shell = url.pathname === "/portal" || url.pathname.startsWith("/static/ui/") || url.pathname === "/portal/manifest.webmanifest";
  if (!shell) return; // API and open data: straight to the network
  event.respondWith(
    fetch(event.request)
      .then((res) => {
        const copy = res.clone();
        if (res.ok) caches.open(CACHE).then((cache) => cache.put(event.request, copy));
        return res;
      })
      .catch(() => caches.match(event.request).then((hit) => hit || caches.match("/portal"))),
  );
});
