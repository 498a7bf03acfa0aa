// The customer's tracking page: status, ETA window, history and, only while
// the van is on its way to this very stop, where it is. The server decides
// what the link may show (GET /v1/track/{token}); this page only draws it.
import * as L from "/static/vendor/leaflet.js";
import { addBaseLayers, seoulTime } from "/static/common.js";

const TEXT = {
  en: {
    title: "Your delivery", now: "Status", driver: "Your driver", history: "History",
    window: (a, b) => `Expected between ${a} and ${b}`,
    at: (a) => `Expected at ${a}`,
    expected: (t) => `Most likely around ${t}`,
    arrived: "The driver is at your door.",
    noEta: "No arrival time yet.",
    seen: (t) => `The van is on its way to you. Last seen at ${t}.`,
    gone: "No delivery has this tracking link. Please check the link in your message.",
    offline: "Connection lost; trying again…",
    exchange: "An exchange: we bring your new item and take the old one.",
    exchangeStatus: {
      delivered: "Exchanged: new item delivered, old one collected",
      failed_attempt: "Exchange attempt failed: nothing was delivered or collected",
    },
    status: {
      created: "Order received", planned: "Scheduled for delivery", dispatched: "Ready to leave the depot",
      out_for_delivery: "Out for delivery", arriving: "Arriving soon: you are the next stop",
      delivered: "Delivered", failed_attempt: "Delivery attempt failed", rescheduled: "Rescheduled",
      redirected_to_pickup_station: "Redirected to a pickup station", returned_to_depot: "Returned to the depot",
      cancelled: "Cancelled",
    },
  },
  ko: {
    title: "배송 조회", now: "배송 상태", driver: "배송 기사", history: "배송 기록",
    window: (a, b) => `${a}~${b} 도착 예정`,
    at: (a) => `${a} 도착 예정`,
    expected: (t) => `${t}경 도착 가능성이 가장 높습니다`,
    arrived: "배송 기사가 문 앞에 도착했습니다.",
    noEta: "아직 도착 예정 시간이 없습니다.",
    seen: (t) => `배송 차량이 고객님께 가는 중입니다. 마지막 위치 ${t}.`,
    gone: "이 조회 링크에 해당하는 배송이 없습니다. 받으신 메시지의 링크를 확인해 주세요.",
    offline: "연결이 끊겼습니다. 다시 연결하는 중…",
    exchange: "교환 배송: 새 상품을 가져다드리고 기존 상품을 회수합니다.",
    exchangeStatus: {
      delivered: "교환 완료: 새 상품 전달, 기존 상품 회수",
      failed_attempt: "교환 시도 실패: 전달도 회수도 되지 않았습니다",
    },
    status: {
      created: "주문 접수", planned: "배송 예정", dispatched: "출고 준비 완료",
      out_for_delivery: "배송 출발", arriving: "곧 도착: 다음 배송지입니다",
      delivered: "배송 완료", failed_attempt: "배송 시도 실패", rescheduled: "배송 일정 변경",
      redirected_to_pickup_station: "픽업 보관함으로 변경", returned_to_depot: "물류센터로 반송",
      cancelled: "주문 취소",
    },
  },
};
const TERMINAL = new Set(["delivered", "cancelled"]);
const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/").pop() || "");
let lang = pickLanguage();
let view = null;
let gone = false;
let map = null;
let van = null;

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("milepost.lang");
  if (asked === "ko" || asked === "en") return asked;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("ko") ? "ko" : "en";
}

function locale() {
  return lang === "ko" ? "ko-KR" : "en-GB";
}

function statusText(t, status) {
  // An exchange is one visit: done means both ways, failed means neither.
  const special = view && view.kind === "exchange" ? t.exchangeStatus[status] : undefined;
  return special || t.status[status] || status;
}

function render() {
  const t = TEXT[lang];
  document.documentElement.lang = lang;
  document.title = `${t.title} · milepost`;
  for (const node of document.querySelectorAll("[data-t]")) node.textContent = t[node.dataset.t];
  for (const b of document.querySelectorAll(".lang button")) b.setAttribute("aria-pressed", String(b.dataset.lang === lang));
  if (gone) {
    $("kind").hidden = true;
    $("status").textContent = "";
    $("eta").textContent = "";
    $("message").textContent = t.gone;
    return;
  }
  if (!view) return;
  const kind = $("kind");
  kind.hidden = view.kind !== "exchange";
  kind.textContent = view.kind === "exchange" ? t.exchange : "";
  $("status").textContent = statusText(t, view.status);
  $("status").dataset.status = view.status;
  const w = view.window;
  const eta = $("eta");
  eta.replaceChildren();
  if (view.status === "delivered") {
    eta.textContent = "";
  } else if (w && w.arrived) {
    eta.textContent = t.arrived;
  } else if (w) {
    const windowLine = document.createElement("span");
    windowLine.id = "eta-window";
    const [from, to] = [seoulTime(w.earliest, locale()), seoulTime(w.latest, locale())];
    windowLine.textContent = from === to ? t.at(from) : t.window(from, to);
    const expected = document.createElement("span");
    expected.id = "eta-expected";
    expected.className = "status";
    expected.textContent = t.expected(seoulTime(w.expected, locale()));
    eta.append(windowLine, document.createElement("br"), expected);
  } else if (!TERMINAL.has(view.status)) {
    eta.textContent = t.noEta;
  }
  const history = $("history");
  history.replaceChildren();
  for (const step of [...view.history].reverse()) {
    const li = document.createElement("li");
    li.dataset.status = step.status;
    const time = document.createElement("time");
    time.dateTime = step.at;
    time.textContent = seoulTime(step.at, locale());
    li.append(time, statusText(t, step.status));
    history.append(li);
  }
  renderDriver(t);
}

function renderDriver(t) {
  const section = $("driver");
  const d = view.driver;
  section.hidden = !d;
  if (!d) return;
  $("driver-text").textContent = t.seen(seoulTime(d.at, locale()));
  if (!map) {
    map = L.map("map", { zoomControl: true, attributionControl: false }).setView([d.lat, d.lon], 14);
    addBaseLayers(L, map).catch(() => {});
  }
  if (!van) {
    van = L.circleMarker([d.lat, d.lon], { radius: 9, color: "#111827", weight: 3, fillColor: "#1d4ed8", fillOpacity: 1, className: "van" }).addTo(map);
  } else {
    van.setLatLng([d.lat, d.lon]);
  }
  map.setView([d.lat, d.lon]);
  map.invalidateSize();
}

function listen() {
  const source = new EventSource(`/v1/track/${encodeURIComponent(token)}/stream`);
  source.addEventListener("status", (event) => {
    view = JSON.parse(event.data);
    $("message").textContent = "";
    render();
    if (TERMINAL.has(view.status)) source.close();
  });
  source.addEventListener("gone", () => {
    gone = true;
    source.close();
    render();
  });
  source.addEventListener("error", () => {
    if (source.readyState !== EventSource.CLOSED && !gone) $("message").textContent = TEXT[lang].offline;
  });
}

async function init() {
  for (const b of document.querySelectorAll(".lang button")) {
    b.addEventListener("click", () => {
      lang = b.dataset.lang;
      localStorage.setItem("milepost.lang", lang);
      render();
    });
  }
  render();
  const response = await fetch(`/v1/track/${encodeURIComponent(token)}`);
  if (response.status === 404 || response.status === 422) {
    gone = true;
    render();
  } else if (response.ok) {
    view = await response.json();
    render();
    if (!TERMINAL.has(view.status)) listen();
  } else {
    $("message").textContent = TEXT[lang].offline;
    listen();
  }
  document.body.dataset.ready = "true";
}

init();
