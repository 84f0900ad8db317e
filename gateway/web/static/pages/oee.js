// OEE of a site, line or machine over chosen days in the site's time zone: the figures, the daily trend,
// the losses behind them, and the breakdown by machine, day and shift.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { day, percent, t } from "../lib/i18n.js";
import { FIGURES, RATIOS, addDays, dayRange, formula, losses, productionDay, ratioCells, ratioHeaders } from "../lib/oee.js";
import { loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";

const DAY_MS = 24 * 3600000;
const MAX_DAYS = 31; // what the API computes at once
const DEFAULT_DAYS = 7;
const REPORT = `query ($asset: ID!, $from: Timestamp!, $to: Timestamp!) {
  days: oee(assetId: $asset, from: $from, to: $to, by: DAY) {
    total { ${FIGURES} } machines { machineId figures { ${RATIOS} } } results { date figures { ${RATIOS} } }
  }
  shifts: oee(assetId: $asset, from: $from, to: $to, by: SHIFT) { results { label date figures { ${RATIOS} } } }
}`;
const TREND = [["oee", "#0b5cad", 3], ["availability", "#1a7f45", 1.5], ["performance", "#a36a00", 1.5], ["quality", "#6d3fa8", 1.5]];

const form = document.getElementById("oee-form");
const output = document.getElementById("oee");

// Every site, line and machine as a choice, each knowing its site (whose zone the days are in).
function choices(plant) {
  const found = [];
  for (const site of plant.sites) {
    found.push({ id: site.id, name: site.name, site });
    for (const [line, machines] of site.lines) {
      found.push({ id: machines[0].lineId, name: `${site.name} › ${line}`, site });
      found.push(...machines.map((m) => ({ id: m.id, name: `${site.name} › ${line} › ${m.name}`, site })));
    }
  }
  return found;
}

async function drawTrend(plot, results) {
  const x = results.map((r) => day(r.date));
  const traces = TREND.map(([key, color, width]) => ({
    x, y: results.map((r) => r.figures[key]), name: t(`oee.${key}`), mode: "lines+markers", type: "scatter",
    line: { color, width }, text: results.map((r) => percent(r.figures[key])), hovertemplate: "%{x}: %{text}<extra>%{fullData.name}</extra>",
  }));
  const layout = {
    margin: { l: 48, r: 10, t: 8, b: 40 }, xaxis: { type: "category" }, yaxis: { tickformat: ".0%", rangemode: "tozero" },
    legend: { orientation: "h", y: -0.2 },
  };
  await Plotly.newPlot(plot, traces, layout, { responsive: true, displayModeBar: false });
  plot.dataset.points = String(results.length); // what the tests wait for
}

function section(id, heading, ...content) {
  return el("section", { "aria-labelledby": `${id}-heading`, id }, el("h2", { id: `${id}-heading` }, heading), ...content);
}

function report(data, chosen, names, fromDay, toDay, plot) {
  const { days, shifts } = data;
  const empty = muted(t("oee.no_results"));
  const machineRows = days.machines.map((m) => [el("a", { href: `/machines/${m.machineId}` }, names.get(m.machineId) ?? m.machineId), ...ratioCells(m.figures)]);
  return [
    section("oee-summary", t("oee.summary", { asset: chosen.name, from: day(fromDay), to: day(toDay) }),
      formula(days.total, "oee-total"), el("p", { class: "muted" }, t("oee.time_zone", { zone: chosen.site.timeZone }))),
    section("oee-trend", t("oee.trend"), days.results.length ? plot : empty),
    el("div", { class: "columns" },
      section("oee-losses", t("oee.losses"), losses(days.total, t("oee.losses"))),
      section("oee-machines", t("oee.by_machine"), machineRows.length
        ? table(t("oee.by_machine"), [t("oee.machine"), ...ratioHeaders()], machineRows) : muted(t("oee.no_machines")))),
    section("oee-days", t("oee.by_day"), days.results.length
      ? table(t("oee.by_day"), [t("oee.day"), ...ratioHeaders()], days.results.map((r) => [day(r.date), ...ratioCells(r.figures)])) : empty),
    section("oee-shifts", t("oee.by_shift"), shifts.results.length
      ? table(t("oee.by_shift"), [t("oee.day"), t("oee.shift"), ...ratioHeaders()],
        shifts.results.map((r) => [day(r.date), r.label, ...ratioCells(r.figures)])) : muted(t("oee.no_results"))),
  ];
}

async function show(known, names) {
  const chosen = known.get(form.asset.value);
  const fromDay = form.from.value;
  const toDay = form.to.value;
  const span = (Date.parse(toDay) - Date.parse(fromDay)) / DAY_MS + 1;
  history.replaceState(null, "", `/oee?${new URLSearchParams({ asset: chosen.id, from: fromDay, to: toDay })}`);
  const plot = el("div", { class: "plot trend", role: "img", "aria-label": t("oee.trend_label") });
  let results = [];
  await fill(output, async () => {
    if (!(span >= 1 && span <= MAX_DAYS)) { throw new Error(t("oee.bad_range", { max: MAX_DAYS })); }
    const [from, to] = dayRange(fromDay, toDay, chosen.site);
    const range = { asset: chosen.id, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
    const data = await gql(REPORT, range);
    results = data.days.results;
    return report(data, chosen, names, fromDay, toDay, plot);
  });
  if (results.length && plot.isConnected) { await drawTrend(plot, results); }
}

async function main() {
  startShell();
  const plant = await loadPlant({ withLatest: false });
  const found = choices(plant);
  if (!found.length) { output.replaceChildren(muted(t("oee.no_machines"))); output.setAttribute("aria-busy", "false"); return; }
  const known = new Map(found.map((c) => [c.id, c]));
  form.asset.replaceChildren(...found.map((c) => el("option", { value: c.id }, c.name)));
  const asked = new URLSearchParams(location.search);
  const chosen = known.get(asked.get("asset")) ?? found[0];
  form.asset.value = chosen.id;
  form.to.value = asked.get("to") ?? productionDay(chosen.site);
  form.from.value = asked.get("from") ?? addDays(form.to.value, 1 - DEFAULT_DAYS);
  const names = new Map(plant.machines.map((m) => [m.id, m.name]));
  form.addEventListener("submit", (event) => { event.preventDefault(); show(known, names); });
  await show(known, names);
}

main();
