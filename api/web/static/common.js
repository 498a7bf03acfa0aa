// Shared helpers of the milepost pages: API calls with the key, SSE over fetch,
// problem+json messages, times of the operating day.

const KEY_STORE = "milepost.apiKey";

/** The API key of this tab (sessionStorage: gone when the tab closes). */
export function apiKey() {
  return sessionStorage.getItem(KEY_STORE) || "";
}

export function setApiKey(key) {
  if (key) sessionStorage.setItem(KEY_STORE, key);
  else sessionStorage.removeItem(KEY_STORE);
}

/** An API error with the problem's readable message. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problemMessage(status, problem));
    this.status = status;
    this.problem = problem;
  }
}

function problemMessage(status, problem) {
  if (!problem || typeof problem !== "object") return `HTTP ${status}`;
  let text = problem.detail || problem.title || `HTTP ${status}`;
  const errors = problem.errors || [];
  if (errors.length) {
    text += ": " + errors.map((e) => `${e.field} ${e.reason}`).join("; ");
  }
  return text;
}

/** Call the API as JSON with the key in the X-API-Key header. */
export async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const key = apiKey();
  if (key) headers["X-API-Key"] = key;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(path, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

/** Poll a job-backed resource until it is no longer queued or running. */
export async function follow(path, onProgress, everyMs = 400) {
  for (;;) {
    const got = await api("GET", path);
    const job = got.job || got;
    if (!["queued", "running"].includes(got.status)) return got;
    if (onProgress) onProgress(job);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/**
 * Read a Server-Sent Events stream with fetch(), so that the key goes in a
 * header (EventSource cannot send one). Calls onEvent(type, data) per event
 * and reconnects when the server ends the stream, until signal aborts.
 */
export async function streamEvents(path, onEvent, signal, onError) {
  let retry = 3000;
  while (!signal.aborted) {
    try {
      const headers = { Accept: "text/event-stream" };
      const key = apiKey();
      if (key) headers["X-API-Key"] = key;
      const response = await fetch(path, { headers, signal });
      if (!response.ok) {
        let problem = null;
        try { problem = await response.json(); } catch { problem = null; }
        throw new ApiError(response.status, problem);
      }
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          let type = "message";
          const data = [];
          for (const line of block.split("\n")) {
            if (line.startsWith("event:")) type = line.slice(6).trim();
            else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
            else if (line.startsWith("retry:")) retry = Number(line.slice(6)) || retry;
          }
          if (data.length) onEvent(type, JSON.parse(data.join("\n")));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      if (onError) onError(err);
      if (err instanceof ApiError && err.status < 500) return;
    }
    await new Promise((r) => setTimeout(r, retry));
  }
}

/** Seconds since local midnight as HH:MM (times past midnight keep counting). */
export function clock(seconds) {
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return `${String(h).padStart(2, "0")}:${String(m).padStart(2, "0")}`;
}

/** Minutes from seconds, rounded, for durations. */
export function minutes(seconds) {
  return `${Math.round(seconds / 60)} min`;
}

/** The deployment's locale, from the page's ``milepost-locale`` meta tag:
 * its IANA timezone, its ISO 4217 currency and the currency's decimals. */
export const LOCALE = readLocale(document.querySelector('meta[name="milepost-locale"]'));

function readLocale(meta) {
  // One expression per step: the minifier merges adjacent declarations.
  const parts = (meta ? meta.content : "Asia/Seoul|KRW|0").split("|");
  return { timezone: parts[0], currency: parts[1], minor: Number(parts[2]) };
}

/** An ISO datetime as HH:MM in the deployment's timezone. */
export function localTime(iso, locale = "en-GB") {
  return new Intl.DateTimeFormat(locale, {
    hour: "2-digit",
    minute: "2-digit",
    hour12: false,
    timeZone: LOCALE.timezone,
  }).format(new Date(iso));
}

/** Today's date in the deployment's timezone, as YYYY-MM-DD. */
export function localToday() {
  return new Intl.DateTimeFormat("en-CA", { timeZone: LOCALE.timezone }).format(new Date());
}

/** The local date (YYYY-MM-DD) of an instant in the deployment's timezone. */
export function localDay(iso) {
  return new Intl.DateTimeFormat("en-CA", { timeZone: LOCALE.timezone }).format(new Date(iso));
}

function zoneOffsetMs(t) {
  // How far the deployment's wall clock is ahead of UTC at instant t.
  const parts = new Intl.DateTimeFormat("en-US", {
    timeZone: LOCALE.timezone, hourCycle: "h23", year: "numeric", month: "2-digit",
    day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit",
  }).formatToParts(new Date(t));
  const p = Object.fromEntries(parts.map((x) => [x.type, Number(x.value)]));
  return Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - Math.floor(t / 1000) * 1000;
}

/** The instant (ms since the epoch) local midnight starts ``day``: the
 * service counts a day's times as elapsed seconds from it, so they stay
 * real durations on the days the clocks change. */
export function midnightOf(day) {
  const utc = Date.parse(`${day}T00:00:00Z`);
  return utc - zoneOffsetMs(utc - zoneOffsetMs(utc));
}

/** Elapsed seconds since local midnight of ``day`` as the wall clock's HH:MM
 * there (past midnight keeps counting, like clock()): the same as clock()
 * except after a clock change on the day, and clock() without a day. */
export function wallClock(seconds, day) {
  if (!day) return clock(seconds);
  const t = midnightOf(day) + Math.round(seconds) * 1000;
  return clock((t + zoneOffsetMs(t) - Date.parse(`${day}T00:00:00Z`)) / 1000);
}

/** Now, in elapsed seconds since local midnight of ``day``. */
export function secondsInto(day) {
  return Math.round((Date.now() - midnightOf(day)) / 1000);
}

/** A sum of money in the deployment's currency, to its minor unit. */
export function money(x) {
  const digits = { minimumFractionDigits: LOCALE.minor, maximumFractionDigits: LOCALE.minor };
  return `${Number(x).toLocaleString("en", digits)} ${LOCALE.currency}`;
}

/** A DOM element with attributes and children. */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) {
    if (c !== null && c !== undefined) node.append(c);
  }
  return node;
}

/** Load the city's base layer and, when configured, a tile layer, onto a map. */
export async function addBaseLayers(L, map) {
  const config = await fetch("/web/config.json").then((r) => r.json());
  if (config.tile_url) {
    L.tileLayer(config.tile_url, { attribution: config.tile_attribution || "" }).addTo(map);
  }
  const city = await fetch("/web/city.geojson").then((r) => r.json());
  const weight = { primary: 2.5, secondary: 1.5, residential: 0.6 };
  const layer = L.geoJSON(city, {
    interactive: false,
    style: (f) =>
      f.properties.kind === "district"
        ? { color: "#94a3b8", weight: 1, fillColor: "#e2e8f0", fillOpacity: config.tile_url ? 0 : 0.5, className: "district" }
        : { color: "#9ca3af", weight: weight[f.properties.highway] || 0.6, className: "road" },
  }).addTo(map);
  layer.bringToBack();
  return layer;
}
