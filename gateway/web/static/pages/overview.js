// The plant overview: sites → lines → machines, each with its live state and newest values.
import { LIVE_VALUES, subscribe } from "../lib/api.js";
import { el, fill, muted } from "../lib/dom.js";
import { dateTime, localDay, number, t } from "../lib/i18n.js";
import { STATE_CLASS, loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";

const VALUES_SHOWN = 4;
const lang = document.documentElement.lang;
const updaters = new Map(); // series id → function showing a new value

function reportLinks(site) {
  const date = localDay(new Date(), site.timeZone);
  const link = (period, format) => {
    const query = new URLSearchParams({ site: site.id, period, date, lang, format });
    return el("a", { href: `/reports/plant?${query}`, download: "" }, format.toUpperCase());
  };
  const period = (key, name) => el("li", {}, `${t(key)}: `, link(name, "pdf"), " · ", link(name, "csv"));
  return el("nav", { class: "reports", "aria-label": `${t("overview.reports")} — ${site.name}` },
    el("strong", {}, t("overview.reports")),
    el("ul", {}, period("overview.report_day", "day"), period("overview.report_month", "month")));
}

function stateBadge(machine) {
  const label = el("span", { class: "state-label" });
  const dot = el("span", { class: "dot", "aria-hidden": "true" });
  const show = (value) => {
    const name = STATE_CLASS[value] ?? "unknown";
    dot.className = `dot ${name}`;
    label.textContent = t(`status.${name}`);
  };
  show(machine.state?.latest?.value);
  if (machine.state) { updaters.set(machine.state.id, (point) => show(point.value)); }
  return el("span", { class: "state" }, dot, label);
}

function valueRow(series, timeZone) {
  const value = el("span", { class: "value" });
  const show = (point) => {
    value.textContent = `${number(point?.value, series.decimals)}${series.unit ? ` ${series.unit}` : ""}`;
    value.title = point ? dateTime(point.timestamp, timeZone) : "";
  };
  show(series.latest);
  updaters.set(series.id, (point) => { show(point); value.dataset.updates = String(Number(value.dataset.updates || 0) + 1); });
  return el("div", { class: "reading", "data-series": series.id }, el("dt", {}, series.name), el("dd", {}, value));
}

function machineCard(machine, timeZone) {
  const readings = machine.series.filter((s) => s.kind !== "state").slice(0, VALUES_SHOWN);
  return el("article", { class: "machine-card", "data-machine": machine.id },
    el("h4", {}, el("a", { href: `/machines/${encodeURIComponent(machine.id)}`, "data-machine": machine.id }, machine.name)),
    stateBadge(machine),
    el("dl", {}, readings.map((s) => valueRow(s, timeZone))));
}

function siteSection(site) {
  return el("section", { class: "site", "aria-label": site.name },
    el("header", { class: "site-head" },
      el("h2", {}, site.name),
      el("span", { class: "muted" }, t("overview.time_zone", { zone: site.timeZone })),
      reportLinks(site)),
    [...site.lines].map(([line, machines]) => el("section", { class: "line", "aria-label": line },
      el("h3", {}, line),
      el("div", { class: "machines" }, machines.map((m) => machineCard(m, site.timeZone))))));
}

async function main() {
  startShell();
  await fill(document.getElementById("plant"), async () => {
    const plant = await loadPlant();
    if (!plant.machines.length) { return muted(t("overview.empty")); }
    return plant.sites.filter((s) => s.lines.size).map(siteSection);
  });
  if (updaters.size) {
    subscribe(LIVE_VALUES, { ids: [...updaters.keys()] }, (data) => updaters.get(data.liveValues.seriesId)?.(data.liveValues));
  }
}

main();
