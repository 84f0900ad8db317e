// The alarms inbox: the tenant's alarms, newest first a page at a time ("More" reads the next), kept
// current by the alarms subscription; acknowledge, clear and comment from each row.
import { ALARM_FIELDS, severityBadge } from "../lib/alarms.js";
import { gql, subscribe } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";

const PAGE = 100; // alarms a page of the inbox shows
const LIST = `query ($states: [AlarmState!], $after: String) {
  alarmsConnection(states: $states, first: ${PAGE}, after: $after) { nodes { ${ALARM_FIELDS} } pageInfo { endCursor hasNextPage } }
}`;
const LIVE = `subscription { alarms { event alarm { ${ALARM_FIELDS} } } }`;
const ACTIONS = {
  acknowledge: "acknowledgeAlarm",
  clear: "clearAlarm",
  comment: "commentAlarm",
};
const OPEN = ["RAISED", "ACKNOWLEDGED"];
const filter = document.getElementById("alarm-filter");
const outcome = document.getElementById("alarm-outcome");
let where = new Map(); // series id → "machine · series"
let zone = "UTC";
let body = null; // the table's tbody, once shown

const shown = (alarm) => filter.value === "all" || OPEN.includes(alarm.state);

async function act(alarm, action, comment) {
  const field = ACTIONS[action];
  const mutation = `mutation ($id: ID!, $comment: String!) { ${field}(id: $id, comment: $comment) { alarm { ${ALARM_FIELDS} } errors { message } } }`;
  const result = (await gql(mutation, { id: alarm.id, comment }))[field];
  if (result.errors.length) {
    outcome.textContent = t("alarms.refused", { message: result.errors[0].message });
    return;
  }
  const done = result.alarm;
  outcome.textContent = action === "comment"
    ? t("alarms.commented", { rule: done.ruleName })
    : t("alarms.done", { rule: done.ruleName, state: t(`state.${done.state}`) });
  upsert(done);
}

function actions(alarm) {
  const comment = el("input", { name: "comment", maxlength: "500" });
  const button = (action, label, enabled) => el("button", { type: "submit", value: action, disabled: !enabled }, label);
  return el("form", {
    class: "alarm-actions",
    onsubmit: (event) => {
      event.preventDefault();
      const action = event.submitter?.value ?? "comment";
      act(alarm, action, comment.value.trim()).catch((error) => { outcome.textContent = t("alarms.refused", { message: error.message }); });
    },
  },
  el("label", {}, t("alarms.comment"), " ", comment),
  button("acknowledge", t("alarms.acknowledge"), alarm.state === "RAISED"),
  button("clear", t("alarms.clear"), alarm.state !== "CLEARED"),
  button("comment", t("alarms.add_comment"), true));
}

function row(alarm) {
  const cells = [dateTime(alarm.raisedAt, zone), severityBadge(alarm.severity), t(`state.${alarm.state}`), alarm.ruleName,
    where.get(alarm.seriesId) ?? alarm.detail, number(alarm.value, 3), actions(alarm)];
  return el("tr", { "data-alarm": alarm.id, "data-state": alarm.state }, cells.map((c) => el("td", {}, c)));
}

// An alarm as it is now: its row replaced, added on top, or removed when the filter hides it.
function upsert(alarm) {
  if (!body) { return; }
  const old = body.querySelector(`tr[data-alarm="${CSS.escape(alarm.id)}"]`);
  if (!shown(alarm)) { old?.remove(); return; }
  if (old) { old.replaceWith(row(alarm)); } else { body.prepend(row(alarm)); }
}

// The next page's alarms below the table, skipping any the subscription already put on top.
function more(states, pageInfo) {
  if (!pageInfo.hasNextPage) { return []; }
  const button = el("button", { type: "button", id: "alarms-more" }, t("alarms.more"));
  button.addEventListener("click", async () => {
    button.disabled = true;
    try {
      const next = (await gql(LIST, { states, after: pageInfo.endCursor })).alarmsConnection;
      const fresh = next.nodes.filter((a) => !body.querySelector(`tr[data-alarm="${CSS.escape(a.id)}"]`));
      body.append(...fresh.map(row));
      button.replaceWith(...more(states, next.pageInfo));
    } catch (error) {
      outcome.textContent = error.message;
      button.disabled = false;
    }
  });
  return [button];
}

async function list() {
  const states = filter.value === "all" ? null : OPEN;
  const first = (await gql(LIST, { states })).alarmsConnection;
  const headers = [t("alarms.raised_at"), t("alarms.severity"), t("alarms.state"), t("alarms.rule"), t("alarms.where"), t("alarms.value"), t("alarms.actions")];
  const shownTable = table(t("alarms.title"), headers, first.nodes.map(row));
  body = shownTable.querySelector("tbody");
  return first.nodes.length ? [shownTable, ...more(states, first.pageInfo)] : [muted(t("alarms.empty")), shownTable];
}

async function main() {
  startShell();
  try {
    const plant = await loadPlant();
    zone = plant.sites[0]?.timeZone ?? "UTC";
    where = new Map(plant.machines.flatMap((m) => m.series.map((s) => [s.id, `${m.name} · ${s.name}`])));
  } catch { /* names and zone are a nicety: the inbox works without them */ }
  const container = document.getElementById("alarms");
  filter.addEventListener("change", () => fill(container, list));
  await fill(container, list);
  subscribe(LIVE, {}, (data) => { container.querySelector("p.muted")?.remove(); upsert(data.alarms.alarm); });
}

main();
