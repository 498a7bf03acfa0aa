// The planner view: zone forecasts with their intervals against the history
// they learn from, and scenario comparisons (KPI table and charts).
import { api, apiKey, el, follow, setApiKey } from "/static/common.js";

const Chart = window.Chart;
const $ = (id) => document.getElementById(id);
const charts = [];

const DEFAULT_SCENARIOS = {
  scenarios: [
    { name: "Baseline", orders: 120, city: { customers: 2000 }, replications: 2, iterations: 5, time_limit: 10, fleet: { vans_per_depot: 4 } },
    { name: "One driver absent", orders: 120, city: { customers: 2000 }, replications: 2, iterations: 5, time_limit: 10, fleet: { vans_per_depot: 4, absent_drivers: 1 } },
  ],
};

// KPIs where a higher value is better; the others are costs.
const HIGHER_IS_BETTER = new Set(["on_time_rate", "served", "delivered", "eta_coverage", "customers"]);

function say(id, text, error = false) {
  $(id).textContent = text;
  $(id).classList.toggle("error", error);
}

function number(x, digits = 1) {
  if (x === null || x === undefined) return "–";
  return Number(x).toLocaleString("en", { maximumFractionDigits: digits });
}

function guarded(statusId, action) {
  return async (event) => {
    event.preventDefault();
    setApiKey($("key").value.trim());
    if (!apiKey()) return say(statusId, "Enter a planner API key first.", true);
    const button = event.target.querySelector("button[type=submit]");
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

async function loadZones() {
  if (!apiKey() || $("zones").options.length) return;
  try {
    const got = await api("GET", "/v1/forecasts/history?days=1");
    for (const [i, z] of got.zones.entries()) {
      $("zones").append(el("option", { value: z.zone, selected: i < 2, text: z.zone }));
    }
  } catch (err) {
    say("forecast-status", `Zones: ${err.message}`, true);
  }
}

// -- forecasts ----------------------------------------------------------------

async function runForecast() {
  const zones = [...$("zones").selectedOptions].map((o) => o.value);
  if (!zones.length) return say("forecast-status", "Choose at least one zone.", true);
  const body = {
    horizon: Number($("horizon").value), zones, model: $("model").value, from: $("from").value,
    level: Number($("level").value),
  };
  say("forecast-status", "Forecasting…");
  const accepted = await api("POST", "/v1/forecasts", body);
  const done = await follow(accepted.url || `/v1/forecasts/${accepted.id}`, (job) =>
    say("forecast-status", `Forecast: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`));
  if (done.status !== "succeeded") throw new Error(`Forecast failed: ${done.error || done.message}`);
  const query = new URLSearchParams({ until: body.from, days: $("history-days").value });
  for (const z of zones) query.append("zone", z);
  const history = await api("GET", `/v1/forecasts/history?${query}`);
  drawForecasts(done.result, history);
  say("forecast-status", `Forecast of ${zones.length} zones for ${done.result.horizon} days from ${done.result.start} (${done.result.model}, ${done.result.level}% intervals): ${number(done.result.total_orders, 0)} orders.`);
}

function drawForecasts(result, history) {
  for (const c of charts.splice(0)) c.destroy();
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
    const table = el("table", {},
      el("thead", {}, el("tr", {}, ...["Day", "Forecast", "Low", "High"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, ...days.map((d) => el("tr", {}, el("td", { text: d.day }), el("td", { class: "num", text: number(d.orders) }), el("td", { class: "num", text: number(d.lo) }), el("td", { class: "num", text: number(d.hi) })))));
    box.append(el("figure", { class: "chart-card", "data-zone": zone },
      el("h3", { text: zone }), el("div", { class: "chart-box" }, canvas),
      el("details", {}, el("summary", { text: "Forecast table" }), table)));
    charts.push(new Chart(canvas, {
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

// -- scenarios ----------------------------------------------------------------

async function runScenarios() {
  let body;
  try {
    body = JSON.parse($("scenario-body").value);
  } catch (err) {
    return say("scenario-status", `The scenarios are not valid JSON: ${err.message}`, true);
  }
  say("scenario-status", "Simulating…");
  const accepted = await api("POST", "/v1/scenarios", body);
  const done = await follow(accepted.url || `/v1/scenarios/${accepted.id}`, (job) =>
    say("scenario-status", `Scenarios: ${job.status} ${Math.round(job.progress * 100)}% ${job.message || ""}`), 800);
  if (done.status !== "succeeded") throw new Error(`Scenarios failed: ${done.error || done.message}`);
  drawComparison(done.result);
  say("scenario-status", `${done.result.scenarios.length} scenarios compared with ${done.result.reference}.`);
}

function drawComparison(comparison) {
  const box = $("scenario-result");
  box.replaceChildren();
  const names = comparison.scenarios.map((s) => s.name);
  const kpis = Object.keys(comparison.scenarios[0].kpis);
  const head = el("tr", {}, el("th", { scope: "col", text: "KPI" }), ...comparison.scenarios.map((s) => el("th", { scope: "col", text: `${s.name} (${s.replications} ${s.replications === 1 ? "day" : "days"})` })));
  const rows = kpis.map((k) => el("tr", { "data-kpi": k }, el("th", { scope: "row", text: k.replaceAll("_", " ") }), ...comparison.scenarios.map((s, i) => {
    const e = s.kpis[k];
    const d = s.difference[k];
    let text = `${number(e.mean, 2)} [${number(e.low, 2)}, ${number(e.high, 2)}]`;
    let cls = "num";
    if (i > 0 && d && d.mean !== null) {
      text += ` (${d.mean >= 0 ? "+" : ""}${number(d.mean, 2)})`;
      const significant = d.low !== null && d.high !== null && (d.low > 0 || d.high < 0);
      if (significant) cls += (d.mean > 0) === HIGHER_IS_BETTER.has(k) ? " better" : " worse";
    }
    return el("td", { class: cls, text });
  })));
  const table = el("table", { id: "kpi-table" },
    el("caption", { text: `Mean and 95% interval per KPI; in brackets the difference with ${comparison.reference}` }),
    el("thead", {}, head), el("tbody", {}, ...rows));
  const select = el("select", { id: "kpi-chart-select" }, ...kpis.map((k) => el("option", { value: k, text: k.replaceAll("_", " ") })));
  const canvas = el("canvas", { id: "kpi-chart", role: "img", "aria-label": "Mean and 95% interval of the chosen KPI per scenario" });
  box.append(table, el("div", { class: "row" }, el("label", {}, "KPI to chart", select)), el("div", { class: "chart-box" }, canvas));
  const chart = new Chart(canvas, {
    type: "bar",
    data: { labels: names, datasets: [] },
    options: { animation: false, maintainAspectRatio: false, scales: { y: { beginAtZero: true } } },
  });
  charts.push(chart);
  const draw = () => {
    const k = select.value;
    chart.data.datasets = [
      { label: `${k} (mean)`, data: comparison.scenarios.map((s) => s.kpis[k].mean), backgroundColor: "#1d4ed8" },
      { label: "95% interval", data: comparison.scenarios.map((s) => [s.kpis[k].low, s.kpis[k].high]), backgroundColor: "rgba(180,83,9,0.45)" },
    ];
    chart.update();
  };
  select.addEventListener("change", draw);
  draw();
}

function init() {
  if (!Chart) {
    say("forecast-status", "Chart.js did not load: run npm ci --prefix api/web", true);
  }
  $("key").value = apiKey();
  $("key").addEventListener("change", () => { setApiKey($("key").value.trim()); loadZones(); });
  $("scenario-body").value = JSON.stringify(DEFAULT_SCENARIOS, null, 2);
  $("forecast-form").addEventListener("submit", guarded("forecast-status", runForecast));
  $("scenario-form").addEventListener("submit", guarded("scenario-status", runScenarios));
  loadZones();
  document.body.dataset.ready = "true";
}

init();
