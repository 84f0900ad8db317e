// SPC of one series: an I-MR or X̄-R control chart with its centre line, control limits and the
// Western Electric violations marked, Cp/Cpk against entered specification limits, and the stored
// SPC events (which alarm rules consume), times in the machine's site's zone.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, ms, number, t, zoneClock } from "../lib/i18n.js";
import { loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";

const HOUR_MS = 3600000;
const SHOWN_VIOLATIONS = 200;
const LIMITS = "center lower upper";
const CHART = `query ($input: SpcChartInput!) { spcChart(input: $input) {
  valueLimits { ${LIMITS} } rangeLimits { ${LIMITS} } sigma baselinePoints points { at value range } violations { at rule value } cp cpk
} }`;
const EVENT = "id at rule value chart subgroupSize recordedAt";
const EVENTS = `query ($series: ID!, $from: Timestamp!, $to: Timestamp!) {
  spcEvents(seriesId: $series, from: $from, to: $to, first: 200) { events { ${EVENT} } hasMore }
}`;
const RECORD = "mutation ($input: SpcChartInput!) { storeSpcEvents(input: $input) { events { recorded { id } alreadyStored } errors { message } } }";
const RULES = { 1: t("spc.rule_1"), 2: t("spc.rule_2"), 3: t("spc.rule_3"), 4: t("spc.rule_4") };
const KINDS = { I_MR: t("spc.kind_I_MR"), XBAR_R: t("spc.kind_XBAR_R") };
const COLOURS = { value: "#0b6bcb", center: "#1a7f45", limit: "#b42318" };

const form = document.getElementById("spc-form");
const chartBox = document.getElementById("spc-chart");
const eventsBox = document.getElementById("spc-events");
const outcome = document.getElementById("spc-record-outcome");
let drawn = null; // the input of the chart on screen: what "store its violations" stores

// What the form asks for, as the API's SpcChartInput over the last chosen hours up to now.
function asked() {
  const to = Date.now();
  const spec = (input) => (input.value === "" ? null : Number(input.value));
  const [lowerSpec, upperSpec] = [spec(form.lsl), spec(form.usl)];
  const kind = form.kind.value;
  return {
    seriesId: form.series.value, from: new Date(to - Number(form.hours.value) * HOUR_MS).toISOString(), to: new Date(to).toISOString(),
    chart: kind, subgroupSize: kind === "XBAR_R" ? Number(form.subgroup.value) : 0,
    lowerSpec, upperSpec, capability: lowerSpec !== null || upperSpec !== null,
  };
}

// A horizontal line across the chart (centre or a limit) as a trace, so the legend names it.
function level(x, y, name, colour, dash, axis) {
  return { x: [x[0], x.at(-1)], y: [y, y], name, mode: "lines", line: { color: colour, width: 1.5, dash }, yaxis: axis, hoverinfo: "name+y" };
}

// One mark per violating point, however many rules it breaks.
function markedPoints(violations) {
  const byTime = new Map();
  for (const v of violations) {
    if (!byTime.has(v.at)) { byTime.set(v.at, { at: v.at, value: v.value, rules: [] }); }
    byTime.get(v.at).rules.push(v.rule);
  }
  return [...byTime.values()];
}

async function drawChart(plot, chart, clock) {
  const x = chart.points.map((p) => clock.toWall(ms(p.at)));
  const marked = markedPoints(chart.violations);
  const big = chart.points.length > 2000;
  const v = chart.valueLimits;
  const r = chart.rangeLimits;
  const traces = [
    { x, y: chart.points.map((p) => p.value), name: t("spc.values"), mode: big ? "lines" : "lines+markers", marker: { size: 4 }, line: { color: COLOURS.value, width: 1 } },
    level(x, v.center, t("spc.center"), COLOURS.center, "solid", "y"),
    level(x, v.upper, t("spc.ucl"), COLOURS.limit, "dash", "y"),
    level(x, v.lower, t("spc.lcl"), COLOURS.limit, "dash", "y"),
    {
      x: marked.map((p) => clock.toWall(ms(p.at))), y: marked.map((p) => p.value), name: t("spc.violations"),
      mode: "markers", marker: { color: COLOURS.limit, size: 11, symbol: "circle-open", line: { width: 2 } },
      text: marked.map((p) => p.rules.map((rule) => RULES[rule]).join("<br>")), hovertemplate: "%{y}<br>%{text}<extra></extra>",
    },
    { x, y: chart.points.map((p) => p.range), name: t("spc.ranges"), mode: "lines", line: { color: COLOURS.value, width: 1 }, yaxis: "y2", showlegend: false },
    level(x, r.center, t("spc.range_center"), COLOURS.center, "solid", "y2"),
    level(x, r.upper, t("spc.range_ucl"), COLOURS.limit, "dash", "y2"),
  ];
  const layout = {
    margin: { l: 56, r: 10, t: 8, b: 36 }, showlegend: true, legend: { orientation: "h", y: 1.12 },
    xaxis: { type: "date", anchor: "y2" },
    yaxis: { domain: [0.4, 1], title: { text: t("spc.values") } },
    yaxis2: { domain: [0, 0.3], title: { text: t("spc.ranges") } },
  };
  await Plotly.newPlot(plot, traces, layout, { responsive: true, displaylogo: false, modeBarButtonsToRemove: ["select2d", "lasso2d"] });
  plot.dataset.points = String(chart.points.length); // what the tests wait for
  plot.dataset.violations = String(chart.violations.length);
  plot.dataset.marked = String(marked.length);
}

function figures(chart, decimals) {
  const rows = [
    [t("spc.center"), number(chart.valueLimits.center, decimals)], [t("spc.ucl"), number(chart.valueLimits.upper, decimals)],
    [t("spc.lcl"), number(chart.valueLimits.lower, decimals)], [t("spc.sigma"), number(chart.sigma, decimals)],
    [t("spc.baseline_points"), number(chart.baselinePoints, 0)], [t("spc.violation_count"), number(chart.violations.length, 0)],
    [t("spc.cp"), number(chart.cp, 2)], [t("spc.cpk"), number(chart.cpk, 2)],
  ];
  return el("dl", { class: "spc-figures", id: "spc-figures" }, rows.map(([name, value]) => el("div", {}, el("dt", {}, name), el("dd", {}, value))));
}

function violations(chart, zone, decimals) {
  if (!chart.violations.length) { return muted(t("spc.no_violations")); }
  const shown = chart.violations.slice(-SHOWN_VIOLATIONS);
  return [
    el("h3", {}, t("spc.violations")),
    shown.length < chart.violations.length ? muted(t("spc.latest_violations", { shown: shown.length, total: chart.violations.length })) : null,
    table(t("spc.violations"), [t("spc.at"), t("spc.rule"), t("spc.value")],
      shown.map((p) => [dateTime(p.at, zone), RULES[p.rule], number(p.value, decimals)])),
  ];
}

async function showChart(input, series) {
  const plot = el("div", { class: "plot spc-plot", role: "img", "aria-label": t("spc.chart_label", { series: series.name }) });
  const decimals = (series.decimals ?? 2) + 1;
  let chart = null;
  await fill(chartBox, async () => {
    chart = (await gql(CHART, { input })).spcChart;
    if (!chart.points.length) { return muted(t("spc.no_points")); }
    return [plot, figures(chart, decimals), violations(chart, series.zone, decimals)].flat();
  });
  if (plot.isConnected) { await drawChart(plot, chart, zoneClock(series.zone)); }
}

async function showEvents(input, series) {
  await fill(eventsBox, async () => {
    const page = (await gql(EVENTS, { series: input.seriesId, from: input.from, to: input.to })).spcEvents;
    if (!page.events.length) { return muted(t("spc.no_events")); }
    const kind = (e) => (e.chart === "XBAR_R" ? `${KINDS.XBAR_R} (n = ${e.subgroupSize})` : KINDS.I_MR);
    return [
      table(t("spc.events"), [t("spc.at"), t("spc.rule"), t("spc.value"), t("spc.kind"), t("spc.recorded_at")],
        page.events.map((e) => el("tr", { "data-event": e.id },
          [dateTime(e.at, series.zone), RULES[e.rule], number(e.value, (series.decimals ?? 2) + 1), kind(e), dateTime(e.recordedAt, series.zone)].map((c) => el("td", {}, c))))),
      page.hasMore ? muted(t("spc.more_events")) : null,
    ];
  });
}

async function record(button, known) {
  const input = drawn;
  button.disabled = true;
  outcome.textContent = t("spc.recording");
  try {
    const result = (await gql(RECORD, { input })).storeSpcEvents;
    const done = result.events;
    outcome.textContent = done
      ? t("spc.recorded", { count: done.recorded.length, already: done.alreadyStored })
      : t("spc.record_failed", { message: result.errors[0].message });
  } catch (error) {
    outcome.textContent = t("spc.record_failed", { message: error.message });
  } finally {
    button.disabled = false;
  }
  await showEvents(input, known.get(input.seriesId));
}

function show(known) {
  const input = (drawn = asked());
  const series = known.get(input.seriesId);
  history.replaceState(null, "", `/spc?${new URLSearchParams({ series: series.id })}`);
  outcome.textContent = "";
  return Promise.all([showChart(input, series), showEvents(input, series)]);
}

async function main() {
  startShell();
  const plant = await loadPlant({ withLatest: false });
  const known = new Map();
  form.series.replaceChildren(...plant.machines.filter((m) => m.series.length).map((m) => el("optgroup", { label: `${m.site?.name ?? ""} › ${m.line} › ${m.name}` },
    m.series.map((s) => {
      known.set(s.id, { ...s, zone: m.site?.timeZone ?? "UTC" });
      return el("option", { value: s.id }, `${m.name} · ${s.name}${s.unit ? ` (${s.unit})` : ""}`);
    }))));
  if (!known.size) {
    for (const box of [chartBox, eventsBox]) { box.replaceChildren(muted(t("spc.no_series"))); box.setAttribute("aria-busy", "false"); }
    return;
  }
  const wanted = new URLSearchParams(location.search).get("series");
  const first = [...known.values()].find((s) => s.kind === "gauge") ?? known.values().next().value;
  form.series.value = known.has(wanted) ? wanted : first.id;
  form.kind.addEventListener("change", () => { form.subgroup.disabled = form.kind.value !== "XBAR_R"; });
  form.addEventListener("submit", (event) => { event.preventDefault(); show(known); });
  document.getElementById("spc-record").addEventListener("click", (event) => record(event.currentTarget, known));
  await show(known);
}

main();
