// How OEE looks wherever it is shown (the OEE page, a machine's page): availability × performance ×
// quality = OEE, and the losses behind it (downtime by state, speed loss, scrap loss).
import { gql } from "./api.js";
import { el, table } from "./dom.js";
import { localDay, number, percent, t, zoneClock } from "./i18n.js";

export const RATIOS = "availability performance quality oee goodCount totalCount";
export const FIGURES = `${RATIOS} plannedSeconds runSeconds scrapCount speedLossSeconds scrapLossSeconds downtime { state label seconds }`;
const REPORT = `query ($asset: ID!, $from: Timestamp!, $to: Timestamp!) {
  oee(assetId: $asset, from: $from, to: $to, by: DAY) { total { ${FIGURES} } }
}`;
const PARTS = ["availability", "performance", "quality"];
const NAMES = { availability: t("oee.availability"), performance: t("oee.performance"), quality: t("oee.quality"), oee: t("oee.oee") };
const DOWNTIME = { IDLE: t("oee.idle"), DOWN: t("oee.down"), UNKNOWN: t("oee.unknown") };

const DAY_MS = 24 * 3600000;
const MINUTE_MS = 60000;
export const addDays = (date, n) => new Date(Date.parse(`${date}T00:00:00Z`) + n * DAY_MS).toISOString().slice(0, 10);

// The production date (YYYY-MM-DD) a site is in now: its day starts with its first shift.
export const productionDay = (site) => localDay(Date.now() - site.dayStartMinute * MINUTE_MS, site.timeZone);

// The site's production dates fromDay..toDay (inclusive) as [from, to) in epoch ms, from the first
// shift's start to the next date's, cut at now (a day not over yet is counted up to now).
export function dayRange(fromDay, toDay, site) {
  const clock = zoneClock(site.timeZone);
  const start = (date) => clock.fromWall(`${date} 00:00:00.000`) + site.dayStartMinute * MINUTE_MS;
  const from = start(fromDay);
  return [from, Math.max(Math.min(start(addDays(toDay, 1)), Date.now()), from + 1)];
}

// A machine, line or site's figures over [from, to) (epoch ms), summed over the range.
export async function oeeTotal(assetId, from, to) {
  const range = { asset: assetId, from: new Date(from).toISOString(), to: new Date(to).toISOString() };
  return (await gql(REPORT, range)).oee.total;
}

// A × P × Q = OEE as four figures; `data-oee` carries the exact OEE (what the tests compare).
export function formula(figures, id) {
  const part = (key) => el("div", { class: `oee-part ${key}` },
    el("span", { class: "oee-name" }, NAMES[key]), el("span", { class: "oee-value" }, percent(figures[key])));
  const sign = (text) => el("span", { class: "oee-sign", "aria-hidden": "true" }, text);
  return el("div", { class: "oee-formula", id, "data-oee": figures.oee ?? "" },
    part("availability"), sign("×"), part("performance"), sign("×"), part("quality"), sign("="), part("oee"));
}

// The ratios as table cells: availability, performance, quality, OEE, then good of counted parts.
export function ratioCells(figures) {
  return [...PARTS, "oee"].map((key) => percent(figures[key]))
    .concat(t("oee.parts_of", { good: number(figures.goodCount, 0), total: number(figures.totalCount, 0) }));
}

export const ratioHeaders = () => [NAMES.availability, NAMES.performance, NAMES.quality, NAMES.oee, t("oee.good_parts")];

// Rounded as shown, so that a loss a hair below zero (parts made a little faster than ideal) says 0, not -0.
const shown = (value, step) => Math.round(value / step) * step || 0;
const hours = (seconds) => t("oee.hours", { hours: number(shown(seconds / 3600, 0.1), 1) });

// Planned time lost, largest first: each non-running state, then speed and scrap loss.
export function losses(figures, caption) {
  const planned = figures.plannedSeconds;
  const rows = [
    ...figures.downtime.map((d) => [DOWNTIME[d.label] ?? t("oee.state_n", { state: d.state }), d.seconds]),
    [t("oee.speed_loss"), figures.speedLossSeconds],
    [t("oee.scrap_loss"), figures.scrapLossSeconds],
  ].sort((a, b) => b[1] - a[1]);
  return table(caption, [t("oee.loss"), t("oee.time"), t("oee.share")],
    rows.map(([name, seconds]) => [name, hours(seconds), planned ? percent(shown(seconds / planned, 0.001)) : t("none")]));
}
