// One ticket: what was asked and where it stands, the diagnostic snapshot taken when it was opened, its
// comments and moves; the tenant's people comment and make the customer's moves of the flow (docs/SUPPORT.md).
import { gql } from "../lib/api.js";
import { severityBadge } from "../lib/alarms.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { mutate } from "../lib/portal.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";
import { siteZone } from "../lib/zone.js";

const FIELDS = "id subject body status openedBy createdAt firstResponseAt resolvedAt closedAt responseDueAt resolutionDueAt responseBreached resolutionBreached";
const DETAIL = `query ($id: ID!) { ticket(id: $id) { ticket { ${FIELDS} }
  snapshot { takenAt ingestErrorRate conflictRate telemetryUnavailable
    devices { deviceId name revoked lastBatchAt lastPointAt storedBatches refusedBatches points conflicts lastRefusalReason }
    recentAlarms { alarmId ruleName severity state raisedAt } }
  history { at side kind body fromStatus toStatus } } }`;
const COMMENT = "mutation ($id: ID!, $body: String!) { commentTicket(id: $id, body: $body) { ticket { id } errors { message } } }";
const MOVE = "mutation ($id: ID!, $status: TicketStatus!, $note: String!) { setTicketStatus(id: $id, status: $status, note: $note) { ticket { id } errors { message } } }";
// The moves of the flow that are the customer's (services/tenancy/support_models.py MOVES).
const CUSTOMER_MOVES = { OPEN: ["CLOSED"], WAITING_ON_CUSTOMER: ["IN_PROGRESS"], RESOLVED: ["CLOSED", "IN_PROGRESS"] };

const id = document.querySelector('meta[name="ticket-id"]').content;
const commentForm = document.getElementById("comment-ticket");
const moveForm = document.getElementById("move-ticket");
const outcome = document.getElementById("ticket-outcome");
let zone = "UTC";

const when = (ts) => dateTime(ts, zone);
const rate = (value) => t("tickets.percent", { n: number(value * 100, 1) });
const fact = (term, value) => [el("dt", {}, term), el("dd", {}, value)];
const overdue = (breached, due) => (breached ? el("span", { class: "badge critical" }, t("tickets.breached")) : when(due));

function summary(ticket) {
  return [ticket.body ? el("p", { class: "ticket-body" }, ticket.body) : null,
    el("dl", { class: "facts" },
      fact(t("tickets.status"), el("span", { id: "ticket-status", "data-status": ticket.status }, t(`ticket.${ticket.status}`))),
      fact(t("tickets.opened"), when(ticket.createdAt)),
      fact(t("tickets.due"), overdue(ticket.responseBreached, ticket.responseDueAt)),
      fact(t("tickets.first_response"), when(ticket.firstResponseAt)),
      fact(t("tickets.resolution_due"), overdue(ticket.resolutionBreached, ticket.resolutionDueAt)),
      fact(t("tickets.resolved"), when(ticket.resolvedAt)),
      fact(t("tickets.closed"), when(ticket.closedAt)))].filter(Boolean);
}

function snapshot(s) {
  const devices = s.devices.length
    ? table(t("tickets.devices"), [t("tickets.device"), t("tickets.last_batch"), t("tickets.last_seen"), t("tickets.stored_batches"),
      t("tickets.refused_batches"), t("tickets.points"), t("tickets.conflicts"), t("tickets.last_refusal")],
    s.devices.map((d) => el("tr", { "data-device": d.deviceId },
      [d.revoked ? `${d.name} (${t("tickets.revoked")})` : d.name, when(d.lastBatchAt), when(d.lastPointAt), number(d.storedBatches, 0),
        number(d.refusedBatches, 0), number(d.points, 0), number(d.conflicts, 0), d.lastRefusalReason ?? t("none")].map((c) => el("td", {}, c)))))
    : muted(t("tickets.no_devices"));
  const alarms = s.recentAlarms.length
    ? table(t("tickets.recent_alarms"), [t("tickets.raised"), t("tickets.rule"), t("tickets.severity"), t("tickets.alarm_state")],
      s.recentAlarms.map((a) => el("tr", { "data-alarm": a.alarmId },
        [when(a.raisedAt), a.ruleName, severityBadge(a.severity.toUpperCase()), t(`state.${a.state.toUpperCase()}`)].map((c) => el("td", {}, c)))))
    : muted(t("tickets.no_alarms"));
  return [
    el("dl", { class: "facts", id: "snapshot-rates" },
      fact(t("tickets.taken"), when(s.takenAt)), fact(t("tickets.ingest_error_rate"), rate(s.ingestErrorRate)),
      fact(t("tickets.conflict_rate"), rate(s.conflictRate))),
    s.telemetryUnavailable ? el("p", { class: "error" }, t("tickets.telemetry_unavailable", { reason: s.telemetryUnavailable })) : null,
    el("h3", {}, t("tickets.devices")), devices, el("h3", {}, t("tickets.recent_alarms")), alarms].filter(Boolean);
}

function event(e) {
  const what = e.kind === "status" ? t("tickets.event_status", { from: t(`ticket.${e.fromStatus}`), to: t(`ticket.${e.toStatus}`) }) : t(`tickets.event_${e.kind}`);
  return el("li", { "data-side": e.side, "data-kind": e.kind },
    el("strong", {}, t(`tickets.side_${e.side}`)), " · ", what, " · ", el("span", { class: "muted" }, when(e.at)),
    e.body ? el("p", {}, e.body) : null);
}

function offerMoves(ticket) {
  if (!moveForm) { return; }
  const moves = CUSTOMER_MOVES[ticket.status] ?? [];
  moveForm.hidden = !moves.length;
  moveForm.elements.status.replaceChildren(...moves.map((s) => el("option", { value: s }, t(`tickets.move_${ticket.status}_${s}`))));
  commentForm.hidden = ticket.status === "CLOSED";
}

async function load() {
  const found = (await gql(DETAIL, { id })).ticket;
  document.getElementById("ticket-title").textContent = found.ticket.subject;
  offerMoves(found.ticket);
  await Promise.all([
    fill(document.getElementById("ticket"), () => summary(found.ticket)),
    fill(document.getElementById("snapshot"), () => snapshot(found.snapshot)),
    fill(document.getElementById("history"), () => el("ol", { class: "history" }, found.history.map(event))),
  ]);
}

async function act(event, field, query, variables, done) {
  event.preventDefault();
  outcome.textContent = "";
  if (await mutate(outcome, field, query, variables())) {
    outcome.textContent = done();
    event.target.reset();
    await load();
  }
}

async function start() {
  zone = await siteZone();
  commentForm?.addEventListener("submit", (e) => act(e, "commentTicket", COMMENT,
    () => ({ id, body: commentForm.elements.body.value }), () => t("tickets.comment_added")));
  moveForm?.addEventListener("submit", (e) => act(e, "setTicketStatus", MOVE,
    () => ({ id, status: moveForm.elements.status.value, note: moveForm.elements.note.value }), () => t("tickets.status_set")));
  await load();
}

startShell();
start().catch((error) => say(t("load.failed", { message: error.message })));
