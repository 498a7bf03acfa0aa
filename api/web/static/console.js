// The dispatcher console: a day's plan on the city map, its timelines, and
// the day as it happens (statuses and vans from the plan's live stream).
import * as L from "/static/vendor/leaflet.js";
import {
  addBaseLayers, api, apiKey, el, follow, LOCALE, localTime, localToday,
  midnightOf, minutes, money, secondsInto, setApiKey, streamEvents, wallClock,
} from "/static/common.js";

const COLOURS = ["#1d4ed8", "#b91c1c", "#15803d", "#7c3aed", "#c2410c", "#0e7490", "#be185d", "#4d7c0f", "#1e3a8a", "#92400e"];
// A stop's status is its SHAPE (never a colour, which is the route's): hollow
// circle: to do; circle with a dot: the van is arriving; filled square with a
// check: delivered; cross: failed; triangle: moved to another day or place;
// slashed square: cancelled.
const SHAPE_OF = {
  created: "pending", planned: "pending", dispatched: "pending", out_for_delivery: "pending",
  arriving: "arriving", delivered: "delivered", failed_attempt: "failed", returned_to_depot: "failed",
  rescheduled: "moved", redirected_to_pickup_station: "moved", cancelled: "cancelled",
};
const INK = "#111827";
const SHAPES = {
  pending: (c) => `<circle cx="10" cy="10" r="6.5" fill="#fff" stroke="${INK}" stroke-width="5"/><circle cx="10" cy="10" r="6.5" fill="#fff" stroke="${c}" stroke-width="3"/>`,
  arriving: (c) => `<circle cx="10" cy="10" r="6.5" fill="#fff" stroke="${INK}" stroke-width="5"/><circle cx="10" cy="10" r="6.5" fill="#fff" stroke="${c}" stroke-width="3"/><circle cx="10" cy="10" r="2.6" fill="${INK}"/>`,
  delivered: (c) => `<rect x="2" y="2" width="16" height="16" rx="2" fill="${c}" stroke="${INK}" stroke-width="1.5"/><path d="M5.5 10.5l3 3 6-7" fill="none" stroke="#fff" stroke-width="2.6"/>`,
  failed: (c) => `<path d="M4 4L16 16M16 4L4 16" stroke="${INK}" stroke-width="6.5" stroke-linecap="round"/><path d="M4 4L16 16M16 4L4 16" stroke="${c}" stroke-width="3.5" stroke-linecap="round"/>`,
  moved: (c) => `<path d="M10 2.5L18 17H2z" fill="#fff" stroke="${INK}" stroke-width="4.5" stroke-linejoin="round"/><path d="M10 2.5L18 17H2z" fill="#fff" stroke="${c}" stroke-width="2.5" stroke-linejoin="round"/>`,
  cancelled: (c) => `<rect x="3" y="3" width="14" height="14" fill="#fff" stroke="${c}" stroke-width="3"/><path d="M3 17L17 3" stroke="${INK}" stroke-width="2.5"/>`,
};
const SHAPE_WORDS = {
  pending: "to do (planned, dispatched, on board)", arriving: "van arriving", delivered: "delivered",
  failed: "failed attempt or returned", moved: "rescheduled or redirected", cancelled: "cancelled",
};

function shapeSvg(status, colour) {
  const shape = SHAPE_OF[status] || "pending";
  return `<svg viewBox="0 0 20 20" width="20" height="20" aria-hidden="true" focusable="false" data-shape="${shape}">${SHAPES[shape](colour)}</svg>`;
}

const STOP_TYPES = new Set(["job", "delivery", "pickup"]);

const $ = (id) => document.getElementById(id);
// plan: the plan shown (as stored); view: the depot its drawing is limited
// to (an all-depot plan seen from one depot); shown: the plan as drawn.
const state = {
  plan: null, view: null, shown: null, live: new Map(), vans: new Map(), selected: null, stream: null, depots: new Map(),
  // exceptions shown, acknowledged or decided here (until the stream says so),
  // and whether the service takes decisions (false once it answered 404/405)
  exceptions: new Map(), acked: new Map(), decided: new Map(), decide: null, lastLive: null, route: null,
  // the draft under review (re-optimised or edited) and its changes; what
  // the service can do (false once it answered 404/405); stops locked here
  draft: null, draftChanges: null, canDiscard: null, canEdit: null, locked: new Set(),
  // the rescue options compared for a broken-down van: its plan, the van and
  // the state sent (the chosen option is re-optimised from the same state)
  rescue: null,
};
// A time of the shown plan's day as the wall clock reads it (elapsed seconds
// are an hour off it after a clock change on the day).
const clock = (seconds) => wallClock(seconds, state.plan?.day);
let map, routeLayer, vanLayer;
const stopMarkers = new Map();
const routeLines = new Map();
let draftLayer;
const vanMarkers = new Map();

function say(text, error = false) {
  const node = $("status");
  node.textContent = text;
  node.classList.toggle("error", error);
}

function statusOf(orderId) {
  return state.live.get(orderId)?.status || "planned";
}

// -- the plan -----------------------------------------------------------------

function renderTotals(pub) {
  const s = pub.summary;
  const dl = $("totals");
  dl.replaceChildren();
  if (!s) return;
  const items = [
    ["Routes", s.routes], ["Orders", s.orders], ["Served", s.served], ["Unassigned", s.unassigned],
    ["Distance", `${(s.distance / 1000).toFixed(1)} km`], ["Driving", minutes(s.duration)],
    ["Service", minutes(s.service)], ["Waiting", minutes(s.waiting_time)],
    ["In window", s.in_window], ["Late", s.late], ["Cost", Math.round(s.cost).toLocaleString("en")],
  ];
  for (const [k, v] of items) {
    dl.append(el("div", { "data-total": k.toLowerCase().replace(" ", "-") }, el("dt", { text: k }), el("dd", { text: String(v) })));
  }
  const part = pub.view ? `, ${pub.view.depot}'s part` : "";
  $("plan-state").textContent = `(plan ${pub.id}, ${pub.status}${part})`;
}

function segments(route) {
  // Travel, wait, service and break segments of a route, in time order.
  const out = [];
  let prev = null;
  for (const step of route.steps) {
    if (prev !== null && step.arrival > prev.departure) {
      out.push({ kind: "travel", from: prev.departure, to: step.arrival, step });
    }
    if (step.service_start > step.arrival) {
      out.push({ kind: "wait", from: step.arrival, to: step.service_start, step });
    }
    if (step.type === "break") {
      out.push({ kind: "break", from: step.service_start, to: step.departure, step });
    } else if (STOP_TYPES.has(step.type)) {
      out.push({ kind: "service", from: step.service_start - (step.setup || 0), to: step.departure, step });
    }
    prev = step;
  }
  return out;
}

function renderTimelines(plan) {
  const box = $("timelines");
  box.replaceChildren();
  state.axis = null;
  if (!plan.routes.length) {
    box.append(el("p", { text: "No routes." }));
    return;
  }
  const t0 = Math.min(...plan.routes.map((r) => r.start));
  const t1 = Math.max(...plan.routes.map((r) => r.end));
  const span = Math.max(1, t1 - t0);
  state.axis = { t0, t1, span };
  const pct = (t) => `${((t - t0) / span) * 100}%`;
  box.append(el("div", { class: "now-axis", id: "now-axis" }), el("div", { class: "axis", id: "axis", "aria-hidden": "true" }));
  plan.routes.forEach((route, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const row = el("div", { class: "route-row", "data-vehicle": route.vehicle });
    const name = el("button", {
      type: "button", class: "route-name", "aria-pressed": "false",
      title: "Highlight this route on the map", onclick: () => selectRoute(route.vehicle),
    },
    el("span", { class: "swatch", style: `background:${colour}`, "aria-hidden": "true" }),
    `${route.vehicle}: ${route.orders} orders, ${clock(route.start)}–${clock(route.end)}, ${(route.distance / 1000).toFixed(1)} km`);
    const bar = el("div", { class: "gantt", role: "group", "aria-label": `Timeline of ${route.vehicle}` });
    for (const seg of segments(route)) {
      const style = `left:${pct(seg.from)};width:${pct(t0 + seg.to - seg.from)}`;
      const title = `${seg.kind} ${clock(seg.from)}–${clock(seg.to)}`;
      if (seg.kind === "service") {
        const id = seg.step.id;
        bar.append(el("button", {
          type: "button", class: `seg seg-service st-${statusOf(id)}`, style,
          "data-order": id, "aria-label": `Stop ${id}: ${title}`, title: `${id}: ${title}`,
          onclick: () => selectStop(id),
        }));
      } else {
        bar.append(el("span", { class: `seg seg-${seg.kind}`, style, title, "data-kind": seg.kind, "aria-hidden": "true" }));
      }
    }
    row.append(name, bar);
    box.append(row);
  });
  drawTicks();
  drawNow();
}

function drawTicks() {
  // Hours on the axis, as many as fit the width without touching (a phone
  // gets fewer); redrawn when the window changes size.
  const axis = $("axis");
  if (!axis || !state.axis) return;
  const { t0, t1, span } = state.axis;
  const width = axis.clientWidth || 600;
  const room = Math.max(1, Math.floor(width / 56));
  const step = [900, 1800, 3600, 7200, 10800, 14400, 21600, 43200].find((x) => span / x <= room) || 86400;
  axis.replaceChildren();
  for (let t = Math.ceil(t0 / step) * step; t <= t1; t += step) {
    const left = ((t - t0) / span) * 100;
    const edge = left < 8 ? "start" : left > 92 ? "end" : "";
    axis.append(el("span", { class: `tick ${edge}`, style: `left:${left}%`, "data-t": t, text: clock(t) }));
  }
}

function drawNow() {
  // The "now" line across every timeline (Seoul time), moved each minute.
  document.querySelectorAll(".now-line").forEach((n) => n.remove());
  const label = $("now-axis");
  if (!state.axis || !state.plan?.day || !label) return;
  const { t0, t1, span } = state.axis;
  const now = secondsInto(state.plan.day);
  // Another day than today (a night route may run past midnight): no line.
  if (now < -6 * 3600 || now > 36 * 3600) {
    label.replaceChildren();
    return;
  }
  const where = now < t0 ? "before" : now > t1 ? "after" : "inside";
  const left = `${((Math.min(Math.max(now, t0), t1) - t0) / span) * 100}%`;
  for (const bar of document.querySelectorAll(".gantt")) {
    bar.append(el("span", { class: `now-line ${where}`, style: `left:${left}`, "aria-hidden": "true" }));
  }
  const at = now >= 0 ? clock(now) : localTime(new Date().toISOString());
  const text = where === "inside" ? `now ${at}` : where === "before" ? `← now ${at}` : `now ${at} →`;
  label.replaceChildren(el("span", { class: `now-label ${where}`, style: `left:${left}`, "data-now": now, text }));
}

function renderUnassigned(plan) {
  const body = $("unassigned").querySelector("tbody");
  body.replaceChildren();
  for (const u of plan.unassigned) {
    body.append(el("tr", { "data-order": u.id }, el("td", { text: u.id }), el("td", { text: u.reason }), el("td", { text: u.detail })));
  }
  if (!plan.unassigned.length) body.append(el("tr", {}, el("td", { colspan: 3, text: "None: every order is on a route." })));
  $("unassigned-count").textContent = `(${plan.unassigned.length})`;
}

function routeColour(vehicle) {
  const i = state.shown.plan.routes.findIndex((r) => r.vehicle === vehicle);
  return COLOURS[Math.max(0, i) % COLOURS.length];
}

function drawRoutes(plan) {
  routeLayer.clearLayers();
  stopMarkers.clear();
  routeLines.clear();
  const bounds = [];
  plan.routes.forEach((route, i) => {
    const colour = COLOURS[i % COLOURS.length];
    const points = route.steps.filter((s) => s.location && s.location.lat !== null).map((s) => [s.location.lat, s.location.lon]);
    bounds.push(...points);
    const line = L.polyline(points, { color: colour, weight: 4, opacity: 0.85, className: "route-line" }).addTo(routeLayer);
    line.getElement()?.setAttribute("data-vehicle", route.vehicle);
    line.on("click", () => selectRoute(route.vehicle));
    routeLines.set(route.vehicle, line);
    route.steps.forEach((step) => {
      if (!step.location || step.location.lat === null) return;
      if (step.type === "start" || step.type === "end") {
        if (step.type === "start") {
          const depot = L.circleMarker([step.location.lat, step.location.lon], {
            radius: 8, color: INK, weight: 2, fillColor: "#fde047", fillOpacity: 1, className: "depot",
          }).addTo(routeLayer).bindTooltip(`Depot of ${route.vehicle}`);
          depot.getElement()?.setAttribute("data-vehicle", route.vehicle);
        }
        return;
      }
      if (!STOP_TYPES.has(step.type)) return;
      const status = statusOf(step.id);
      const marker = L.marker([step.location.lat, step.location.lon], {
        icon: L.divIcon({ className: "stop", html: shapeSvg(status, colour), iconSize: [20, 20], iconAnchor: [10, 10] }),
        keyboard: false, riseOnHover: true,
      }).addTo(routeLayer);
      marker.bindTooltip(`${step.id} (${route.vehicle}, ${clock(step.arrival)})`);
      marker.on("click", () => selectStop(step.id));
      const node = marker.getElement();
      if (node) {
        node.setAttribute("data-order", step.id);
        node.setAttribute("data-vehicle", route.vehicle);
        node.setAttribute("data-status", status);
        node.setAttribute("tabindex", "0");
        node.setAttribute("role", "button");
        node.setAttribute("aria-label", `Stop ${step.id} on ${route.vehicle}: ${status.replaceAll("_", " ")}`);
        node.addEventListener("keydown", (e) => {
          if (e.key === "Enter" || e.key === " ") { e.preventDefault(); selectStop(step.id); }
        });
      }
      stopMarkers.set(step.id, marker);
    });
  });
  if (bounds.length) map.fitBounds(bounds, { padding: [20, 20] });
  loadGeometry(state.plan.id, plan);
}

async function loadGeometry(planId, plan) {
  // Routes along the roads when the service has their shapes; straight lines
  // between stops otherwise (404/405: no such route in this service).
  let got;
  try {
    got = await api("GET", `/v1/plans/${encodeURIComponent(planId)}/geometry`);
  } catch {
    return;
  }
  if (state.plan?.id !== planId || !got?.routes) return;
  for (const r of got.routes) {
    const line = routeLines.get(r.vehicle);
    if (!line || !plan.routes.some((x) => x.vehicle === r.vehicle)) continue;
    const points = r.legs.flat();
    if (points.length > 1) line.setLatLngs(points);
  }
  $("map").dataset.alongRoads = String(Boolean(got.along_roads));
}

function selectRoute(vehicle) {
  // One route stands out (thicker, on top); the others fade. Again: all back.
  state.route = state.route === vehicle ? null : vehicle;
  highlightRoute();
}

function highlightRoute() {
  const v = state.route;
  for (const [vehicle, line] of routeLines) {
    const node = line.getElement();
    node?.classList.toggle("focus", vehicle === v);
    node?.classList.toggle("dim", v !== null && vehicle !== v);
    if (vehicle === v) line.bringToFront();
  }
  for (const marker of stopMarkers.values()) {
    const node = marker.getElement();
    node?.classList.toggle("dim", v !== null && node.dataset.vehicle !== v);
  }
  document.querySelectorAll(".route-row").forEach((row) => {
    row.classList.toggle("selected", row.dataset.vehicle === v);
    row.classList.toggle("dim", v !== null && row.dataset.vehicle !== v);
    row.querySelector(".route-name")?.setAttribute("aria-pressed", String(row.dataset.vehicle === v));
  });
}

function findStop(orderId) {
  if (!state.shown?.plan) return null;
  for (const route of state.shown.plan.routes) {
    const i = route.steps.findIndex((s) => s.id === orderId && STOP_TYPES.has(s.type));
    if (i >= 0) return { route, step: route.steps[i], prev: route.steps[i - 1] || null };
  }
  return null;
}

async function selectStop(orderId) {
  const found = findStop(orderId);
  if (!found) return;
  state.selected = orderId;
  const { route } = found;
  document.querySelectorAll("button.seg.selected, .stop.selected").forEach((n) => n.classList.remove("selected"));
  document.querySelector(`button.seg[data-order="${CSS.escape(orderId)}"]`)?.classList.add("selected");
  stopMarkers.get(orderId)?.getElement()?.classList.add("selected");
  state.route = route.vehicle;
  highlightRoute();
  renderStopDetail(orderId);
  renderStopEdit(orderId);
  try {
    const order = await api("GET", `/v1/orders/${encodeURIComponent(orderId)}`);
    const kind = $("stop-kind");
    if (kind && state.selected === orderId) kind.textContent = visitText(order.job);
    const link = $("tracking-link");
    if (link && state.selected === orderId) {
      link.replaceChildren(el("a", { href: `/t/${order.tracking_token}`, target: "_blank", rel: "noopener", text: "Customer's tracking page" }));
    }
  } catch {
    // Orders of a problem sent whole are not stored: no tracking link.
  }
}

function amount(vector) {
  return vector.join(", ");
}

function visitText(job) {
  // What the visit does: an exchange hands over the new item and takes the old.
  if (job.type === "exchange") return `Exchange: deliver ${amount(job.demand)} / collect ${amount(job.collect)}`;
  if (job.type === "pickup") return `Return: collect ${amount(job.demand)}`;
  // A station stop drops the parcel at the locker; the customer collects it.
  if (job.station) return `Pickup station ${job.station}: deliver ${amount(job.demand)}`;
  return `Delivery: deliver ${amount(job.demand)}`;
}

function renderStopDetail(orderId) {
  const found = findStop(orderId);
  if (!found) return;
  const { route, step, prev } = found;
  const live = state.live.get(orderId);
  const status = live?.status || "planned";
  const rows = [];
  if (prev) rows.push(["Travel", `${clock(prev.departure)}–${clock(step.arrival)}`, minutes(step.arrival - prev.departure)]);
  rows.push(["Arrive", clock(step.arrival), ""]);
  if (step.waiting_time) rows.push(["Wait", `${clock(step.arrival)}–${clock(step.service_start)}`, minutes(step.waiting_time)]);
  rows.push(["Service", `${clock(step.service_start)}–${clock(step.departure)}`, minutes(step.departure - step.service_start)]);
  rows.push(["Leave", clock(step.departure), step.slack ? `slack ${minutes(step.slack)}` : ""]);
  if (step.late) rows.push(["Late", minutes(step.late), ""]);
  const eta = live?.window
    ? `${localTime(live.window.earliest)}–${localTime(live.window.latest)} (expected ${localTime(live.window.expected)})`
    : "none";
  const detail = $("stop-detail");
  detail.replaceChildren(
    el("p", {}, el("strong", { text: orderId }), ` on ${route.vehicle} `, el("span", { class: `badge st-${status}`, id: "stop-status", text: status.replaceAll("_", " ") })),
    el("p", { id: "stop-kind" }),
    el("p", { id: "stop-eta", text: `Live ETA: ${eta}` }),
    el("p", { id: "stop-retention", text: `Expected retention cost: ${orderRetentionText(live?.retention)}` }),
    el("table", { id: "stop-timeline", "aria-label": `Timeline of stop ${orderId}` },
      el("tbody", {}, ...rows.map(([k, v, x]) => el("tr", {}, el("th", { scope: "row", text: k }), el("td", { text: v }), el("td", { text: x }))))),
    el("p", { id: "tracking-link" }),
  );
}

function orderRetentionText(r) {
  if (!r) {
    const reason = state.lastLive?.pricing?.reason;
    return reason ? `not priced (${reason})` : "not priced";
  }
  const why = [r.minutes_late ? `${r.minutes_late} min late` : null,
    r.failed_attempts ? `${r.failed_attempts} failed attempt${r.failed_attempts > 1 ? "s" : ""}` : null].filter(Boolean);
  return `${WON(r.live)} live${why.length ? ` (${why.join(", ")})` : ""}, planned ${WON(r.planned)}`;
}

function renderPlan(pub, view = null) {
  state.plan = pub;
  state.view = view;
  state.selected = null;
  const shown = filtered(pub, view);
  state.shown = shown;
  renderTotals(shown);
  renderUnassigned(shown.plan);
  renderTimelines(shown.plan);
  drawRoutes(shown.plan);
  $("stop-detail").replaceChildren(el("p", { text: "Choose a stop on the map or in a timeline." }));
  $("stop-edit").replaceChildren();
  if (state.draft && state.draft.id !== pub.id && state.draft.parent_id !== pub.id) closeReview();
  fillRescueVans(shown.plan);
  setButtons();
  startLive(pub.id);
}

// -- live ---------------------------------------------------------------------

function applyLive(view) {
  state.live = new Map(view.orders.map((o) => [o.order_id, o]));
  for (const [orderId, marker] of stopMarkers) {
    const status = statusOf(orderId);
    const node = marker.getElement();
    if (!node || node.dataset.status === status) continue;
    node.innerHTML = shapeSvg(status, routeColour(node.dataset.vehicle));
    node.setAttribute("data-status", status);
    node.setAttribute("aria-label", `Stop ${orderId} on ${node.dataset.vehicle}: ${status.replaceAll("_", " ")}`);
  }
  document.querySelectorAll("button.seg-service").forEach((b) => {
    b.className = b.className.replace(/\bst-\S+/, `st-${statusOf(b.dataset.order)}`);
  });
  const body = $("vans").querySelector("tbody");
  body.replaceChildren();
  const done = new Map();
  for (const o of view.orders) {
    if (o.vehicle && o.status === "delivered") done.set(o.vehicle, (done.get(o.vehicle) || 0) + 1);
  }
  const vans = view.vehicles.filter((v) => !state.view || state.view.vehicles.has(v.vehicle));
  for (const v of vans) {
    const position = v.lat === null ? "not seen" : `${v.lat.toFixed(4)}, ${v.lon.toFixed(4)} at ${localTime(v.position_at)}`;
    const stop = v.stop_event ? `${v.stop_event} ${v.stop || "depot"} at ${localTime(v.stop_at)}` : "";
    body.append(el("tr", { "data-vehicle": v.vehicle },
      el("td", { text: v.vehicle }), el("td", { text: v.on_shift ? "on shift" : "off shift" }),
      el("td", { class: "position", text: position }), el("td", { text: stop }), el("td", { class: "num", text: String(done.get(v.vehicle) || 0) })));
    if (v.lat !== null) {
      let marker = vanMarkers.get(v.vehicle);
      if (!marker) {
        const tag = el("span", { class: "van-tag", text: v.vehicle });
        marker = L.marker([v.lat, v.lon], {
          icon: L.divIcon({ className: "van", html: tag, iconSize: null }), keyboard: false, zIndexOffset: 1000,
        }).addTo(vanLayer).bindTooltip(`Van ${v.vehicle}`);
        marker.getElement()?.setAttribute("data-vehicle", v.vehicle);
        vanMarkers.set(v.vehicle, marker);
      } else {
        marker.setLatLng([v.lat, v.lon]);
      }
    }
  }
  if (!vans.length) body.append(el("tr", {}, el("td", { colspan: 5, text: "No van has reported yet." })));
  state.lastLive = view;
  renderKpis(view);
  renderExceptions(view);
  if (state.selected) renderStopDetailKeepLink(state.selected);
}

const FAILED = new Set(["failed_attempt", "returned_to_depot"]);

function shownStops() {
  return (state.shown?.plan?.routes || []).flatMap((r) => r.steps.filter((s) => STOP_TYPES.has(s.type)));
}

function kpisOf(view) {
  // The service's KPIs when it sends them for the whole plan; otherwise (or
  // for one depot's part) counted here from the stops' live statuses.
  if (view.kpis && !state.view) return { ...view.kpis, source: "service" };
  const stops = shownStops();
  const ids = new Set(stops.map((s) => s.id));
  let delivered = 0, failed = 0;
  const risky = new Set();
  const midnight = midnightOf(view.day);
  for (const step of stops) {
    const status = statusOf(step.id);
    if (status === "delivered") delivered += 1;
    else if (FAILED.has(status)) failed += 1;
    else if (!["cancelled", "rescheduled", "redirected_to_pickup_station"].includes(status)) {
      // Expected later than the plan can absorb (its slack): a window is at risk.
      const expected = state.live.get(step.id)?.window?.expected;
      if (expected && (Date.parse(expected) - midnight) / 1000 > step.service_start + step.slack + 60) risky.add(step.id);
    }
  }
  for (const e of view.exceptions || []) {
    if (e.kind === "late_risk") e.order_ids.filter((o) => ids.has(o)).forEach((o) => risky.add(o));
  }
  // The retention costs of the part shown: the sums of its stops' own.
  let planned = null, live = null;
  if (view.pricing?.source === "learned") {
    planned = 0; live = 0;
    for (const step of stops) {
      const r = state.live.get(step.id)?.retention;
      if (r) { planned += r.planned; live += r.live; }
    }
  }
  return {
    planned: stops.length, delivered, failed, on_time: null, on_time_rate: null, late_risk: risky.size,
    retention_planned: planned, retention_live: live, source: "page",
  };
}

const WON = money;

function retentionText(k, pricing) {
  // The day's expected retention cost, live against planned; without a fit,
  // why there is no number rather than a made-up one.
  if (k.retention_live === null || k.retention_live === undefined) {
    return pricing?.reason ? `not priced: ${pricing.reason}` : "not priced";
  }
  return `${WON(k.retention_live)} live (planned ${WON(k.retention_planned)})`;
}

function renderKpis(view) {
  const k = kpisOf(view);
  const onTime = k.on_time === null || k.on_time === undefined
    ? "not reported"
    : `${k.on_time} of ${k.delivered}${k.on_time_rate === null || k.on_time_rate === undefined ? "" : ` (${Math.round(k.on_time_rate * 100)}%)`}`;
  const items = [
    ["delivered", "Delivered", `${k.delivered} of ${k.planned}`],
    ["on-time", "On time so far", onTime],
    ["failed", "Failed", String(k.failed)],
    ["late-risk", "At risk of being late", String(k.late_risk)],
    ["retention", "Expected retention cost", retentionText(k, view.pricing)],
  ];
  const dl = $("kpis");
  dl.dataset.source = k.source;
  dl.replaceChildren(...items.map(([key, name, value]) => el("div", { "data-kpi": key }, el("dt", { text: name }), el("dd", { text: value }))));
}

// -- exceptions ---------------------------------------------------------------

const KIND_WORDS = {
  sensor_excursion: "Sensor reading out of range", late_risk: "At risk of being late",
  failed_attempt: "Failed delivery attempt", vehicle_breakdown: "Van broke down",
  van_not_started: "Van has not started", van_silent: "Van has gone silent",
};
const SEVERITY_RANK = { critical: 0, warning: 1, info: 2 };
const DECISIONS = [
  ["reattempt_today", "Re-attempt today"], ["next_day", "Next day"], ["return_to_sender", "Return to sender"],
];

function renderExceptions(view) {
  // The live view's open exceptions about the vans and orders shown.
  const ids = new Set(shownStops().map((s) => s.id));
  const vans = new Set((state.shown?.plan?.routes || []).map((r) => r.vehicle));
  const mine = (view.exceptions || []).filter((e) => !state.view
    || (e.vehicle && vans.has(e.vehicle)) || e.order_ids.some((o) => ids.has(o)));
  mine.sort((a, b) => (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3)
    || Date.parse(a.opened_at) - Date.parse(b.opened_at) || a.id.localeCompare(b.id));
  state.exceptions = new Map(mine.map((e) => [e.id, e]));
  const list = $("exceptions");
  list.replaceChildren(...mine.map(exceptionRow));
  if (!mine.length) list.append(el("li", { class: "none", text: "No open exception." }));
  $("exceptions-count").textContent = `(${mine.length})`;
}

function exceptionRow(e) {
  const words = KIND_WORDS[e.kind] || e.kind.replaceAll("_", " ");
  const since = Math.max(0, Math.round((Date.now() - Date.parse(e.opened_at)) / 60000));
  const about = [e.vehicle ? `van ${e.vehicle}` : null, e.order_ids.length ? `orders ${e.order_ids.join(", ")}` : null].filter(Boolean).join(", ");
  // What the orders it is about are expected to cost in retention, live.
  const priced = e.order_ids.map((o) => state.live.get(o)?.retention).filter(Boolean);
  const cost = priced.length ? `Expected retention cost: ${WON(priced.reduce((a, r) => a + r.live, 0))} live` : null;
  const acked = state.acked.get(e.id) || (e.acknowledged_by ? { by: e.acknowledged_by, at: e.acknowledged_at } : null);
  const actions = el("div", { class: "actions" });
  if (acked) {
    actions.append(el("span", { class: "acked", text: `Acknowledged by ${acked.by}${acked.at ? ` at ${localTime(acked.at)}` : ""}` }));
  } else {
    actions.append(el("button", {
      type: "button", class: "secondary", "data-action": "acknowledge", "aria-label": `Acknowledge: ${words}${about ? `, ${about}` : ""}`,
      text: "Acknowledge", onclick: guarded(() => acknowledge(e)),
    }));
  }
  if (e.kind === "failed_attempt" && state.decide !== false && !state.decided.has(e.id)) {
    for (const [decision, label] of DECISIONS) {
      actions.append(el("button", {
        type: "button", class: "secondary", "data-decision": decision, text: label,
        "aria-label": `${label}: ${about}`, onclick: guarded(() => decide(e, decision, label)),
      }));
    }
  }
  if (state.decided.has(e.id)) actions.append(el("span", { class: "acked", text: state.decided.get(e.id) }));
  return el("li", { class: `exception sev-${e.severity}`, "data-exception": e.id, "data-kind": e.kind, "data-severity": e.severity },
    el("button", { type: "button", class: "focus", onclick: () => focusException(e) },
      el("span", { class: "visually-hidden", text: "Show on the map: " }),
      el("span", { class: "severity", text: e.severity }),
      el("strong", { text: words }),
      el("span", { class: "about", text: about }),
      el("span", { class: "since", text: `since ${localTime(e.opened_at)} (${since} min)` })),
    e.detail ? el("p", { class: "detail", text: e.detail }) : null,
    cost ? el("p", { class: "retention", text: cost }) : null,
    actions);
}

function focusException(e) {
  // The van where it was last seen, else the first of its orders on the plan.
  const van = e.vehicle && vanMarkers.get(e.vehicle);
  const order = e.order_ids.find((o) => stopMarkers.has(o));
  if (order) selectStop(order);
  else if (e.vehicle && routeLines.has(e.vehicle)) { state.route = e.vehicle; highlightRoute(); }
  const target = van || (order && stopMarkers.get(order));
  if (target) {
    map.setView(target.getLatLng(), Math.max(map.getZoom(), 14));
    target.openTooltip();
  }
  document.querySelectorAll("li.exception.focused").forEach((n) => n.classList.remove("focused"));
  document.querySelector(`li.exception[data-exception="${CSS.escape(e.id)}"]`)?.classList.add("focused");
}

async function acknowledge(e) {
  const got = await api("POST", `/v1/exceptions/${encodeURIComponent(e.id)}/acknowledge`);
  state.acked.set(e.id, { by: got.acknowledged_by, at: got.acknowledged_at });
  if (state.lastLive) renderExceptions(state.lastLive);
  say(`Exception acknowledged: ${KIND_WORDS[e.kind] || e.kind}.`);
}

async function decide(e, decision, label) {
  try {
    await api("POST", `/v1/exceptions/${encodeURIComponent(e.id)}/decide`, { decision });
  } catch (err) {
    if (err.status === 404 || err.status === 405) {
      state.decide = false;
      if (state.lastLive) renderExceptions(state.lastLive);
      return say("Deciding after a failed attempt is not available in this service.", true);
    }
    throw err;
  }
  state.decided.set(e.id, `Decided: ${label}`);
  if (state.lastLive) renderExceptions(state.lastLive);
  say(`Failed attempt of ${e.order_ids.join(", ")}: ${label}.`);
}

function renderStopDetailKeepLink(orderId) {
  const link = $("tracking-link")?.cloneNode(true);
  const kind = $("stop-kind")?.cloneNode(true);
  renderStopDetail(orderId);
  if (link) $("tracking-link").replaceWith(link);
  if (kind) $("stop-kind").replaceWith(kind);
}

function startLive(planId) {
  if (state.stream) state.stream.abort();
  vanLayer.clearLayers();
  vanMarkers.clear();
  const control = new AbortController();
  state.stream = control;
  streamEvents(`/v1/plans/${encodeURIComponent(planId)}/live/stream`, (type, data) => {
    if (type === "status" && state.plan?.id === planId) applyLive(data);
  }, control.signal, (err) => say(`Live updates: ${err.message}`, true));
}

// -- actions ------------------------------------------------------------------

function dayAndDepot() {
  return { day: $("day").value, depot: $("depot").value || null };
}

async function loadDepots() {
  try {
    const got = await api("GET", "/v1/depots?limit=100");
    const select = $("depot");
    const keep = select.value;
    select.replaceChildren(el("option", { value: "", text: "All depots" }));
    for (const d of got.data) {
      state.depots.set(d.id, d);
      select.append(el("option", { value: d.id, text: d.name ? `${d.name} (${d.id})` : d.id }));
    }
    select.value = keep;
  } catch (err) {
    say(`Depots: ${err.message}`, true);
  }
}

async function depotView(depot, pub) {
  // One depot's part of an all-depot plan: its vans' routes and its orders.
  if (!depot || pub.depot_id) return null;
  const view = { depot, vehicles: new Set(), orders: null };
  try {
    const vans = await api("GET", `/v1/vehicles?depot_id=${encodeURIComponent(depot)}&limit=1000`);
    for (const v of vans.data) view.vehicles.add(v.id);
  } catch {
    // Without the fleet, a route belongs to the depot it starts from.
    const at = state.depots.get(depot)?.location;
    for (const route of pub.plan?.routes || []) {
      const start = route.steps[0]?.location;
      if (at && start && Math.abs(start.lat - at.lat) < 1e-6 && Math.abs(start.lon - at.lon) < 1e-6) view.vehicles.add(route.vehicle);
    }
  }
  try {
    const query = new URLSearchParams({ day: pub.day, depot_id: depot, limit: "1000" });
    const orders = await api("GET", `/v1/orders?${query}`);
    view.orders = new Set(orders.data.map((o) => o.id));
  } catch {
    view.orders = null;
  }
  return view;
}

function filtered(pub, view) {
  // The plan as drawn: the depot's routes and unassigned orders, and their totals.
  if (!view || !pub.plan) return pub;
  const routes = pub.plan.routes.filter((r) => view.vehicles.has(r.vehicle));
  const mine = (id) => !view.orders || view.orders.has(id) || routes.some((r) => r.steps.some((s) => s.id === id));
  const unassigned = pub.plan.unassigned.filter((u) => view.orders ? view.orders.has(u.id) : false);
  const stops = routes.flatMap((r) => r.steps.filter((s) => STOP_TYPES.has(s.type)));
  const sum = (f) => routes.reduce((a, r) => a + f(r), 0);
  const served = routes.reduce((a, r) => a + r.orders, 0);
  const summary = {
    routes: routes.length, orders: served + unassigned.length, served, unassigned: unassigned.length,
    distance: sum((r) => r.distance), duration: sum((r) => r.duration), service: sum((r) => r.service),
    waiting_time: sum((r) => r.waiting_time), in_window: stops.filter((s) => !s.late && mine(s.id)).length,
    late: stops.filter((s) => s.late > 0).length,
    cost: sum((r) => r.cost) + unassigned.reduce((a, u) => a + (u.penalty || 0), 0),
  };
  return { ...pub, plan: { ...pub.plan, routes, unassigned }, summary, view };
}

function usable(p) {
  return p.status === "draft" || p.status === "dispatched";
}

async function showPlan() {
  const { day, depot } = dayAndDepot();
  if (!day) return say("Choose a day.", true);
  say("Looking for the day's plan…");
  const list = await api("GET", `/v1/plans?${new URLSearchParams({ day, limit: "50" })}`);
  const open = list.data.filter(usable);
  // A depot: the newest of its own plans and the plans of every depot (of
  // which it gets its part). All depots: a plan of the whole day if there
  // is one, else the newest.
  const current = depot
    ? open.find((p) => p.depot_id === depot || p.depot_id === null)
    : open.find((p) => p.depot_id === null) || open[0];
  if (!current) {
    clearPlan();
    return say(`No plan for ${day}${depot ? ` at ${depot}` : ""} yet: press Solve.`);
  }
  // A draft made from a dispatched plan waits for review while that plan
  // stays live: show the live plan, and the draft in the review panel.
  const parent = current.status === "draft" && current.parent_id
    ? open.find((p) => p.id === current.parent_id && p.status === "dispatched") : null;
  const pub = await api("GET", `/v1/plans/${encodeURIComponent((parent || current).id)}`);
  const view = await depotView(depot, pub);
  renderPlan(pub, view);
  if (parent) openReview(await api("GET", `/v1/plans/${encodeURIComponent(current.id)}`));
  const shownId = (parent || current).id;
  say(view ? `Plan ${shownId} of ${day} (all depots), showing ${depot}: ${view.vehicles.size} vans.` : `Plan ${shownId} of ${day}.`);
}

function clearPlan() {
  state.plan = null;
  state.view = null;
  state.selected = null;
  state.live = new Map();
  if (state.stream) state.stream.abort();
  state.stream = null;
  routeLayer.clearLayers();
  vanLayer.clearLayers();
  stopMarkers.clear();
  vanMarkers.clear();
  $("totals").replaceChildren();
  $("kpis").replaceChildren();
  $("exceptions").replaceChildren();
  $("exceptions-count").textContent = "";
  state.lastLive = null;
  $("plan-state").textContent = "";
  $("timelines").replaceChildren();
  $("unassigned").querySelector("tbody").replaceChildren();
  $("unassigned-count").textContent = "";
  $("vans").querySelector("tbody").replaceChildren();
  $("stop-detail").replaceChildren(el("p", { text: "Choose a stop on the map or in a timeline." }));
  $("stop-edit").replaceChildren();
  closeReview();
  fillRescueVans(null);
  setButtons();
}

function setButtons() {
  // What the shown plan allows (nothing when none is shown).
  const pub = state.plan;
  $("dispatch").disabled = !pub || pub.status !== "draft";
  $("reoptimize").disabled = !pub || !["draft", "dispatched"].includes(pub.status);
  const rescuable = Boolean(pub) && ["draft", "dispatched"].includes(pub.status) && $("rescue-van").options.length > 0;
  $("rescue").hidden = !rescuable;
  $("rescue-compare").disabled = !rescuable;
}

async function waitFor(accepted, what) {
  const done = await follow(accepted.url, (job) => say(`${what}: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`));
  if (done.status === "failed") throw new Error(`${what} failed: ${done.job?.error || "unknown error"}`);
  renderPlan(done, await depotView($("depot").value || null, done));
  say(`${what}: plan ${done.id} ready, ${done.summary.routes} routes, ${done.summary.served} of ${done.summary.orders} orders served.`);
  return done;
}

function params() {
  return { time_limit: Number($("time-limit").value) || 5 };
}

async function solve() {
  const { day, depot } = dayAndDepot();
  if (!day) return say("Choose a day.", true);
  say("Solving…");
  const body = { day, params: params() };
  if (depot) body.depot_id = depot;
  const done = await waitFor(await api("POST", "/v1/plans", body), "Solve");
  if (done?.status === "draft") await discardEarlierDrafts(done);
}

async function discardEarlierDrafts(pub) {
  // A new Solve replaces the earlier drafts of its day and depot: the service
  // may have superseded them already; if not, they are discarded here
  // (DELETE, where the service has it: 404/405 means it has not).
  const list = await api("GET", `/v1/plans?${new URLSearchParams({ day: pub.day, limit: "50" })}`);
  const earlier = list.data.filter((p) => p.id !== pub.id && p.status === "draft" && p.depot_id === pub.depot_id
    && Date.parse(p.created_at) <= Date.parse(pub.created_at));
  for (const old of earlier) await discard(old.id);
  if (earlier.length) {
    const status = $("status");
    status.textContent += ` It replaces draft ${earlier.map((p) => p.id).join(", ")}.`;
  }
}

async function discard(planId) {
  // true: the draft is gone; false: this service cannot discard drafts.
  if (state.canDiscard === false) return false;
  try {
    await api("DELETE", `/v1/plans/${encodeURIComponent(planId)}`);
    return true;
  } catch (err) {
    if (err.status === 405 || (err.status === 404 && !err.problem?.detail?.includes(planId))) {
      state.canDiscard = false;
      return false;
    }
    if (err.status === 404 || err.status === 409) return true; // gone, or no longer a draft
    throw err;
  }
}

async function reoptimize() {
  const pub = state.plan;
  if (!pub) return say("Show or solve a plan first.", true);
  const time = Math.max(0, secondsInto(pub.day));
  say(`Re-optimising from ${clock(time)}…`);
  const accepted = await api("POST", `/v1/plans/${pub.id}/reoptimize`, { time, params: params() });
  const done = await follow(accepted.url, (job) => say(`Re-optimise: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`));
  if (done.status === "failed") throw new Error(`Re-optimise failed: ${done.job?.error || "unknown error"}`);
  await newDraft(pub, done, "Re-optimise");
}

async function newDraft(parent, draft, what) {
  // A draft made from the plan on screen (re-optimised or edited) is reviewed
  // before it is dispatched. A dispatched parent stays live meanwhile (the
  // map and timelines keep showing it, the draft's routes on demand); a
  // service that superseded the parent gets the draft drawn in its place.
  let live = null;
  try {
    live = await api("GET", `/v1/plans/${encodeURIComponent(parent.id)}`);
  } catch {
    live = null;
  }
  if (live?.status === "dispatched" && draft.status === "draft") {
    openReview(draft);
    say(`${what}: draft ${draft.id} ready for review; plan ${parent.id} stays live until it is dispatched.`);
    return;
  }
  renderPlan(draft, await depotView($("depot").value || null, draft));
  if (draft.status === "draft") openReview(draft);
  const s = draft.summary;
  say(`${what}: plan ${draft.id} ready, ${s.routes} routes, ${s.served} of ${s.orders} orders served.`);
}

// -- review before dispatch ---------------------------------------------------

function openReview(draft, changes = draft.changes) {
  state.draft = draft;
  state.draftChanges = changes || null;
  draftLayer.clearLayers();
  $("review").hidden = false;
  $("review-plan").textContent = `(draft ${draft.id})`;
  const onMap = state.plan?.id === draft.id;
  $("review-note").textContent = onMap
    ? "The map and timelines show this draft."
    : `Plan ${state.plan?.id} stays live (map, timelines, vans) until this draft is dispatched.`;
  $("review-changes").replaceChildren(renderChanges(changes, draft));
  $("review-discard").hidden = state.canDiscard === false;
  const toggle = $("review-toggle");
  toggle.hidden = onMap;
  toggle.setAttribute("aria-pressed", "false");
  toggle.textContent = "Show the draft's routes";
}

function closeReview() {
  state.draft = null;
  state.draftChanges = null;
  draftLayer?.clearLayers();
  $("review").hidden = true;
  $("review-changes").replaceChildren();
}

const SIGNED = (x, digits = 0) => `${x > 0 ? "+" : x < 0 ? "−" : "±"}${Math.abs(x).toFixed(digits)}`;

function renderChanges(changes, draft) {
  const box = el("div", { class: "changes" });
  if (!changes) {
    box.append(el("p", { text: "The service sent no list of changes for this draft." }));
    return box;
  }
  const van = (v) => v || "no van";
  const shifts = (changes.eta_shifts || []).filter((e) => Math.round((e.after - e.before) / 60) !== 0)
    .sort((a, b) => Math.abs(b.after - b.before) - Math.abs(a.after - a.before));
  const groups = [
    ["moved", "Moved to another van", changes.moved || [], (m) => `${m.order}: ${van(m.before)} → ${van(m.after)}`],
    ["inserted", "Added to a route", changes.inserted || [], (m) => `${m.order}: ${van(m.before)} → ${van(m.after)}`],
    ["rescued", "Rescued from a broken-down van", changes.rescued || [], (r) => (r.by
      ? `${r.order}: ${r.vehicle} → ${r.by} (${RESCUE_SHORT[r.how] || r.how})`
      : `${r.order}: not delivered today from ${r.vehicle}: ${String(r.reason || "").replaceAll("_", " ")}${r.detail ? ` (${r.detail})` : ""}`)],
    ["dropped", "Dropped", changes.dropped || [], (d) => `${d.order}: ${String(d.reason).replaceAll("_", " ")}${d.detail ? ` (${d.detail})` : ""}`],
    ["eta_shift", "ETA shifts", shifts, (e) => `${e.order} on ${e.vehicle}: ${clock(e.before)} → ${clock(e.after)} (${SIGNED((e.after - e.before) / 60)} min)`],
  ];
  let any = false;
  for (const [key, title, items, words] of groups) {
    if (!items.length) continue;
    any = true;
    box.append(el("h3", { text: `${title} (${items.length})` }),
      el("ul", { class: "change-list", "data-changes": key },
        ...items.map((x) => el("li", { "data-change": key, "data-order": x.order, text: words(x) }))));
  }
  if (!any) box.append(el("p", { text: "No order changes van, route or ETA by a minute or more." }));
  if (draft?.summary && state.plan?.summary && state.plan.id !== draft.id) {
    const a = state.plan.summary, b = draft.summary;
    box.append(el("p", { class: "deltas", text:
      `Against the live plan: cost ${SIGNED(b.cost - a.cost)}, distance ${SIGNED((b.distance - a.distance) / 1000, 1)} km, `
      + `driving ${SIGNED((b.duration - a.duration) / 60)} min, late ${SIGNED(b.late - a.late)}.` }));
  }
  return box;
}

function toggleDraftRoutes() {
  const toggle = $("review-toggle");
  const on = toggle.getAttribute("aria-pressed") !== "true";
  toggle.setAttribute("aria-pressed", String(on));
  toggle.textContent = on ? "Hide the draft's routes" : "Show the draft's routes";
  draftLayer.clearLayers();
  if (!on || !state.draft?.plan) return;
  const draft = filtered(state.draft, state.view);
  draft.plan.routes.forEach((route, i) => {
    const points = route.steps.filter((s) => s.location && s.location.lat !== null).map((s) => [s.location.lat, s.location.lon]);
    const line = L.polyline(points, {
      color: COLOURS[i % COLOURS.length], weight: 4, opacity: 0.9, dashArray: "8 6", className: "draft-line", interactive: false,
    }).addTo(draftLayer);
    line.getElement()?.setAttribute("data-vehicle", route.vehicle);
  });
}

async function reviewDispatch() {
  const draft = state.draft;
  if (!draft) return;
  const got = await api("POST", `/v1/plans/${encodeURIComponent(draft.id)}/dispatch`);
  const pub = await api("GET", `/v1/plans/${encodeURIComponent(draft.id)}`);
  closeReview();
  // From now on the page follows the dispatched draft's live stream.
  renderPlan(pub, await depotView($("depot").value || null, pub));
  say(`Plan ${got.id} dispatched: ${got.dispatched_orders} orders released to the vans.`);
}

async function reviewDiscard() {
  const draft = state.draft;
  if (!draft) return;
  if (!(await discard(draft.id))) {
    $("review-discard").hidden = true;
    return say("Discarding a draft is not available in this service.", true);
  }
  closeReview();
  if (state.plan?.id === draft.id) {
    await showPlan();
    say(`Draft ${draft.id} discarded.`);
  } else {
    say(`Draft ${draft.id} discarded; plan ${state.plan?.id} stays live.`);
  }
}

// -- edits: move, re-sequence, lock (preview, then apply) ----------------------

function editable() {
  return state.canEdit !== false && state.plan && ["draft", "dispatched"].includes(state.plan.status);
}

function renderStopEdit(orderId) {
  const box = $("stop-edit");
  box.replaceChildren();
  const found = findStop(orderId);
  if (!found || !editable()) return;
  const { route, step } = found;
  const stops = route.steps.filter((s) => STOP_TYPES.has(s.type)).map((s) => s.id);
  const at = stops.indexOf(orderId);
  const vans = state.shown.plan.routes.map((r) => r.vehicle);
  const select = el("select", { id: "move-van" }, ...vans.map((v) => el("option", { value: v, text: v === route.vehicle ? `${v} (now)` : v })));
  select.value = vans.find((v) => v !== route.vehicle) || route.vehicle;
  const locked = state.locked.has(orderId) || Boolean(step.locked);
  box.append(el("fieldset", { class: "edit" },
    el("legend", { text: `Change ${orderId}` }),
    el("div", { class: "row" },
      el("div", { class: "field" }, el("label", { for: "move-van", text: "Move to van" }), select),
      el("div", { class: "field" }, el("label", { for: "move-position", text: "at position" }),
        el("input", { id: "move-position", type: "number", min: 1, step: 1, placeholder: "auto", inputmode: "numeric" })),
      el("button", { type: "button", id: "preview-move", onclick: guarded(() => previewMove(orderId)), text: "Preview move" })),
    el("div", { class: "row" },
      el("button", { type: "button", class: "secondary", id: "move-up", disabled: at <= 0,
        onclick: guarded(() => previewSequence(route, stops, at, at - 1)), text: "Move up" }),
      el("button", { type: "button", class: "secondary", id: "move-down", disabled: at < 0 || at >= stops.length - 1,
        onclick: guarded(() => previewSequence(route, stops, at, at + 1)), text: "Move down" }),
      el("button", { type: "button", class: "secondary", id: "lock-toggle", "aria-pressed": String(locked),
        onclick: guarded(() => preview([{ op: "lock", order_id: orderId, locked: !locked }], locked ? `Unlock ${orderId}` : `Lock ${orderId}`)),
        text: locked ? "Unlock stop" : "Lock stop" })),
    el("div", { id: "edit-preview", "aria-live": "polite" })));
}

function previewMove(orderId) {
  const vehicle = $("move-van").value;
  const raw = $("move-position").value.trim();
  const position = raw === "" ? null : Number(raw) - 1;
  if (position !== null && (!Number.isInteger(position) || position < 0)) {
    return say("Position: a whole number from 1, or empty for the best place.", true);
  }
  const where = position === null ? "best position" : `position ${position + 1}`;
  return preview([{ op: "move", order_id: orderId, vehicle, position }], `Move ${orderId} to ${vehicle}, ${where}`);
}

function previewSequence(route, stops, from, to) {
  const order = [...stops];
  [order[from], order[to]] = [order[to], order[from]];
  return preview([{ op: "resequence", vehicle: route.vehicle, order_ids: order }], `${stops[from]} ${to < from ? "up" : "down"} on ${route.vehicle}`);
}

function unavailable(err) {
  return err.status === 405 || (err.status === 404 && !String(err.problem?.detail || "").includes(state.plan?.id));
}

async function preview(edits, what) {
  const planId = state.plan.id;
  let got;
  try {
    got = await api("POST", `/v1/plans/${encodeURIComponent(planId)}/edits/preview`, { edits, force: false });
  } catch (err) {
    if (unavailable(err)) {
      state.canEdit = false;
      $("stop-edit").replaceChildren(el("p", { class: "hint", text: "Moving, re-sequencing and locking stops are not available in this service." }));
      return say("Editing routes is not available in this service.", true);
    }
    throw err;
  }
  const box = $("edit-preview");
  if (!box || state.plan?.id !== planId) return;
  const km = (m) => SIGNED((m || 0) / 1000, 1);
  const rows = [
    ["Cost", SIGNED(got.cost_delta || 0)],
    ["Distance", `${km(got.distance_delta_m)} km`],
    ["Time", `${SIGNED((got.duration_delta_s || 0) / 60)} min`],
    ["Late orders", SIGNED(got.late_delta || 0)],
  ];
  const apply = el("button", {
    type: "button", id: "apply-edit", text: got.feasible ? "Apply" : "Apply anyway",
    onclick: guarded(() => applyEdits(planId, edits, !got.feasible, what, got.changes)),
  });
  box.replaceChildren(el("div", { class: `preview ${got.feasible ? "ok" : "bad"}`, "data-feasible": String(got.feasible) },
    el("h3", { text: `Preview: ${what}` }),
    el("p", { class: "feasible", text: got.feasible ? "Feasible: every window, break and capacity holds." : "Not feasible:" }),
    got.violations?.length ? el("ul", { class: "violations" }, ...got.violations.map((v) => el("li", { text: v }))) : null,
    el("table", { class: "deltas", "aria-label": "What the change does" },
      el("tbody", {}, ...rows.map(([k, v]) => el("tr", { "data-delta": k.toLowerCase().replace(" ", "-") }, el("th", { scope: "row", text: k }), el("td", { class: "num", text: v }))))),
    el("div", { class: "row" }, apply,
      el("button", { type: "button", class: "secondary", text: "Cancel", onclick: () => box.replaceChildren() }))));
  say(`Preview of ${what}: ${got.feasible ? "feasible" : "not feasible"}.`);
}

async function applyEdits(planId, edits, force, what, changes) {
  const draft = await api("POST", `/v1/plans/${encodeURIComponent(planId)}/edits`, { edits, force });
  for (const e of edits) {
    if (e.op === "lock") {
      if (e.locked) state.locked.add(e.order_id);
      else state.locked.delete(e.order_id);
    }
  }
  const parent = state.plan;
  if (!draft.changes && changes) draft.changes = changes;
  await newDraft(parent, draft, what);
}

async function dispatchPlan() {
  const pub = state.plan;
  if (!pub) return say("Show or solve a plan first.", true);
  const got = await api("POST", `/v1/plans/${pub.id}/dispatch`);
  if (state.draft?.id === pub.id) closeReview();
  state.plan = { ...pub, status: got.status, dispatched_at: got.dispatched_at };
  state.shown = { ...state.shown, status: got.status, dispatched_at: got.dispatched_at };
  renderTotals(state.shown);
  setButtons();
  say(`Plan ${got.id} dispatched: ${got.dispatched_orders} orders released to the vans.`);
}

// Actions in flight, and each button's state from before the first of them:
// an action started while another runs must not take "disabled by the other"
// for the button's own state, or it would leave the button off for good.
let busy = 0;
let before = new Map();

function guarded(action) {
  return async (event) => {
    event?.preventDefault();
    setApiKey($("key").value.trim());
    if (!apiKey()) return say("Enter a dispatcher API key first.", true);
    const buttons = ["load", "solve", "reoptimize", "dispatch", "review-dispatch", "review-discard", "rescue-compare"].map($)
      .concat([...document.querySelectorAll("#rescue-options button")]);
    busy += 1;
    buttons.forEach((b) => {
      if (!before.has(b)) before.set(b, b.disabled);
      b.disabled = true;
    });
    try {
      await action();
    } catch (err) {
      say(err.message, true);
    } finally {
      busy -= 1;
      if (busy === 0) {
        before.forEach((was, b) => { b.disabled = was; });
        before = new Map();
        setButtons();
      }
    }
  };
}

function legend() {
  const ul = $("legend");
  ul.setAttribute("aria-label", "Map symbols");
  for (const [shape, words] of Object.entries(SHAPE_WORDS)) {
    const status = Object.keys(SHAPE_OF).find((k) => SHAPE_OF[k] === shape);
    const icon = el("span", { class: "shape", "aria-hidden": "true" });
    icon.innerHTML = shapeSvg(status, "#4b5563");
    ul.append(el("li", { "data-shape": shape }, icon, words));
  }
  ul.append(
    el("li", {}, el("span", { class: "van-tag", "aria-hidden": "true", text: "van" }), "van's last position"),
    el("li", {}, el("span", { class: "swatch depot-swatch", "aria-hidden": "true" }), "depot"),
    el("li", {}, "line colour: the route (see Routes); choose a route's name to highlight it"),
  );
}

async function init() {
  map = L.map("map", { preferCanvas: false, zoomSnap: 0.25 }).setView([37.56, 126.98], 11);
  routeLayer = L.layerGroup().addTo(map);
  vanLayer = L.layerGroup().addTo(map);
  draftLayer = L.layerGroup().addTo(map);
  legend();
  setInterval(drawNow, 60_000);
  let resizing = null;
  window.addEventListener("resize", () => { clearTimeout(resizing); resizing = setTimeout(drawTicks, 150); });
  const params = new URLSearchParams(location.search);
  $("day").value = params.get("day") || localToday();
  $("key").value = apiKey();
  $("key").addEventListener("change", () => { setApiKey($("key").value.trim()); loadDepots(); });
  $("controls").addEventListener("submit", guarded(showPlan));
  // Another depot (or all): what is shown follows at once, never stale.
  $("depot").addEventListener("change", () => { if (apiKey() && state.plan) guarded(showPlan)(); });
  $("solve").addEventListener("click", guarded(solve));
  $("reoptimize").addEventListener("click", guarded(reoptimize));
  $("dispatch").addEventListener("click", guarded(dispatchPlan));
  $("review-dispatch").addEventListener("click", guarded(reviewDispatch));
  $("review-discard").addEventListener("click", guarded(reviewDiscard));
  $("review-toggle").addEventListener("click", toggleDraftRoutes);
  $("rescue-compare").addEventListener("click", guarded(compareRescue));
  await addBaseLayers(L, map).catch((err) => say(`Base map: ${err.message}`, true));
  document.body.dataset.ready = "true";
  if (apiKey()) {
    await loadDepots();
    if (params.get("depot")) $("depot").value = params.get("depot");
  }
}

// -- a van broke down: compare the rescues of its parcels, choose one ----------

const RESCUE_WORDS = {
  transfer: "Transfer: another van meets the broken van and takes its parcels over",
  depot: "Back to the depot: the parcels go back and are re-planned from there",
};
const RESCUE_SHORT = { transfer: "transferred", depot: "via the depot" };

function fillRescueVans(plan) {
  // The shown plan's vans; options compared for another plan are dropped.
  const select = $("rescue-van");
  const keep = select.value;
  const vans = (plan?.routes || []).map((r) => r.vehicle);
  select.replaceChildren(...vans.map((v) => el("option", { value: v, text: v })));
  if (vans.includes(keep)) select.value = keep;
  if (state.rescue && state.rescue.planId !== state.plan?.id) closeRescue();
}

function closeRescue() {
  state.rescue = null;
  $("rescue-options").replaceChildren();
}

async function compareRescue() {
  const pub = state.plan;
  const van = $("rescue-van").value;
  if (!pub || !van) return say("Show a draft or dispatched plan and choose the van that broke down.", true);
  const time = Math.max(0, secondsInto(pub.day));
  // Only the van and now: the service starts every van from what tracking
  // knows of it (last position, stops done, the stop it is heading to), so
  // the parcels still on board a van seen on the road are rescued.
  const body = { time, unavailable: [van], params: params() };
  closeRescue();
  const per = body.params.time_limit;
  say(`Van ${van} broke down: planning each rescue of its parcels from ${clock(time)} (about ${per} s each)…`);
  let got;
  try {
    got = await api("POST", `/v1/plans/${encodeURIComponent(pub.id)}/reoptimize/compare`, body);
  } catch (err) {
    throw new Error(`Rescue options for ${van}: ${err.message}`);
  }
  if (state.plan?.id !== pub.id) return;
  state.rescue = { planId: pub.id, van, body, options: got.options };
  renderRescueOptions(van, got.options);
  const offered = got.options.filter((o) => o.offered).length;
  say(offered
    ? `Van ${van} broke down: ${offered} of ${got.options.length} rescue options offered; choose one.`
    : `Van ${van} broke down: no rescue option passes the checks (see why in the table).`, !offered);
}

function renderRescueOptions(van, options) {
  const offered = options.filter((o) => o.offered);
  const cheapest = Math.min(...(offered.length ? offered : options).map((o) => o.cost));
  const won = (x) => money(x).replace(` ${LOCALE.currency}`, "");
  const rows = options.map((o) => {
    const words = RESCUE_WORDS[o.rescue] || o.rescue;
    const dropped = o.dropped.length
      ? el("ul", { class: "dropped" }, ...o.dropped.map((d) => el("li", { "data-order": d.order,
        text: `${d.order}: ${String(d.reason).replaceAll("_", " ")}${d.detail ? ` (${d.detail})` : ""}` })))
      : "none";
    const choose = el("button", {
      type: "button", class: "choose", "data-rescue": o.rescue, disabled: !o.offered,
      "aria-label": `Choose: ${words}`, text: "Choose",
      onclick: guarded(() => chooseRescue(o)),
    });
    return el("tr", { "data-rescue": o.rescue, "data-offered": String(o.offered), class: o.offered ? "" : "not-offered" },
      el("th", { scope: "row", text: words }),
      el("td", { class: "num", "data-col": "cost", text: won(o.cost) }),
      el("td", { class: "num", "data-col": "difference", text: o.cost === cheapest ? "cheapest" : `+${won(o.cost - cheapest)}` }),
      el("td", { class: "num", "data-col": "served", text: String(o.served) }),
      el("td", { class: "num", "data-col": "late", text: String(o.late) }),
      el("td", { class: "num", "data-col": "delivered", text: `${o.delivered} of ${o.parcels}` }),
      el("td", { "data-col": "dropped" }, dropped),
      el("td", { "data-col": "choose" }, o.offered ? choose : el("span", {}, choose, el("span", { class: "checker", text: ` Not offered: ${o.checker}` }))));
  });
  const head = ["Rescue", `Cost (${LOCALE.currency})`, "Against the cheapest", "Orders served", "Late", "Parcels on board delivered today", "Dropped", "Choice"];
  $("rescue-options").replaceChildren(
    el("table", { id: "rescue-table", class: "rescue-table" },
      el("caption", { text: `Rescue options for ${van}, planned from ${clock(state.rescue.body.time)}: nothing is stored until one is chosen` }),
      el("thead", {}, el("tr", {}, ...head.map((h, i) => el("th", { scope: "col", class: i > 0 && i < 6 ? "num" : null, text: h })))),
      el("tbody", {}, ...rows)),
    el("div", { class: "row" }, el("button", { type: "button", class: "secondary", id: "rescue-cancel", text: "Close the options",
      onclick: () => { closeRescue(); say(`Rescue of ${van}: options closed, nothing changed.`); } })));
}

async function chooseRescue(option) {
  const chosen = state.rescue;
  const pub = state.plan;
  if (!chosen || !pub || pub.id !== chosen.planId) return say("Compare the rescue options again: the plan shown changed.", true);
  const what = `Rescue of ${chosen.van} (${RESCUE_SHORT[option.rescue] || option.rescue})`;
  const body = { ...chosen.body, rescue: { [chosen.van]: option.rescue } };
  say(`${what}: re-planning the rest of the day…`);
  let accepted;
  try {
    accepted = await api("POST", `/v1/plans/${encodeURIComponent(pub.id)}/reoptimize`, body);
  } catch (err) {
    throw new Error(`${what}: ${err.message}`);
  }
  const done = await follow(accepted.url, (job) => say(`${what}: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`));
  if (done.status === "failed") throw new Error(`${what} failed: ${done.job?.error || "unknown error"}`);
  closeRescue();
  await newDraft(pub, done, what);
  if (!$("review").hidden) $("review").focus();
}

init();
