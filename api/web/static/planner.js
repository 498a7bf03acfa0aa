// The planner view: zone forecasts with their intervals against the history
// they learn from, scenario comparisons of library scenarios (KPI table and
// charts with error bars), and the earlier runs of both, to open again.
import { ApiError, api, apiKey, el, follow, setApiKey } from "/static/common.js";

const Chart = window.Chart;
const $ = (id) => document.getElementById(id);
const forecastCharts = [];
const scenarioCharts = [];

// Where a forecast's history and jobs come from, by the "Data" select. The
// service forecasts the stored history when there is one, else the embedded
// city; the select shows which (GET /v1/history says).
const SOURCES = {
  city: { history: "/v1/forecasts/history", forecasts: "/v1/forecasts" },
  stored: { history: "/v1/forecasts/history", forecasts: "/v1/forecasts" },
};

// The library scenarios ticked when the page opens: only the weather differs,
// so a small run shows what snow does (intervals that exclude zero).
const DEFAULT_PICKS = ["baseline", "snow_on_baseline_day"];

// KPI labels, as scenarios/sweep.py's KPIS.
const LABELS = {
  orders: "orders", served: "served", unassigned: "unassigned",
  cost_per_order: "cost per order (won)", km: "km", driver_hours: "vehicle-hours",
  vehicles_used: "vehicles used", on_time_rate: "on-time rate",
  late_minutes_p50: "late minutes p50", late_minutes_p95: "late minutes p95",
  failed_attempt_rate: "failed-attempt rate", eta_mae_minutes: "ETA MAE 1 h ahead (min)",
  eta_coverage: "arrivals in ETA P10-P90", customers_expected_lost: "customers expected lost",
  retention_loss: "retention loss (won)", route_cost: "route cost (won)", first_choice_rate: "shoppers offered their window",
  lost_at_checkout: "shoppers lost at checkout",
};
const label = (k) => LABELS[k] || k.replaceAll("_", " ");

// The delivery and retention KPIs drawn as charts, each with error bars.
const CHARTED = ["on_time_rate", "late_minutes_p95", "failed_attempt_rate", "customers_expected_lost", "retention_loss", "cost_per_order"];

// KPIs where a higher value is better; the others are costs.
const HIGHER_IS_BETTER = new Set(["on_time_rate", "served", "eta_coverage", "first_choice_rate"]);

const library = new Map(); // id -> {id, title, description, scenario}
let picked = []; // ids of the ticked library scenarios, in the order ticked

function say(id, text, error = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", error);
}

function number(x, digits = 1) {
  if (x === null || x === undefined) return "–";
  return Number(x).toLocaleString("en", { maximumFractionDigits: digits });
}

function signed(x, digits = 2) {
  return `${x >= 0 ? "+" : ""}${number(x, digits)}`;
}

// A timestamp of the API (UTC; SQLite drops the zone) in the reader's time.
function when(stamp) {
  if (!stamp) return "";
  const zoned = /[zZ]|[+-]\d\d:?\d\d$/.test(stamp) ? stamp : `${stamp}Z`;
  return new Date(zoned).toLocaleString("en-GB", { dateStyle: "medium", timeStyle: "short" });
}

function guarded(statusId, action) {
  return async (event) => {
    event.preventDefault();
    setApiKey($("key").value.trim());
    if (!apiKey()) return say(statusId, "Enter a planner API key first.", true);
    const button = event.submitter || event.currentTarget.querySelector?.("button[type=submit]") || event.currentTarget;
    button.disabled = true;
    try {
      await action();
    } catch (err) {
      say(statusId, err.message, true);
    } finally {
      button.disabled = false;
    }
  };
}

// -- error bars ------------------------------------------------------------------

// Chart.js has no error bars: this plugin draws a whisker with caps from
// `low` to `high` over each bar of a dataset that has `errorBars` (one
// {low, high} or null per bar; null or a missing end draws nothing), and
// keeps what it drew, in data and pixels, in chart.$errorBars.
const errorBars = {
  id: "errorBars",
  afterDatasetsDraw(chart) {
    const { ctx } = chart;
    const drawn = [];
    chart.data.datasets.forEach((ds, d) => {
      if (!ds.errorBars || !chart.isDatasetVisible(d)) return;
      const meta = chart.getDatasetMeta(d);
      const scale = chart.scales[meta.yAxisID];
      ctx.save();
      ctx.strokeStyle = ds.errorBarColor || "#111827";
      ctx.lineWidth = 1.5;
      meta.data.forEach((bar, i) => {
        const e = ds.errorBars[i];
        if (!e || e.low === null || e.high === null) return;
        const top = scale.getPixelForValue(e.high);
        const bottom = scale.getPixelForValue(e.low);
        const cap = Math.max(4, Math.min(12, (bar.width || 24) / 4));
        ctx.beginPath();
        ctx.moveTo(bar.x, top); ctx.lineTo(bar.x, bottom);
        ctx.moveTo(bar.x - cap, top); ctx.lineTo(bar.x + cap, top);
        ctx.moveTo(bar.x - cap, bottom); ctx.lineTo(bar.x + cap, bottom);
        ctx.stroke();
        drawn.push({ dataset: d, index: i, mean: ds.data[i], low: e.low, high: e.high, x: bar.x, top, bottom });
      });
      ctx.restore();
    });
    chart.$errorBars = drawn;
  },
};

// -- loading what the page offers --------------------------------------------

// The source whose zones are loaded or loading (null: none yet).
let zonesOf = null;

async function loadZones() {
  const want = $("source").value;
  if (zonesOf === want) return;
  zonesOf = want;
  const source = SOURCES[want];
  try {
    const got = await api("GET", `${source.history}?days=1`);
    if ($("source").value !== want) return; // the source changed meanwhile
    $("zones").replaceChildren(...got.zones.map((z, i) => el("option", { value: z.zone, selected: i < 2, text: z.zone })));
    // The city's history ends the day before `until`: forecast from there
    // on. A stored history's `until` is tomorrow, the default start; any
    // day with enough history before it is allowed.
    $("from").max = $("source").value === "city" ? got.until : "";
    if (!$("from").value) $("from").value = got.until;
  } catch (err) {
    zonesOf = null;
    say("forecast-status", `Zones: ${err.message}`, true);
  }
}

// -- your history -------------------------------------------------------------

async function loadHistory() {
  try {
    const got = await api("GET", "/v1/history");
    const stored = got.rows > 0;
    $("history-summary").textContent = stored
      ? `${number(got.rows, 0)} orders stored, ${got.first_day} to ${got.last_day} (${got.timezone} days), ` +
        `${got.zones.length} zones, ${got.depots.length} depots. Forecasts run on them.`
      : "No history stored: forecasts run on the embedded city.";
    $("delete-history").hidden = !stored;
    const want = stored ? "stored" : "city";
    if ($("source").value !== want) {
      $("source").replaceChildren(el("option", {
        value: want, selected: true,
        text: stored ? `your stored history (${number(got.rows, 0)} orders)` : "embedded city (simulated history)",
      }));
      $("from-hint").textContent = stored
        ? "default: tomorrow; any day with enough history before it"
        : "default: the day after the last day of history";
      $("zones").replaceChildren();
      $("from").value = "";
    }
  } catch (err) {
    say("history-status", `History: ${err.message}`, true);
  }
  await loadZones();
}

// A file as the body of a request, with the key (api() sends JSON only).
async function upload(method, path, file) {
  const response = await fetch(path, {
    method, body: file, headers: { Accept: "application/json", "X-API-Key": apiKey(), "Content-Type": "application/octet-stream" },
  });
  const text = await response.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!response.ok) throw new ApiError(response.status, data);
  return data;
}

function historyFormat(name) {
  const stem = name.toLowerCase().replace(/\.gz$/, "");
  return stem.endsWith(".csv") ? "csv" : "jsonl";
}

async function uploadHistory() {
  const file = $("history-file").files[0];
  if (!file) return say("history-status", "Choose a file first.", true);
  say("history-status", `Importing ${file.name}…`);
  const got = await upload("POST", `/v1/history?format=${historyFormat(file.name)}`, file);
  say("history-status", `${file.name}: ${number(got.rows, 0)} orders read: ${number(got.inserted, 0)} inserted, ${number(got.updated, 0)} updated, ${number(got.unchanged, 0)} unchanged.`);
  await loadHistory();
}

// Every stored past order goes (the calendar stays), after the planner says so.
async function deleteHistory() {
  if (!window.confirm("Delete every stored past order? Forecasts then run on the embedded city until you import again.")) return;
  const got = await api("DELETE", "/v1/history");
  say("history-status", `${number(got.deleted, 0)} past orders deleted.`);
  await loadHistory();
}

async function uploadCalendar() {
  const file = $("calendar-file").files[0];
  if (!file) return say("history-status", "Choose a calendar file first.", true);
  const how = $("public-holidays").value;
  const got = await upload("PUT", `/v1/calendar?public_holidays=${how}`, file);
  const where = got.country + (got.subdivision ? `-${got.subdivision}` : "");
  const holidays = got.public_holidays === "replace" ? `replacing ${where}'s public holidays` : `merged with ${where}'s public holidays`;
  say("history-status", `${file.name}: ${got.count} calendar entries stored, ${holidays}.`);
}

async function loadLibrary() {
  if (library.size) return;
  try {
    const got = await api("GET", "/v1/scenarios/library");
    for (const item of got.data) library.set(item.id, item);
  } catch (err) {
    return say("scenario-status", `Library: ${err.message}`, true);
  }
  picked = DEFAULT_PICKS.filter((id) => library.has(id));
  const list = $("library-list");
  list.replaceChildren(...libraryItems().map((item) => {
    const box = el("input", { type: "checkbox", id: `pick-${item.id}`, value: item.id, checked: picked.includes(item.id), "aria-describedby": `pick-${item.id}-d` });
    box.addEventListener("change", () => {
      picked = box.checked ? [...picked, item.id] : picked.filter((id) => id !== item.id);
      markOrder();
    });
    return el("li", { "data-id": item.id },
      box, el("label", { for: `pick-${item.id}`, text: item.title }),
      el("span", { class: "order" }),
      el("small", { id: `pick-${item.id}-d`, class: "hint", text: item.description }));
  }));
  $("own-base").replaceChildren(...libraryItems().map((item) => el("option", { value: item.id, text: item.title })));
  markOrder();
  $("scenario-body").value = JSON.stringify(request(), null, 2);
}

function libraryItems() {
  return [...library.values()];
}

// "reference", "2", "3"… beside the ticked scenarios, in the order ticked.
function markOrder() {
  for (const li of $("library-list").children) {
    const at = picked.indexOf(li.dataset.id);
    const badge = li.querySelector(".order");
    if (badge) badge.textContent = at < 0 ? "" : at === 0 ? "reference" : `#${at + 1}`;
  }
}

// -- forecasts ----------------------------------------------------------------

async function runForecast() {
  const source = SOURCES[$("source").value];
  const zones = [...$("zones").selectedOptions].map((o) => o.value);
  if (!zones.length) return say("forecast-status", "Choose at least one zone.", true);
  const body = {
    horizon: Number($("horizon").value), zones, model: $("model").value, from: $("from").value,
    level: Number($("level").value),
  };
  say("forecast-status", "Forecasting…");
  const accepted = await api("POST", source.forecasts, body);
  loadRuns("forecast");
  const done = await follow(accepted.url || `${source.forecasts}/${accepted.id}`, (job) =>
    say("forecast-status", `Forecast: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`));
  loadRuns("forecast");
  if (done.status !== "succeeded") throw new Error(`Forecast failed: ${done.error || done.message}`);
  await showForecast(done.result, source);
}

async function showForecast(result, source = SOURCES.city) {
  const zones = [...new Set(result.zones.map((d) => d.zone))];
  const query = new URLSearchParams({ until: result.start, days: $("history-days").value });
  for (const z of zones) query.append("zone", z);
  const history = await api("GET", `${source.history}?${query}`);
  drawForecasts(result, history);
  drawDepots(result);
  const told = showNotice(result);
  const of = result.source === "stored" ? "your stored history" : "the embedded city";
  say("forecast-status", `Forecast of ${zones.length} zones for ${result.horizon} days from ${result.start} (${result.model}, ${result.level}% intervals): ${number(result.total_orders, 0)} orders, from ${of}.${told ? ` Not all as asked: see the notice below.` : ""}`);
}

// The model a series was asked for, as its rows' `model_used` name it.
function askedModel(result, series, id) {
  const fell = (result.fallbacks || []).find((f) => f.series === series && f.id === id);
  return fell ? fell.model : result.model_name;
}

// What the forecast did not do as asked, beside it: the series the fallback
// model forecast (and why), the depots whose fleet was not sized, the series
// left out. Hidden when there is none; returns how many lines it shows.
function showNotice(result) {
  const lines = [
    ...(result.fallbacks || []).map((f) => `${f.series === "zone" ? "Zone" : "Depot"} ${f.id}: forecast by ${f.used} instead of ${f.model}: ${f.reason}`),
    ...(result.unsized || []).map((u) => `Fleet of ${u.depot ? `depot ${u.depot}` : "every depot"} not sized: ${u.reason}`),
    ...(result.notes || []).map((n) => `Left out: ${n}`),
  ];
  const notice = $("forecast-notice");
  notice.querySelector("ul").replaceChildren(...lines.map((text) => el("li", { text })));
  notice.hidden = lines.length === 0;
  return lines.length;
}

// A zone's forecast days; a "Model" column when any day's model is not the
// one asked for.
function forecastTable(days, asked) {
  const differs = days.some((d) => d.model_used && d.model_used !== asked);
  const heads = ["Day", "Forecast", "Low", "High", ...(differs ? ["Model"] : [])];
  const model = (d) => (d.model_used && d.model_used !== asked ? el("td", { class: "fallback", text: `${d.model_used} (not ${asked})` }) : el("td", { text: d.model_used || asked }));
  return el("table", {},
    el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...days.map((d) => el("tr", {}, el("td", { text: d.day }), el("td", { class: "num", text: number(d.orders) }), el("td", { class: "num", text: number(d.lo) }), el("td", { class: "num", text: number(d.hi) }), ...(differs ? [model(d)] : [])))));
}

function drawForecasts(result, history) {
  for (const c of forecastCharts.splice(0)) c.destroy();
  const box = $("forecast-charts");
  box.replaceChildren();
  const byZone = new Map();
  for (const d of result.zones) {
    if (!byZone.has(d.zone)) byZone.set(d.zone, []);
    byZone.get(d.zone).push(d);
  }
  const past = new Map(history.zones.map((z) => [z.zone, z.days]));
  for (const [zone, days] of byZone) {
    const seen = past.get(zone) || [];
    const labels = [...seen.map((d) => d.day), ...days.map((d) => d.day)];
    const pad = (values, before) => [...Array(before).fill(null), ...values];
    const canvas = el("canvas", { role: "img", "aria-label": `Orders per day in ${zone}: history and forecast with ${result.level}% interval` });
    const asked = askedModel(result, "zone", zone);
    const used = [...new Set(days.map((d) => d.model_used).filter((m) => m && m !== asked))];
    const title = used.length ? `${zone} · by ${used.join(", ")}, not ${asked}` : zone;
    box.append(el("figure", { class: "chart-card", "data-zone": zone },
      el("h3", { text: title }), el("div", { class: "chart-box" }, canvas),
      el("details", {}, el("summary", { text: "Forecast table" }), forecastTable(days, asked))));
    forecastCharts.push(new Chart(canvas, {
      type: "line",
      data: {
        labels,
        datasets: [
          { label: "History", data: [...seen.map((d) => d.orders), ...Array(days.length).fill(null)], borderColor: "#374151", pointRadius: 0, borderWidth: 1.5 },
          { label: `High (${result.level}%)`, data: pad(days.map((d) => d.hi), seen.length), borderColor: "rgba(29,78,216,0.3)", pointRadius: 0, fill: false },
          { label: `Low (${result.level}%)`, data: pad(days.map((d) => d.lo), seen.length), borderColor: "rgba(29,78,216,0.3)", backgroundColor: "rgba(29,78,216,0.18)", pointRadius: 0, fill: "-1" },
          { label: "Forecast", data: pad(days.map((d) => d.orders), seen.length), borderColor: "#1d4ed8", borderDash: [5, 3], pointRadius: 1.5, borderWidth: 2 },
        ],
      },
      options: {
        animation: false, maintainAspectRatio: false, interaction: { mode: "index", intersect: false },
        scales: { x: { ticks: { maxTicksLimit: 8 } }, y: { beginAtZero: true, title: { display: true, text: "orders" } } },
      },
    }));
  }
}

// Each depot's deliveries by day with the interval and the planned quantile,
// and the fleet sized for it (vans + night vans, driver-hours; a fallback
// sizing is marked). Hidden when the forecast has no depot.
function drawDepots(result) {
  const box = $("depot-forecast");
  const fleet = new Map(result.fleet.map((f) => [`${f.depot}|${f.day}`, f]));
  const heads = ["Day", "Depot", "Deliveries", "Low", "High", `Planned (P${result.plan_quantile})`, "Vans", "Driver-hours"];
  const cell = (text, cls = "num") => el("td", { class: cls, text });
  const rows = result.depots.map((d) => {
    const f = fleet.get(`${d.depot}|${d.day}`);
    const vans = f ? `${f.vans}${f.night_vans ? ` + ${f.night_vans} night` : ""}${f.fallback ? ` (${f.fallback})` : ""}` : "not sized";
    return el("tr", { "data-depot": d.depot },
      el("td", { text: d.day }), el("td", { text: d.depot }),
      cell(number(d.orders)), cell(number(d.lo)), cell(number(d.hi)), cell(number(d.planned)),
      cell(vans, f ? "num" : "num fallback"), cell(f ? number(f.driver_hours) : "–"));
  });
  $("depot-table").replaceChildren(
    el("caption", { text: `${result.source === "stored" ? "Your depots" : "The embedded city's depots"}: deliveries forecast for ${result.horizon} days (${result.level}% interval) and the fleet sized for the planned quantile` }),
    el("thead", {}, el("tr", {}, ...heads.map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows));
  box.hidden = rows.length === 0;
}

// -- scenarios ----------------------------------------------------------------

const optional = (id) => ($(id).value === "" ? null : Number($(id).value));

// The "your own scenario" form: a library scenario with the common knobs changed.
function ownScenario() {
  const base = library.get($("own-base").value);
  if (!base) throw new Error("Your own scenario: choose the scenario it starts from.");
  const s = structuredClone(base.scenario);
  s.name = $("own-name").value.trim() || "My scenario";
  s.description = `${base.title}, changed on the planner page`;
  s.fleet = { ...s.fleet };
  const vans = optional("own-vans");
  if (vans !== null) s.fleet.vans_per_depot = vans;
  s.fleet.absent_drivers = optional("own-absent") ?? 0;
  s.disruption = { ...s.disruption };
  if ($("own-weather").value) s.disruption.weather = $("own-weather").value;
  const travel = optional("own-travel");
  if (travel !== null) s.disruption.travel_multiplier = travel;
  const uplift = optional("own-uplift");
  if (uplift !== null && uplift !== 1) {
    s.demand = [...(s.demand || []), { kind: "promotion", name: "planner's demand change", uplift }];
  }
  const cutoff = optional("own-cutoff");
  if (cutoff !== null) s.policy = { ...s.policy, same_day_cutoff: cutoff };
  return s;
}

// The body of POST /v1/scenarios from the ticked scenarios, the own one and the run size.
function request() {
  const scenarios = picked.map((id) => structuredClone(library.get(id).scenario));
  if ($("own-use").checked) scenarios.push(ownScenario());
  const orders = optional("orders");
  const customers = optional("customers");
  const iterations = optional("iterations");
  for (const s of scenarios) {
    if (orders !== null) s.orders = orders;
    if (customers !== null) s.city = { ...s.city, customers };
    if (iterations !== null) s.iterations = iterations;
  }
  const body = { scenarios };
  const replications = optional("replications");
  if (replications !== null) body.replications = replications;
  return body;
}

async function runScenarios(body) {
  say("scenario-status", "Simulating…");
  const accepted = await api("POST", "/v1/scenarios", body);
  loadRuns("scenario");
  const done = await follow(accepted.url || `/v1/scenarios/${accepted.id}`, (job) =>
    say("scenario-status", `Scenarios: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`), 500);
  loadRuns("scenario");
  if (done.status !== "succeeded") throw new Error(`Scenarios failed: ${done.error || done.message}`);
  drawComparison(done.result);
  say("scenario-status", `${done.result.scenarios.length} scenarios compared with ${done.result.reference}.`);
}

function runJson() {
  let body;
  try {
    body = JSON.parse($("scenario-body").value);
  } catch (err) {
    return say("scenario-status", `The scenarios are not valid JSON: ${err.message}`, true);
  }
  return runScenarios(body);
}

// "0.93 [0.90, 0.95]", or "0.93 (n=3)" with the reason when there is no interval.
function estimateText(e, sign = false) {
  if (e.mean === null || e.mean === undefined) return "–";
  const mean = sign ? signed(e.mean) : number(e.mean, 2);
  if (e.low === null || e.high === null) return `${mean} (n=${e.n})`;
  return `${mean} [${number(e.low, 2)}, ${number(e.high, 2)}]`;
}

const clear = (d) => d && d.low !== null && d.high !== null && (d.low > 0 || d.high < 0);

function drawComparison(comparison) {
  for (const c of scenarioCharts.splice(0)) c.destroy();
  const box = $("scenario-result");
  box.replaceChildren();
  const kpis = Object.keys(comparison.scenarios[0].kpis);
  const head = el("tr", {}, el("th", { scope: "col", text: "KPI" }), ...comparison.scenarios.map((s) => el("th", { scope: "col", text: `${s.name} (${s.replications} ${s.replications === 1 ? "day" : "days"})` })));
  const rows = kpis.map((k) => el("tr", { "data-kpi": k }, el("th", { scope: "row", text: label(k) }), ...comparison.scenarios.map((s, i) => {
    const e = s.kpis[k];
    const d = s.difference[k];
    let text = estimateText(e);
    let cls = "num";
    if (i > 0 && d && d.mean !== null) {
      text += ` (${estimateText(d, true)})`;
      if (clear(d)) cls += (d.mean > 0) === HIGHER_IS_BETTER.has(k) ? " better" : " worse";
    }
    return el("td", { class: cls, text, title: e.reason || d?.reason || null });
  })));
  const table = el("table", { id: "kpi-table" },
    el("caption", { text: `Mean and 95% interval per KPI; in brackets the difference with ${comparison.reference} and its interval. ${comparison.intervals || ""}` }),
    el("thead", {}, head), el("tbody", {}, ...rows));

  const findings = [];
  for (const s of comparison.scenarios.slice(1)) {
    for (const k of kpis) {
      const d = s.difference[k];
      if (clear(d)) {
        const verdict = (d.mean > 0) === HIGHER_IS_BETTER.has(k) ? "better" : "worse";
        findings.push(el("li", { "data-kpi": k, class: verdict, text: `${s.name}: ${label(k)} ${estimateText(d, true)} against ${comparison.reference} (${verdict})` }));
      }
    }
  }
  const few = comparison.scenarios.some((s) => s.replications < (comparison.min_replications ?? 5));
  const summary = findings.length
    ? el("ul", { id: "clear-differences" }, ...findings)
    : el("p", { id: "clear-differences", text: few ? `No intervals: run at least ${comparison.min_replications ?? 5} replications.` : "No difference is clear at 95% with these runs: try more replications." });

  const grid = el("div", { class: "charts" });
  for (const k of CHARTED) {
    if (!(k in comparison.scenarios[0].kpis)) continue;
    const canvas = el("canvas", { id: `chart-${k}`, role: "img", "aria-label": `${label(k)}: mean and 95% interval per scenario` });
    grid.append(el("figure", { class: "chart-card", "data-kpi": k }, el("h3", { text: label(k) }), el("div", { class: "chart-box" }, canvas)));
    scenarioCharts.push(kpiChart(canvas, comparison, k));
  }
  const select = el("select", { id: "kpi-chart-select" }, ...kpis.map((k) => el("option", { value: k, text: label(k) })));
  const canvas = el("canvas", { id: "kpi-chart", role: "img", "aria-label": "Mean and 95% interval of the chosen KPI per scenario" });
  box.append(el("h3", { text: "Clear differences (95% interval of the difference excludes zero)" }), summary, table, grid,
    el("div", { class: "row" }, el("label", {}, "KPI to chart ", select)), el("div", { class: "chart-box" }, canvas));
  let chosen = kpiChart(canvas, comparison, select.value);
  scenarioCharts.push(chosen);
  select.addEventListener("change", () => {
    scenarioCharts.splice(scenarioCharts.indexOf(chosen), 1);
    chosen.destroy();
    chosen = kpiChart(canvas, comparison, select.value);
    scenarioCharts.push(chosen);
  });
}

// A bar per scenario (the mean) with its 95% interval as an error bar.
function kpiChart(canvas, comparison, k) {
  const rate = (comparison.bounds?.[k] || [0, null])[1] === 1;
  const estimates = comparison.scenarios.map((s) => s.kpis[k]);
  const highs = estimates.flatMap((e) => [e.high, e.mean]).filter((x) => x !== null);
  return new Chart(canvas, {
    type: "bar",
    data: {
      labels: comparison.scenarios.map((s) => s.name),
      datasets: [{
        label: `${label(k)} (mean)`,
        data: estimates.map((e) => e.mean),
        errorBars: estimates.map((e) => ({ low: e.low, high: e.high })),
        backgroundColor: comparison.scenarios.map((_, i) => (i === 0 ? "#6b7280" : "#1d4ed8")),
      }],
    },
    plugins: [errorBars],
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: {
        legend: { display: false },
        tooltip: { callbacks: { label: (c) => `${label(k)}: ${estimateText(estimates[c.dataIndex])}` } },
      },
      scales: {
        y: {
          beginAtZero: true,
          max: rate ? 1 : undefined,
          suggestedMax: rate ? undefined : Math.max(0, ...highs) * 1.05,
          title: { display: true, text: label(k) },
        },
      },
    },
  });
}

// -- customers ----------------------------------------------------------------

const customerCharts = [];
// Experience cohorts of a first delivery, best to worst, as tracking.retention's COHORTS.
const COHORTS = ["on_time", "late_under_30", "late_30_plus", "failed_attempt"];
const COHORT_LABELS = {
  on_time: "on time", late_under_30: "late < 30 min", late_30_plus: "late ≥ 30 min", failed_attempt: "failed attempt",
};
const COHORT_COLOURS = { on_time: "#15803d", late_under_30: "#a16207", late_30_plus: "#c2410c", failed_attempt: "#b91c1c" };
const DAYS_COLOURS = { 30: "#1d4ed8", 60: "#6d28d9", 90: "#0f766e" };
const cohortLabel = (c) => COHORT_LABELS[c] || c;

function isoDay(date) {
  return date.toISOString().slice(0, 10);
}

function customersDefaults() {
  if ($("customers-until").value) return;
  const today = new Date();
  $("customers-until").value = isoDay(today);
  $("customers-from").value = isoDay(new Date(today.getTime() - 89 * 86_400_000));
}

async function runCustomers() {
  const query = new URLSearchParams({
    from: $("customers-from").value, until: $("customers-until").value,
    horizon_days: $("customers-horizon").value,
  });
  const zone = $("customers-zone").value.trim();
  if (zone) query.set("zone", zone);
  say("customers-status", "Loading…");
  const got = await api("GET", `/v1/metrics/retention?${query}`);
  drawCustomers(got);
}

// "0.42 [0.30, 0.55]"; "–" without a value.
function withInterval(value, low, high, digits = 2) {
  if (value === null || value === undefined) return "–";
  if (low === null || high === null || low === undefined) return number(value, digits);
  return `${number(value, digits)} [${number(low, digits)}, ${number(high, digits)}]`;
}

function chartCard(id, title, note) {
  const canvas = el("canvas", { id, role: "img", "aria-label": title });
  const card = el("figure", { class: "chart-card", "data-chart": id }, el("h3", { text: title }), el("div", { class: "chart-box" }, canvas));
  if (note) card.append(el("figcaption", { class: "note", text: note }));
  return { card, canvas };
}

function cohortBars(canvas, datasets, yTitle, max) {
  // Without a fixed top, leave room for the highest whisker.
  const tops = datasets.flatMap((d) => [...d.data, ...d.errorBars.map((e) => e.high)]).filter((x) => x !== null);
  const suggestedMax = max === null ? Math.max(0, ...tops) * 1.05 : undefined;
  return new Chart(canvas, {
    type: "bar",
    data: { labels: COHORTS.map(cohortLabel), datasets },
    plugins: [errorBars],
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { display: datasets.length > 1 } },
      scales: { y: { beginAtZero: true, max: max ?? undefined, suggestedMax, title: { display: true, text: yTitle } } },
    },
  });
}

function drawCustomers(body) {
  for (const c of customerCharts.splice(0)) c.destroy();
  const box = $("customers-result");
  box.replaceChildren();
  const where = `${body.start} to ${body.end}${body.zone ? ` in ${body.zone}` : ""}`;
  if (!body.deliveries) {
    box.append(el("p", { id: "customers-empty", class: "hint", text: `No data yet: no tracked delivery to a known customer ${where}. The charts appear once tracked days have deliveries with a customer id.` }));
    return say("customers-status", `No tracked deliveries ${where}.`);
  }
  const grid = el("div", { class: "charts" });
  box.append(grid);
  const byCohort = (rows) => new Map(rows.map((r) => [r.experience, r]));

  // LTV by the first delivery's experience.
  const ltv = byCohort(body.ltv);
  const observed = body.ltv.reduce((n, r) => n + r.customers, 0);
  const censored = body.ltv.reduce((n, r) => n + r.censored, 0);
  const ltvNote = observed
    ? `Margin of the orders in the ${body.horizon_days} days after the first delivery, mean per customer; ${censored} customers with less follow-up are left out.`
    : `No data yet: no customer has ${body.horizon_days} days of follow-up in this range (${censored} too recent).`;
  const ltvCard = chartCard("chart-ltv", `LTV over ${body.horizon_days} days by first-delivery experience (${body.currency})`, ltvNote);
  grid.append(ltvCard.card);
  customerCharts.push(cohortBars(ltvCard.canvas, [{
    label: `LTV (${body.currency})`, data: COHORTS.map((c) => ltv.get(c)?.value ?? null),
    errorBars: COHORTS.map((c) => ({ low: ltv.get(c)?.low ?? null, high: ltv.get(c)?.high ?? null })),
    backgroundColor: COHORTS.map((c) => COHORT_COLOURS[c]),
  }], body.currency, null));

  // Repeat rate at 30/60/90 days.
  const days = [...new Set(body.first_repeat.map((r) => r.days))];
  const repeatCard = chartCard("chart-repeat", "Second order within 30/60/90 days, by first-delivery experience",
    "Share of customers; only customers observed for the full N days count (the others are censored, not lost).");
  grid.append(repeatCard.card);
  customerCharts.push(cohortBars(repeatCard.canvas, days.map((n) => {
    const rows = byCohort(body.first_repeat.filter((r) => r.days === n));
    return {
      label: `${n} days`, data: COHORTS.map((c) => rows.get(c)?.rate ?? null),
      errorBars: COHORTS.map((c) => ({ low: rows.get(c)?.low ?? null, high: rows.get(c)?.high ?? null })),
      backgroundColor: DAYS_COLOURS[n] || "#6b7280",
    };
  }), "share of customers", 1));

  // Retention curves: Kaplan-Meier, share without a second order, with bands.
  const curvesCard = chartCard("chart-curves", "Customers without a second order yet, days after the first delivery",
    "Kaplan-Meier per cohort, customers without a second order censored at the end of the range; bands: 95% (Greenwood).");
  grid.append(curvesCard.card);
  const curveSets = [];
  for (const c of COHORTS) {
    const points = body.curves.filter((p) => p.experience === c);
    if (!points.length) continue;
    const colour = COHORT_COLOURS[c];
    curveSets.push(
      { label: `${cohortLabel(c)} high`, data: points.map((p) => ({ x: p.day, y: p.high })), borderColor: "transparent", pointRadius: 0, stepped: true, fill: false, band: true },
      { label: `${cohortLabel(c)} low`, data: points.map((p) => ({ x: p.day, y: p.low })), borderColor: "transparent", backgroundColor: `${colour}26`, pointRadius: 0, stepped: true, fill: "-1", band: true },
      { label: cohortLabel(c), data: points.map((p) => ({ x: p.day, y: p.survival })), borderColor: colour, backgroundColor: colour, pointRadius: 2, stepped: true, fill: false },
    );
  }
  customerCharts.push(new Chart(curvesCard.canvas, {
    type: "line",
    data: { datasets: curveSets },
    options: {
      animation: false, maintainAspectRatio: false,
      plugins: { legend: { labels: { filter: (item, data) => !data.datasets[item.datasetIndex].band } } },
      scales: {
        x: { type: "linear", beginAtZero: true, title: { display: true, text: "days after the first delivery" } },
        y: { min: 0, max: 1, title: { display: true, text: "share without a second order" } },
      },
    },
  }));

  // Second-order hazard ratios against on time.
  const hazardRows = body.hazard.map((r) => el("tr", {},
    el("th", { scope: "row", text: cohortLabel(r.experience) }),
    el("td", { class: "num", text: String(r.customers) }), el("td", { class: "num", text: String(r.events) }),
    el("td", { class: "num", text: r.experience === "on_time" ? "1 (reference)" : withInterval(r.hazard_ratio, r.low, r.high) })));
  curvesCard.card.append(el("table", { id: "hazard-table" },
    el("caption", { text: "Second-order hazard ratio against on time (below 1: slower to come back), 95% interval." }),
    el("thead", {}, el("tr", {}, ...["First delivery", "Customers", "Second orders", "Hazard ratio"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...hazardRows)));
  // The estimator's effect over this range and zone, beside the constant-hazard ratios.
  const fit = body.experience_effect;
  const hazardCoefs = fit ? fit.coefficients.filter((c) => c.part === "hazard") : [];
  const sampled = fit && fit.customers_fitted < fit.customers ? `, a sample of ${fit.customers_fitted} of ${fit.customers} customers` : "";
  curvesCard.card.append(el("p", { id: "experience-effect", class: "hint", text: !fit
    ? "The estimator's effect of each experience on the next order is not reported."
    : fit.reason
      ? `Fitted effect on the next order not estimated: ${fit.reason}.`
      : `Fitted effect on the next order (${fit.start} to ${fit.end}, ${fit.deliveries} deliveries${sampled}), hazard ratio per unit, 95% interval: ${hazardCoefs.map((c) => `${c.name.replaceAll("_", " ")} ${withInterval(Math.exp(c.coef), Math.exp(c.low), Math.exp(c.high))}`).join("; ")}.` }));

  // Ratings by the experience of the rated delivery.
  const ratings = byCohort(body.ratings);
  const rated = body.ratings.reduce((n, r) => n + r.rated, 0);
  const csatCard = chartCard("chart-csat", "Mean CSAT (1–5) by delivery experience",
    rated ? `${rated} rated deliveries.` : "No data yet: no delivery in this range has a rating from the tracking page.");
  grid.append(csatCard.card);
  customerCharts.push(cohortBars(csatCard.canvas, [{
    label: "CSAT", data: COHORTS.map((c) => ratings.get(c)?.csat ?? null),
    errorBars: COHORTS.map((c) => ({ low: ratings.get(c)?.csat_low ?? null, high: ratings.get(c)?.csat_high ?? null })),
    backgroundColor: COHORTS.map((c) => COHORT_COLOURS[c]),
  }], "CSAT", 5));
  const npsCard = chartCard("chart-nps", "NPS score by delivery experience (% promoters − % detractors)",
    rated ? "Promoters answer 9–10, detractors 0–6." : "No data yet: no NPS answer in this range.");
  grid.append(npsCard.card);
  customerCharts.push(new Chart(npsCard.canvas, {
    type: "bar",
    data: {
      labels: COHORTS.map(cohortLabel),
      datasets: [{
        label: "NPS", data: COHORTS.map((c) => ratings.get(c)?.nps ?? null),
        errorBars: COHORTS.map((c) => ({ low: ratings.get(c)?.nps_low ?? null, high: ratings.get(c)?.nps_high ?? null })),
        backgroundColor: COHORTS.map((c) => COHORT_COLOURS[c]),
      }],
    },
    plugins: [errorBars],
    options: { animation: false, maintainAspectRatio: false, plugins: { legend: { display: false } }, scales: { y: { min: -100, max: 100, title: { display: true, text: "NPS" } } } },
  }));

  // Does a low rating predict the next order beyond lateness?
  const effect = body.rating_effect;
  const effectText = !effect ? "No rated deliveries." : effect.reason
    ? `Not estimated: ${effect.reason}.`
    : `After a low rating (CSAT ≤ 2) the chance of another order within ${effect.days} days changes by ${withInterval(effect.coef, effect.low, effect.high)} beyond lateness (n = ${effect.n} rated orders of ${effect.n_customers} customers, ${effect.n_low} low).`;
  box.append(el("h3", { text: "Does a low rating predict the next order beyond lateness?" }), el("p", { id: "rating-effect", text: effectText }));

  // Acquisition: first purchase (by the promotion it was placed under) x experience -> second order.
  const kindOf = (r) => r.promotion_kind ?? (r.promotion ? "promotion" : "none");
  const first60 = body.acquisition.filter((r) => r.stage === "first_purchase" && r.days === 60)
    .sort((a, b) => COHORTS.indexOf(a.experience) - COHORTS.indexOf(b.experience) || a.promotion - b.promotion || kindOf(a).localeCompare(kindOf(b)));
  const rows = first60.map((r) => el("tr", {},
    el("th", { scope: "row", text: cohortLabel(r.experience) }), el("td", { text: kindOf(r) === "none" ? "no" : kindOf(r).replaceAll("_", " ") }),
    el("td", { class: "num", text: String(r.deliveries) }), el("td", { class: "num", text: withInterval(r.rate, r.low, r.high) })));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 4, class: "hint", text: "No first purchase with 60 days of follow-up yet." })));
  box.append(el("table", { id: "acquisition-table" },
    el("caption", { text: `First purchase → second order within 60 days, by promotion and experience.${body.promotion_recorded ? "" : " These orders do not record promotions (none is a stored order): every order counts as not promoted."}` }),
    el("thead", {}, el("tr", {}, ...["First delivery", "Promotion", "Customers", "Second order ≤ 60 days"].map((h) => el("th", { scope: "col", text: h })))),
    el("tbody", {}, ...rows)));
  say("customers-status", `${body.customers} customers, ${body.deliveries} deliveries ${where}.`);
}

// -- past runs ----------------------------------------------------------------

const RUNS = {
  scenario: { path: "/v1/scenarios", table: "scenario-runs", offset: 0, limit: 8 },
  forecast: { path: "/v1/forecasts", table: "forecast-runs", offset: 0, limit: 8 },
};

function describe(kind, run) {
  if (kind === "scenario") {
    const names = run.scenarios.join(" vs ");
    return run.replications ? `${names} (${run.replications} replications)` : names;
  }
  const zones = run.zones ? run.zones.join(", ") : "every zone";
  return `${run.horizon ?? "?"} days from ${run.from ?? "?"}: ${zones} (${run.model ?? "?"})`;
}

async function loadRuns(kind) {
  const state = RUNS[kind];
  let got;
  try {
    got = await api("GET", `${state.path}?limit=${state.limit}&offset=${state.offset}`);
  } catch (err) {
    return say(kind === "scenario" ? "scenario-status" : "forecast-status", `Past runs: ${err.message}`, true);
  }
  const rows = got.data.map((run) => {
    const what = describe(kind, run);
    const open = el("button", {
      type: "button", class: "secondary", text: "Open", disabled: run.status !== "succeeded",
      "aria-label": `Open ${kind === "scenario" ? "comparison" : "forecast"} ${what}, queued ${when(run.created_at)}`,
    });
    open.addEventListener("click", () => reopen(kind, run, open));
    const status = run.status === "failed" && run.error ? `failed: ${run.error}` : run.status;
    return el("tr", { "data-job": run.id },
      el("td", {}, el("time", { datetime: run.created_at, text: when(run.created_at) })),
      el("td", { text: what }), el("td", { class: `job-${run.status}`, text: status }), el("td", {}, open));
  });
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 4, class: "hint", text: "None yet." })));
  $(state.table).querySelector("tbody").replaceChildren(...rows);
  $(`${state.table}-newer`).disabled = state.offset === 0;
  $(`${state.table}-older`).disabled = state.offset + state.limit >= got.count;
}

async function reopen(kind, run, button) {
  const statusId = kind === "scenario" ? "scenario-status" : "forecast-status";
  button.disabled = true;
  try {
    const got = await api("GET", run.url);
    if (got.status !== "succeeded" || !got.result) throw new Error(`That run has no result (${got.status}).`);
    if (kind === "scenario") {
      drawComparison(got.result);
      say(statusId, `Comparison queued ${when(run.created_at)}: ${got.result.scenarios.length} scenarios compared with ${got.result.reference}.`);
    } else {
      await showForecast(got.result);
    }
    $(statusId).scrollIntoView({ block: "start" });
  } catch (err) {
    say(statusId, err.message, true);
  } finally {
    button.disabled = false;
  }
}

function pager(kind, step) {
  const state = RUNS[kind];
  state.offset = Math.max(0, state.offset + step * state.limit);
  loadRuns(kind);
}

// -- start --------------------------------------------------------------------

function loadAll() {
  if (!apiKey()) return;
  loadHistory();
  loadLibrary();
  loadRuns("scenario");
  loadRuns("forecast");
}

function init() {
  if (!Chart) {
    say("forecast-status", "Chart.js did not load: run npm ci --prefix api/web", true);
  }
  $("key").value = apiKey();
  $("key").addEventListener("change", () => { setApiKey($("key").value.trim()); loadAll(); });
  $("forecast-form").addEventListener("submit", guarded("forecast-status", runForecast));
  $("history-form").addEventListener("submit", guarded("history-status", uploadHistory));
  $("calendar-form").addEventListener("submit", guarded("history-status", uploadCalendar));
  $("delete-history").addEventListener("click", guarded("history-status", deleteHistory));
  $("scenario-form").addEventListener("submit", guarded("scenario-status", () => {
    const body = request();
    if (!body.scenarios.length) return say("scenario-status", "Tick at least one scenario (two to compare).", true);
    return runScenarios(body);
  }));
  $("run-json").addEventListener("click", guarded("scenario-status", runJson));
  $("fill-json").addEventListener("click", () => {
    try {
      $("scenario-body").value = JSON.stringify(request(), null, 2);
    } catch (err) {
      say("scenario-status", err.message, true);
    }
  });
  customersDefaults();
  $("customers-form").addEventListener("submit", guarded("customers-status", runCustomers));
  $("refresh-runs").addEventListener("click", () => { loadRuns("scenario"); loadRuns("forecast"); });
  for (const kind of Object.keys(RUNS)) {
    $(`${RUNS[kind].table}-newer`).addEventListener("click", () => pager(kind, -1));
    $(`${RUNS[kind].table}-older`).addEventListener("click", () => pager(kind, 1));
  }
  loadAll();
  document.body.dataset.ready = "true";
}

init();
