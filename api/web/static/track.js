// The customer's tracking page: order number, promised slot, hand-over
// window, stops before yours, proof of delivery, what happens after a failed
// attempt, a rating once delivered and, while the van is on its way to this
// very stop, where it is. The server decides what the link may show
// (GET /v1/track/{token}); this page only draws it. Leaflet (400 KB) is
// loaded only when a map is shown.
import { addBaseLayers, localDay, localTime } from "/static/common.js";

const TEXT = {
  en: {
    title: "Your delivery", now: "Status", history: "History", whereTitle: "Where",
    order: (id, date) => `Order ${id} · ${date}`,
    promised: (a, b) => `Promised between ${a} and ${b}`,
    promisedDay: (d) => `Promised for ${d}, at any time that day`,
    earlyOk: "You allowed an earlier delivery.",
    notStarted: (a, b) => `Expected between ${a} and ${b}, your promised slot. The exact time follows once the van leaves.`,
    notStartedDay: (d) => `Expected on ${d}. The time follows once the van leaves.`,
    window: (a, b) => `Expected between ${a} and ${b}`,
    expected: (t) => `Most likely around ${t}`,
    arrived: "The driver is at your door.",
    noEta: "No arrival time yet.",
    stops: (n) => (n === 0 ? "Next stop: you" : n === 1 ? "1 stop away" : `${n} stops away`),
    seen: (t) => `The van is on its way to you. Last seen at ${t}.`,
    pinOnly: "Your address",
    showMap: "Show my address on a map",
    gone: "No delivery has this tracking link. Please check the link in your message.",
    offline: "Connection lost; trying again…",
    exchange: "An exchange: we bring your new item and take the old one.",
    station: (name) => `Delivered at pickup station ${name}: collect your parcel there.`,
    stationPin: (name) => `Pickup station ${name}`,
    proofTitle: "Proof of delivery",
    proofAt: (t) => `Handed over at ${t}.`,
    proofTo: (t, who) => `Handed over at ${t} to ${who}.`,
    proofImage: "Photo of your delivered parcel",
    proofSignature: "Signature of the recipient",
    nextTitle: "What happens next",
    reason: {
      not_home: "Nobody was home when the driver came.",
      address_problem: "The driver could not find the address.",
      refused: "The parcel was refused at the door.",
      damaged: "The parcel was damaged, so the driver kept it.",
      access_denied: "The driver could not get into the building.",
    },
    nextFailed: "Your parcel goes back to our depot and is safe there. Pick another slot below and we bring it again; if you do not, we will contact you.",
    nextRescheduled: "We will deliver on another day; this page shows the new date once it is planned.",
    nextStation: "Your parcel waits for you at a pickup station.",
    nextReturned: "Your parcel is back at our depot. We will contact you.",
    rebookTitle: "Pick another slot", rebookDay: "Day", rebookSlots: "Slots you can still have",
    rebookGo: "Book this slot", rebookNone: "No slot is free on that day; please pick another day.",
    rebookLoading: "Looking for free slots…",
    rebookDone: (a, b, d) => `Booked: ${d}, between ${a} and ${b}.`,
    rebookFailed: "That slot could not be booked. Please pick another one.",
    slot: (a, b) => `${a}–${b}`,
    rateTitle: "How did we do?",
    csatQ: "How happy are you with this delivery?",
    csat: ["Very unhappy", "Unhappy", "Neutral", "Happy", "Very happy"],
    npsQ: "How likely are you to recommend us to a friend? (0 = not at all, 10 = very)",
    commentLabel: "Anything to add? (optional)",
    rateSend: "Send",
    rateThanks: "Thank you for your rating.",
    rateFirst: "Please choose how happy you are first.",
    rateFailed: "Your rating could not be sent. Please try again.",
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
    title: "배송 조회", now: "배송 상태", history: "배송 기록", whereTitle: "위치",
    order: (id, date) => `주문번호 ${id} · ${date}`,
    promised: (a, b) => `약속된 시간: ${a}~${b}`,
    promisedDay: (d) => `약속된 날짜: ${d} (시간 지정 없음)`,
    earlyOk: "예정보다 이른 배송에 동의하셨습니다.",
    notStarted: (a, b) => `${a}~${b} 도착 예정 (약속된 시간). 차량이 출발하면 정확한 시간을 알려 드립니다.`,
    notStartedDay: (d) => `${d} 도착 예정. 차량이 출발하면 시간을 알려 드립니다.`,
    window: (a, b) => `${a}~${b} 도착 예정`,
    expected: (t) => `${t}경 도착 가능성이 가장 높습니다`,
    arrived: "배송 기사가 문 앞에 도착했습니다.",
    noEta: "아직 도착 예정 시간이 없습니다.",
    stops: (n) => (n === 0 ? "다음 배송지입니다" : `${n}곳 전`),
    seen: (t) => `배송 차량이 고객님께 가는 중입니다. 마지막 위치 ${t}.`,
    pinOnly: "배송 주소",
    showMap: "지도에서 배송 주소 보기",
    gone: "이 조회 링크에 해당하는 배송이 없습니다. 받으신 메시지의 링크를 확인해 주세요.",
    offline: "연결이 끊겼습니다. 다시 연결하는 중…",
    exchange: "교환 배송: 새 상품을 가져다드리고 기존 상품을 회수합니다.",
    station: (name) => `픽업 보관함 ${name}(으)로 배송됩니다. 그곳에서 상품을 찾아가세요.`,
    stationPin: (name) => `픽업 보관함 ${name}`,
    proofTitle: "배송 완료 증빙",
    proofAt: (t) => `${t}에 전달했습니다.`,
    proofTo: (t, who) => `${t}에 ${who}님께 전달했습니다.`,
    proofImage: "배송된 상품 사진",
    proofSignature: "수령인 서명",
    nextTitle: "다음 안내",
    reason: {
      not_home: "배송 기사가 방문했을 때 부재중이셨습니다.",
      address_problem: "배송 기사가 주소를 찾지 못했습니다.",
      refused: "상품 수령을 거절하셨습니다.",
      damaged: "상품이 파손되어 배송 기사가 가져갔습니다.",
      access_denied: "배송 기사가 건물에 들어가지 못했습니다.",
    },
    nextFailed: "상품은 물류센터로 돌아가 안전하게 보관됩니다. 아래에서 다른 시간을 고르시면 다시 배송해 드립니다. 고르지 않으시면 연락드리겠습니다.",
    nextRescheduled: "다른 날 배송해 드립니다. 일정이 잡히면 이 페이지에 새 날짜가 표시됩니다.",
    nextStation: "상품이 픽업 보관함에서 기다리고 있습니다.",
    nextReturned: "상품이 물류센터로 돌아왔습니다. 연락드리겠습니다.",
    rebookTitle: "다른 시간 선택", rebookDay: "날짜", rebookSlots: "선택 가능한 시간",
    rebookGo: "이 시간으로 예약", rebookNone: "이 날짜에는 가능한 시간이 없습니다. 다른 날짜를 골라 주세요.",
    rebookLoading: "가능한 시간을 찾는 중…",
    rebookDone: (a, b, d) => `예약되었습니다: ${d} ${a}~${b}.`,
    rebookFailed: "이 시간은 예약할 수 없습니다. 다른 시간을 골라 주세요.",
    slot: (a, b) => `${a}~${b}`,
    rateTitle: "배송은 어떠셨나요?",
    csatQ: "이번 배송에 얼마나 만족하셨나요?",
    csat: ["매우 불만족", "불만족", "보통", "만족", "매우 만족"],
    npsQ: "친구에게 추천하실 가능성은 얼마나 되나요? (0 = 전혀 없음, 10 = 매우 높음)",
    commentLabel: "더 하실 말씀이 있나요? (선택)",
    rateSend: "보내기",
    rateThanks: "평가해 주셔서 감사합니다.",
    rateFirst: "먼저 만족도를 골라 주세요.",
    rateFailed: "평가를 보내지 못했습니다. 다시 시도해 주세요.",
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
const NOT_STARTED = new Set(["created", "planned", "dispatched"]);
const MOVING = new Set(["out_for_delivery", "arriving"]);
// Only pictures the server accepted from the device: base64 PNG, JPEG, WebP.
const IMAGE_URL = /^data:image\/(png|jpeg|webp);base64,[A-Za-z0-9+/]+={0,2}$/;
const $ = (id) => document.getElementById(id);
const token = decodeURIComponent(location.pathname.split("/").pop() || "");
const base = `/v1/track/${encodeURIComponent(token)}`;
let lang = pickLanguage();
let view = null;
let gone = false;
let source = null;
let mapWanted = false;
let leaflet = null; // the import() of Leaflet, once a map is shown
let map = null;
let van = null;
let home = null;
const rating = { csat: null, nps: null };
let slots = null; // {day, slots} for the rebooking, or null
let chosen = null;
let rebookNote = null; // [text key, booking or undefined]: the rebooking's outcome

function pickLanguage() {
  const asked = new URLSearchParams(location.search).get("lang") || localStorage.getItem("milepost.lang");
  if (asked === "ko" || asked === "en") return asked;
  const browser = (navigator.languages && navigator.languages[0]) || navigator.language || "en";
  return browser.toLowerCase().startsWith("ko") ? "ko" : "en";
}

function locale() {
  return lang === "ko" ? "ko-KR" : "en-GB";
}

function date(day) {
  return new Intl.DateTimeFormat(locale(), {
    weekday: "short", month: "short", day: "numeric", timeZone: "UTC",
  }).format(new Date(`${day}T12:00:00Z`));
}

function time(iso) {
  return localTime(iso, locale());
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
    for (const id of ["order", "kind", "stops", "proof", "next", "rate", "where", "history-card"]) $(id).hidden = true;
    $("status").textContent = "";
    $("eta").textContent = "";
    $("message").textContent = t.gone;
    return;
  }
  if (!view) return;
  $("order").hidden = false;
  $("order").textContent = t.order(view.order_id, date(view.day));
  const kind = $("kind");
  // A station delivery is collected by the customer at the station.
  const station = view.station ? view.station.name || view.station.id : null;
  kind.hidden = view.kind !== "exchange" && !station;
  kind.textContent = station ? t.station(station) : view.kind === "exchange" ? t.exchange : "";
  $("status").textContent = statusText(t, view.status);
  $("status").dataset.status = view.status;
  renderEta(t);
  const stops = $("stops");
  const showStops = view.stops_away !== null && view.stops_away !== undefined && MOVING.has(view.status);
  stops.hidden = !showStops;
  stops.textContent = showStops ? t.stops(view.stops_away) : "";
  renderProof(t);
  renderNext(t);
  renderRating(t);
  renderHistory(t);
  renderWhere(t);
}

function line(id, text, className) {
  const span = document.createElement("span");
  span.id = id;
  if (className) span.className = className;
  span.textContent = text;
  return span;
}

function renderEta(t) {
  const eta = $("eta");
  eta.replaceChildren();
  const promised = view.promised || [];
  const slot = promised.length ? promised[0] : null;
  const parts = [];
  if (NOT_STARTED.has(view.status)) {
    // Before the van moves, only the promise is known: no guessed time.
    parts.push(slot
      ? line("eta-window", t.notStarted(time(slot.start), time(slot.end)))
      : line("eta-window", t.notStartedDay(date(view.day))));
  } else if (MOVING.has(view.status)) {
    const w = view.window;
    if (w && w.arrived) {
      parts.push(line("eta-window", t.arrived));
    } else if (w) {
      parts.push(line("eta-window", t.window(time(w.earliest), time(w.latest))));
      parts.push(line("eta-expected", t.expected(time(w.expected)), "status"));
    } else {
      parts.push(line("eta-window", t.noEta));
    }
  }
  // Once the van moves, the promise stays in sight beside the hand-over.
  if (MOVING.has(view.status)) {
    const text = slot
      ? promised.map((s) => t.promised(time(s.start), time(s.end))).join("; ")
      : t.promisedDay(date(view.day));
    parts.push(line("promised", text, "status"));
    if (view.early_ok && slot) parts.push(line("early", t.earlyOk, "status"));
  }
  parts.forEach((part, i) => {
    if (i) eta.append(document.createElement("br"));
    eta.append(part);
  });
}

function renderProof(t) {
  const section = $("proof");
  const p = view.status === "delivered" ? view.proof : null;
  section.hidden = !p;
  if (!p) return;
  $("proof-text").textContent = p.recipient ? t.proofTo(time(p.at), p.recipient) : t.proofAt(time(p.at));
  const images = $("proof-images");
  images.replaceChildren();
  for (const [key, alt] of [["image", t.proofImage], ["signature", t.proofSignature]]) {
    const url = p[key];
    if (typeof url !== "string" || !IMAGE_URL.test(url)) continue;
    const img = document.createElement("img");
    img.src = url;
    img.alt = alt;
    img.className = `proof-${key}`;
    images.append(img);
  }
}

function renderNext(t) {
  const section = $("next");
  const words = {
    failed_attempt: t.nextFailed, rescheduled: t.nextRescheduled,
    redirected_to_pickup_station: t.nextStation, returned_to_depot: t.nextReturned,
  }[view.status];
  // After a rebooking the card stays to say what was booked.
  const booked = Boolean(rebookNote && rebookNote[0] === "rebookDone");
  section.hidden = !words && !booked;
  if (section.hidden) return;
  const attempt = view.status === "failed_attempt" ? view.attempt : null;
  $("next-reason").hidden = !attempt;
  $("next-reason").textContent = attempt ? t.reason[attempt.reason] || "" : "";
  $("next-text").hidden = !words;
  $("next-text").textContent = words || "";
  const picking = view.status === "failed_attempt";
  $("rebook").hidden = !picking && !booked;
  $("rebook-pick").hidden = !picking;
  renderSlots(t);
}

function renderSlots(t) {
  const list = $("rebook-list");
  list.replaceChildren();
  const free = slots ? slots.slots.filter((s) => s.available) : [];
  for (const s of free) {
    const id = `slot-${s.id}`;
    const input = document.createElement("input");
    input.type = "radio";
    input.name = "slot";
    input.id = id;
    input.value = s.id;
    input.checked = chosen === s.id;
    input.addEventListener("change", () => {
      chosen = s.id;
      $("rebook-go").disabled = false;
    });
    const label = document.createElement("label");
    label.htmlFor = id;
    label.textContent = t.slot(time(s.start), time(s.end));
    const row = document.createElement("div");
    row.className = "slot";
    row.append(input, label);
    list.append(row);
  }
  $("rebook-h").hidden = view.status !== "failed_attempt";
  $("rebook-slots").hidden = !free.length;
  $("rebook-go").hidden = !free.length;
  $("rebook-go").disabled = !chosen;
  const note = $("rebook-status");
  note.classList.toggle("error", Boolean(rebookNote && rebookNote[0] === "rebookFailed"));
  if (rebookNote) {
    const [key, booked] = rebookNote;
    note.textContent = booked ? t[key](time(booked.slot.start), time(booked.slot.end), date(booked.day)) : t[key];
  } else {
    note.textContent = slots && !free.length ? t.rebookNone : "";
  }
}

function renderRating(t) {
  const section = $("rate");
  section.hidden = view.status !== "delivered";
  if (section.hidden) return;
  if (view.rating && rating.csat === null) {
    rating.csat = view.rating.csat;
    rating.nps = view.rating.nps;
    if (view.rating.comment && !$("comment").value) $("comment").value = view.rating.comment;
  }
  choices($("csat"), [1, 2, 3, 4, 5], rating.csat, (n) => `${n} · ${t.csat[n - 1]}`, (n) => {
    rating.csat = n;
    sendRating();
  });
  choices($("nps"), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], rating.nps, (n) => String(n), (n) => {
    rating.nps = n;
    if (rating.csat === null) {
      ratingNote("rateFirst", true);
      render();
    } else {
      sendRating();
    }
  });
}

function choices(group, values, current, label, pick) {
  let row = group.querySelector(".buttons");
  if (!row) {
    row = document.createElement("div");
    row.className = "buttons";
    group.append(row);
    for (const n of values) {
      const b = document.createElement("button");
      b.type = "button";
      b.className = "secondary";
      b.dataset.value = String(n);
      b.addEventListener("click", () => pick(n));
      row.append(b);
    }
  }
  for (const b of row.querySelectorAll("button")) {
    const n = Number(b.dataset.value);
    b.textContent = label(n);
    b.setAttribute("aria-pressed", String(n === current));
  }
}

let ratingKey = null;
function ratingNote(key, error = false) {
  ratingKey = key;
  const note = $("rate-status");
  note.textContent = TEXT[lang][key];
  note.classList.toggle("error", error);
}

async function sendRating() {
  if (rating.csat === null) {
    ratingNote("rateFirst", true);
    return;
  }
  render();
  const body = { csat: rating.csat };
  if (rating.nps !== null) body.nps = rating.nps;
  const comment = $("comment").value.trim();
  if (comment) body.comment = comment;
  try {
    const response = await fetch(`${base}/rating`, {
      method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    if (!response.ok) throw new Error(String(response.status));
    view.rating = await response.json();
    ratingNote("rateThanks");
  } catch {
    ratingNote("rateFailed", true);
  }
}

function renderHistory(t) {
  const history = $("history");
  history.replaceChildren();
  $("history-card").hidden = !view.history.length;
  for (const step of [...view.history].reverse()) {
    const li = document.createElement("li");
    li.dataset.status = step.status;
    const when = document.createElement("time");
    when.dateTime = step.at;
    // A change of another day (the failed attempt before a move) shows its date.
    const day = localDay(step.at);
    when.textContent = day === view.day ? time(step.at) : `${date(day)} ${time(step.at)}`;
    li.append(when, statusText(t, step.status));
    history.append(li);
  }
}

function renderWhere(t) {
  const d = view.driver;
  const pin = view.location;
  const section = $("where");
  section.hidden = !d && !pin;
  if (section.hidden) return;
  // The van's position only while this is its next stop (the server's
  // choice); the address on a map when the customer asks, or with the van.
  $("address-text").hidden = Boolean(d);
  if (view.station) $("address-text").textContent = t.stationPin(view.station.name || view.station.id);
  $("driver-text").hidden = !d;
  $("driver-text").textContent = d ? t.seen(time(d.at)) : "";
  const showing = Boolean(d) || mapWanted;
  $("show-map").hidden = showing || !pin;
  $("driver").hidden = !showing;
  if (showing) drawMap().catch(() => {});
}

function loadLeaflet() {
  if (!leaflet) {
    const css = document.createElement("link");
    css.rel = "stylesheet";
    css.href = "/static/vendor/leaflet.css";
    document.head.append(css);
    leaflet = import("/static/vendor/leaflet.js");
  }
  return leaflet;
}

async function drawMap() {
  const L = await loadLeaflet();
  const d = view.driver;
  const pin = view.location;
  const centre = d ? [d.lat, d.lon] : [pin.lat, pin.lon];
  if (!map) {
    map = L.map("map", { zoomControl: true, attributionControl: false }).setView(centre, 14);
    addBaseLayers(L, map).catch(() => {});
  }
  if (pin && !home) {
    home = L.circleMarker([pin.lat, pin.lon], {
      radius: 8, color: "#111827", weight: 3, fillColor: "#b91c1c", fillOpacity: 1, className: "home",
    }).addTo(map);
  }
  if (d && !van) {
    van = L.circleMarker([d.lat, d.lon], {
      radius: 9, color: "#111827", weight: 3, fillColor: "#1d4ed8", fillOpacity: 1, className: "van",
    }).addTo(map);
  } else if (d) {
    van.setLatLng([d.lat, d.lon]);
  } else if (van) {
    van.remove();
    van = null;
  }
  if (d && pin) map.fitBounds([[d.lat, d.lon], [pin.lat, pin.lon]], { padding: [30, 30], maxZoom: 15 });
  else map.setView(centre);
  map.invalidateSize();
}

// -- rebooking after a failed attempt ------------------------------------

function nextDay(day) {
  const d = new Date(`${day}T12:00:00Z`);
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}

async function loadSlots(day) {
  slots = null;
  chosen = null;
  $("rebook-status").textContent = TEXT[lang].rebookLoading;
  try {
    const response = await fetch(`${base}/slots?day=${encodeURIComponent(day)}`);
    slots = response.ok ? await response.json() : { day, slots: [] };
  } catch {
    slots = { day, slots: [] };
  }
  render();
}

async function rebook() {
  if (!chosen || !slots) return;
  const button = $("rebook-go");
  button.disabled = true;
  const response = await fetch(`${base}/rebook`, {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ day: slots.day, slot_id: chosen }),
  }).catch(() => null);
  if (!response || !response.ok) {
    rebookNote = ["rebookFailed"];
    await loadSlots(slots.day);
    return;
  }
  const booked = await response.json();
  rebookNote = ["rebookDone", booked];
  slots = null;
  chosen = null;
  await refresh();
}

async function refresh() {
  const response = await fetch(base);
  if (response.ok) {
    view = await response.json();
    render();
    if (!TERMINAL.has(view.status) && !source) listen();
  }
}

function listen() {
  source = new EventSource(`${base}/stream`);
  source.addEventListener("status", (event) => {
    const before = view && view.status;
    view = JSON.parse(event.data);
    $("message").textContent = "";
    if (view.status === "failed_attempt" && before !== "failed_attempt") startRebook();
    render();
    if (TERMINAL.has(view.status)) {
      source.close();
      source = null;
    }
  });
  source.addEventListener("gone", () => {
    gone = true;
    source.close();
    source = null;
    render();
  });
  source.addEventListener("error", () => {
    if (source && source.readyState !== EventSource.CLOSED && !gone) $("message").textContent = TEXT[lang].offline;
  });
}

function startRebook() {
  const day = nextDay(view.day);
  $("rebook-day").min = day;
  $("rebook-day").value = day;
  loadSlots(day);
}

async function init() {
  for (const b of document.querySelectorAll(".lang button")) {
    b.addEventListener("click", () => {
      lang = b.dataset.lang;
      localStorage.setItem("milepost.lang", lang);
      if (ratingKey) ratingNote(ratingKey, $("rate-status").classList.contains("error"));
      render();
    });
  }
  $("show-map").addEventListener("click", () => {
    mapWanted = true;
    render();
  });
  $("rate-send").addEventListener("click", () => sendRating());
  $("rebook-go").addEventListener("click", () => rebook());
  $("rebook-day").addEventListener("change", (event) => {
    rebookNote = null;
    if (event.target.value) loadSlots(event.target.value);
  });
  render();
  const response = await fetch(base);
  if (response.status === 404 || response.status === 422) {
    gone = true;
    render();
  } else if (response.ok) {
    view = await response.json();
    if (view.status === "failed_attempt") startRebook();
    render();
    if (!TERMINAL.has(view.status)) listen();
  } else {
    $("message").textContent = TEXT[lang].offline;
    listen();
  }
  document.body.dataset.ready = "true";
}

init();
