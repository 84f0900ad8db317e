// A machine's page: live charts of its series (zoom and pan ask the server again), its OEE breakdown
// over the last week, its recent alarms and anomalies.
import { LIVE_VALUES, gql, subscribe } from "../lib/api.js";
import { LiveChart, showAll } from "../lib/chart.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t, zoneClock } from "../lib/i18n.js";
import { addDays, dayRange, formula, losses, oeeTotal, productionDay } from "../lib/oee.js";
import { loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";
import { severityBadge } from "../lib/alarms.js";

const machineId = document.querySelector('meta[name="machine-id"]').content;
const HOUR_MS = 3600000;
const ALARMS = "{ alarmsConnection(first: 200) { nodes { id ruleName severity state seriesId raisedAt value } } }";
const ANOMALIES = `query ($machine: ID!, $from: Timestamp!, $to: Timestamp!) {
  anomaliesConnection(machineId: $machine, from: $from, to: $to, first: 20) { nodes { id start end seriesIds peakScore } }
}`;

const OEE_DAYS = 7;

// The range buttons' hours by key ("1h" … "1y"); the chosen one is kept in the URL (?range=1y), so a link
// shows what its sender saw.
const RANGE_BUTTONS = [...document.querySelectorAll("button.range")];
const RANGE_HOURS = new Map(RANGE_BUTTONS.map((b) => [b.dataset.range, Number(b.dataset.hours)]));
const linked = new URLSearchParams(location.search).get("range");
let range = RANGE_HOURS.has(linked) ? linked : "1h";

function chooseRange(key) {
  range = key;
  const url = new URL(location.href);
  url.searchParams.set("range", key);
  history.replaceState(history.state, "", url);
}

async function drawAll(charts) {
  const to = Date.now();
  const container = document.getElementById("charts");
  RANGE_BUTTONS.forEach((b) => b.setAttribute("aria-pressed", String(b.dataset.range === range)));
  container.setAttribute("aria-busy", "true");
  try { await showAll(charts, to - RANGE_HOURS.get(range) * HOUR_MS, to, true); }
  catch (error) { say(t("load.failed", { message: error.message })); }
  finally { container.setAttribute("aria-busy", "false"); }
}

async function recentAlarms(machine, zone) {
  const names = new Map(machine.series.map((s) => [s.id, s.name]));
  const alarms = (await gql(ALARMS)).alarmsConnection.nodes.filter((a) => names.has(a.seriesId)).slice(0, 20);
  if (!alarms.length) { return muted(t("machine.no_alarms")); }
  return table(t("machine.alarms"), [t("alarms.raised_at"), t("alarms.severity"), t("alarms.state"), t("alarms.rule"), t("alarms.value")],
    alarms.map((a) => [dateTime(a.raisedAt, zone), severityBadge(a.severity), t(`state.${a.state}`), `${a.ruleName} · ${names.get(a.seriesId)}`, number(a.value, 3)]));
}

async function recentAnomalies(machine, zone) {
  const names = new Map(machine.series.map((s) => [s.id, s.name]));
  const to = new Date();
  const from = new Date(to - 7 * 24 * HOUR_MS);
  const found = (await gql(ANOMALIES, { machine: machine.id, from: from.toISOString(), to: to.toISOString() })).anomaliesConnection.nodes;
  if (!found.length) { return muted(t("machine.no_anomalies")); }
  return table(t("machine.anomalies"), [t("machine.anomaly_start"), t("machine.anomaly_end"), t("machine.anomaly_series"), t("machine.anomaly_score")],
    found.map((a) => [dateTime(a.start, zone), a.end ? dateTime(a.end, zone) : t("machine.ongoing"),
      a.seriesIds.map((id) => names.get(id) ?? id).join(", "), number(a.peakScore, 2)]));
}

// The last week's OEE (today so far included) as A × P × Q, and the losses behind it.
async function oeeBreakdown(machine) {
  const toDay = productionDay(machine.site);
  const fromDay = addDays(toDay, 1 - OEE_DAYS);
  const total = await oeeTotal(machine.id, ...dayRange(fromDay, toDay, machine.site));
  return [
    el("p", { class: "muted" }, t("machine.oee_range", { days: OEE_DAYS, zone: machine.site.timeZone })),
    formula(total, "machine-oee-figures"),
    losses(total, t("oee.losses")),
    el("p", {}, el("a", { href: `/oee?${new URLSearchParams({ asset: machine.id, from: fromDay, to: toDay })}` }, t("machine.oee_details"))),
  ];
}

async function main() {
  startShell();
  const machine = (await loadPlant({ withLatest: false })).machines.find((m) => m.id === machineId);
  const zone = machine.site?.timeZone ?? "UTC";
  document.getElementById("machine-title").textContent = t("machine.title", { machine: machine.name, line: machine.line, site: machine.site?.name ?? "" });
  document.title = `${machine.name} · sfcloud`;
  const clock = zoneClock(zone);
  const container = document.getElementById("charts");
  const charts = machine.series.map((series) => new LiveChart(container, series, clock));
  const reset = () => drawAll(charts);
  charts.forEach((chart) => { chart.onReset = reset; });
  RANGE_BUTTONS.forEach((button) => button.addEventListener("click", () => { chooseRange(button.dataset.range); reset(); }));
  const byId = new Map(charts.map((chart) => [chart.series.id, chart]));
  subscribe(LIVE_VALUES, { ids: [...byId.keys()] }, (data) => byId.get(data.liveValues.seriesId)?.push(data.liveValues));
  await drawAll(charts); // first: the charts are what the page is for
  fill(document.getElementById("machine-oee"), () => (machine.site ? oeeBreakdown(machine) : muted(t("oee.no_results"))));
  fill(document.getElementById("machine-alarms"), () => recentAlarms(machine, zone));
  fill(document.getElementById("anomalies"), () => recentAnomalies(machine, zone));
}

main();
