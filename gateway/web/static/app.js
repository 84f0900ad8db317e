// The live plant view: machines from the GraphQL API, charts that move with each stored value.
const csrfToken = document.querySelector('meta[name="csrf-token"]').content;
const WINDOW_MS = 10 * 60 * 1000;
const MAX_POINTS = 3000;
const STATE_CLASS = { 0: "idle", 1: "run", 2: "down" };

const statusLine = document.getElementById("status");
const say = (text) => { statusLine.textContent = text; };
const toDate = (ts) => new Date(ts.replace(/(\.\d{3})\d+/, "$1"));

async function gql(query, variables = {}) {
  const response = await fetch("/graphql", {
    method: "POST",
    headers: { "content-type": "application/json", "x-csrf-token": csrfToken },
    body: JSON.stringify({ query, variables }),
  });
  if (response.status === 401 || response.status === 403) { window.location = "/login"; }
  const body = await response.json();
  if (body.errors) { throw new Error(body.errors[0].message); }
  return body.data;
}

// A minimal graphql-transport-ws client: one socket, many subscriptions, reconnects with backoff.
class LiveSocket {
  constructor() { this.handlers = new Map(); this.next = 1; this.backoff = 500; this.open(); }
  open() {
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    this.ready = new Promise((resolve) => {
      this.ws = new WebSocket(`${scheme}://${location.host}/graphql`, "graphql-transport-ws");
      this.ws.onopen = () => this.ws.send(JSON.stringify({ type: "connection_init" }));
      this.ws.onmessage = (event) => this.receive(JSON.parse(event.data), resolve);
      this.ws.onclose = () => { say("Live connection lost; reconnecting…"); setTimeout(() => this.reopen(), this.backoff); this.backoff = Math.min(this.backoff * 2, 10000); };
    });
  }
  reopen() { this.open(); for (const [id, sub] of this.handlers) { this.send(id, sub); } }
  receive(message, resolve) {
    if (message.type === "connection_ack") { this.backoff = 500; say("Live"); resolve(); }
    else if (message.type === "ping") { this.ws.send(JSON.stringify({ type: "pong" })); }
    else if (message.type === "next") { this.handlers.get(message.id)?.onData(message.payload.data); }
    else if (message.type === "error") { say(`Live error: ${message.payload[0]?.message}`); }
  }
  async send(id, sub) { await this.ready; this.ws.send(JSON.stringify({ id, type: "subscribe", payload: sub.payload })); }
  subscribe(query, variables, onData) {
    const id = String(this.next++);
    const sub = { payload: { query, variables }, onData };
    this.handlers.set(id, sub);
    this.send(id, sub);
    return () => { this.handlers.delete(id); if (this.ws.readyState === 1) { this.ws.send(JSON.stringify({ id, type: "complete" })); } };
  }
}

const LIVE = "subscription ($ids: [ID!]!) { liveValues(seriesIds: $ids) { seriesId timestamp value } }";
const live = new LiveSocket();
let stopMachine = () => {};

function renderNav(machines) {
  const nav = document.getElementById("machines");
  nav.replaceChildren();
  let group = "";
  for (const machine of machines) {
    const heading = `${machine.site} · ${machine.line}`;
    if (heading !== group) { group = heading; const h = document.createElement("h3"); h.textContent = heading; nav.append(h); }
    const button = document.createElement("button");
    button.dataset.machine = machine.id;
    button.innerHTML = `<span class="dot"></span><span></span>`;
    button.lastChild.textContent = machine.name;
    button.onclick = () => showMachine(machine);
    nav.append(button);
  }
}

function watchStates(machines) {
  const dots = new Map();
  for (const machine of machines) {
    const state = machine.series.find((s) => s.kind === "state");
    if (!state) { continue; }
    const dot = document.querySelector(`[data-machine="${machine.id}"] .dot`);
    dots.set(state.id, dot);
    if (state.latest) { dot.className = `dot ${STATE_CLASS[state.latest.value] ?? ""}`; }
  }
  if (dots.size) {
    live.subscribe(LIVE, { ids: [...dots.keys()] }, (data) => {
      const v = data.liveValues; dots.get(v.seriesId).className = `dot ${STATE_CLASS[v.value] ?? ""}`;
    });
  }
}

async function showMachine(machine) {
  stopMachine();
  document.querySelectorAll("nav button").forEach((b) => b.setAttribute("aria-current", String(b.dataset.machine === machine.id)));
  const main = document.getElementById("machine");
  main.innerHTML = `<h2></h2><div class="charts"></div>`;
  main.firstChild.textContent = `${machine.name} — ${machine.line}`;
  // Each chart's box is placed at once, in order; their data are fetched side by side.
  const drawn = await Promise.all(machine.series.map((series) => chartFor(main.lastChild, series)));
  const charts = new Map(machine.series.map((series, i) => [series.id, drawn[i]]));
  stopMachine = live.subscribe(LIVE, { ids: [...charts.keys()] }, (data) => charts.get(data.liveValues.seriesId)?.(data.liveValues));
}

async function chartFor(container, series) {
  const box = document.createElement("section");
  box.className = "chart";
  box.dataset.series = series.name;
  box.innerHTML = `<h4><span></span><span class="value"></span></h4><div class="plot"></div>`;
  box.querySelector("h4 span").textContent = `${series.name}${series.unit ? ` (${series.unit})` : ""}`;
  container.append(box);
  const to = new Date(); const from = new Date(to - WINDOW_MS);
  const data = await gql("query ($id: ID!, $from: Timestamp!, $to: Timestamp!) { points(seriesId: $id, from: $from, to: $to, first: 3000) { timestamps values } }",
    { id: series.id, from: from.toISOString(), to: to.toISOString() });
  const trace = { x: data.points.timestamps.map(toDate), y: data.points.values, mode: "lines", line: { shape: series.kind === "state" ? "hv" : "linear", width: 1.5 } };
  const plot = box.querySelector(".plot");
  Plotly.newPlot(plot, [trace], { margin: { l: 40, r: 10, t: 8, b: 30 }, xaxis: { type: "date" }, uirevision: "keep" }, { responsive: true, displaylogo: false });
  const value = box.querySelector(".value");
  const show = (v) => { value.textContent = v === null ? "–" : Number(v).toFixed(series.decimals); };
  if (data.points.values.length) { show(data.points.values.at(-1)); }
  return (point) => {
    Plotly.extendTraces(plot, { x: [[toDate(point.timestamp)]], y: [[point.value]] }, [0], MAX_POINTS);
    box.dataset.updates = String(Number(box.dataset.updates || 0) + 1);
    show(point.value);
  };
}

// While retention will delete some of the tenant's data within the week, a banner says what and how to keep it.
const RETENTION = "{ retentionNotice { deletesBefore oldestEnd retentionDays planCode effectiveAt } }";
const day = (ts) => toDate(ts).toISOString().slice(0, 10);

async function showRetention() {
  const notice = (await gql(RETENTION)).retentionNotice;
  const banner = document.getElementById("retention");
  banner.hidden = !notice;
  if (!notice) { return; }
  const from = toDate(notice.effectiveAt) > new Date() ? ` from ${day(notice.effectiveAt)} on` : "";
  banner.textContent = `Data recorded before ${day(notice.deletesBefore)} (the oldest from ${day(notice.oldestEnd)}) `
    + `will be deleted within the week${from}: the ${notice.planCode} plan keeps ${notice.retentionDays} days. `
    + "To keep it, move to a plan that keeps data longer or export it first.";
}

async function main() {
  showRetention().catch((error) => say(`Could not load the retention notice: ${error.message}`));
  try {
    const data = await gql("{ machines { id name line site series { id name unit kind decimals latest { timestamp value } } } }");
    renderNav(data.machines);
    watchStates(data.machines);
    if (data.machines.length) { await showMachine(data.machines[0]); }
  } catch (error) { say(`Could not load machines: ${error.message}`); }
}

main();
