// The smart-factory level: where the tenant stands, the evidence for each criterion, what to do next,
// and how the level moved over the last 90 days.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { startShell } from "../lib/shell.js";

const DAY_MS = 24 * 3600000;
const LEVEL = `query ($from: Timestamp!, $to: Timestamp!) {
  smartFactoryLevel { level assessedAt criteria { level name met evidence } nextSteps }
  levelHistory(from: $from, to: $to) { day level }
}`;

function criteria(found) {
  return table(t("level.criteria"), [t("level.level"), t("level.criterion"), t("level.met"), t("level.evidence")],
    found.map((c) => el("tr", { "data-criterion": c.name, class: c.met ? "met" : "unmet" },
      el("td", {}, String(c.level)),
      el("td", {}, t(`criterion.${c.name}`)),
      el("td", {}, el("span", { class: `badge ${c.met ? "met" : "unmet"}` }, c.met ? t("level.yes") : t("level.no"))),
      el("td", {}, c.evidence))));
}

async function load() {
  const to = new Date();
  const data = await gql(LEVEL, { from: new Date(to - 90 * DAY_MS).toISOString(), to: to.toISOString() });
  const now = data.smartFactoryLevel;
  const steps = now.nextSteps.length ? el("ol", {}, now.nextSteps.map((s) => el("li", {}, s))) : muted(t("level.top"));
  const history = data.levelHistory.length
    ? table(t("level.history"), [t("level.day"), t("level.level")], data.levelHistory.map((h) => [h.day, String(h.level)]))
    : muted(t("level.no_history"));
  return [
    el("section", { class: "card level-now", "aria-labelledby": "level-heading" },
      el("h2", { id: "level-heading" }, t("level.current")),
      el("p", { class: "level-figure", id: "level-figure" }, t("level.of", { level: now.level })),
      el("p", { class: "muted" }, t("level.assessed", { at: dateTime(now.assessedAt, Intl.DateTimeFormat().resolvedOptions().timeZone) }))),
    el("section", {}, el("h2", {}, t("level.next_steps")), steps),
    el("section", {}, el("h2", {}, t("level.criteria")), criteria(now.criteria)),
    el("section", {}, el("h2", {}, t("level.history")), history),
  ];
}

startShell();
fill(document.getElementById("level"), load);
