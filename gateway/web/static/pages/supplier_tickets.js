// After-service tickets from the supplier's tenants: move each on (the supplier's moves of the flow in
// docs/SUPPORT.md; the service says which a ticket allows) and comment.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { allTenants, labelled, mutate, rowForm } from "../lib/portal.js";

const FIELDS = "id tenantId subject body status createdAt responseDueAt responseBreached resolutionBreached";
const LIST = `query ($statuses: [TicketStatus!]) { ticketsConnection(statuses: $statuses, first: 200) { nodes { ${FIELDS} } } }`;
const MOVE = `mutation ($id: ID!, $status: TicketStatus!, $note: String!) { setTicketStatus(id: $id, status: $status, note: $note) { ticket { ${FIELDS} } errors { message } } }`;
const COMMENT = `mutation ($id: ID!, $body: String!) { commentTicket(id: $id, body: $body) { ticket { ${FIELDS} } errors { message } } }`;
const OPEN = ["OPEN", "IN_PROGRESS", "WAITING_ON_CUSTOMER"];
const SUPPLIER_MOVES = ["IN_PROGRESS", "WAITING_ON_CUSTOMER", "RESOLVED", "CLOSED"];
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const filter = document.getElementById("ticket-filter");
const outcome = document.getElementById("ticket-outcome");
const container = document.getElementById("tickets");
let names = new Map();

function replace(ticket, message) {
  outcome.textContent = message;
  container.querySelector(`tr[data-ticket="${CSS.escape(ticket.id)}"]`).replaceWith(row(ticket));
}

function actions(ticket) {
  if (ticket.status === "CLOSED") { return t("none"); }
  const status = el("select", { name: "status" }, SUPPLIER_MOVES.filter((s) => s !== ticket.status)
    .map((s) => el("option", { value: s }, t(`ticket.${s}`))));
  const move = rowForm([labelled(t("tickets.move_to"), status), labelled(t("tickets.note"), el("input", { name: "note", maxlength: "5000" }))],
    t("tickets.move"), async (form) => {
      const done = await mutate(outcome, "setTicketStatus", MOVE, { id: ticket.id, status: form.get("status"), note: form.get("note") });
      if (done) { replace(done.ticket, t("tickets.moved", { subject: done.ticket.subject, status: t(`ticket.${done.ticket.status}`) })); }
    });
  const comment = rowForm(labelled(t("tickets.comment"), el("input", { name: "body", required: true, maxlength: "5000" })),
    t("tickets.add_comment"), async (form) => {
      const done = await mutate(outcome, "commentTicket", COMMENT, { id: ticket.id, body: form.get("body") });
      if (done) { replace(done.ticket, t("tickets.commented", { subject: done.ticket.subject })); }
    });
  return [move, comment];
}

function row(ticket) {
  const due = ticket.responseBreached || ticket.resolutionBreached
    ? el("span", { class: "badge critical" }, t("tickets.breached")) : dateTime(ticket.responseDueAt, zone);
  const cells = [dateTime(ticket.createdAt, zone), names.get(ticket.tenantId) ?? ticket.tenantId,
    el("div", {}, el("strong", {}, ticket.subject), el("p", { class: "muted" }, ticket.body)), t(`ticket.${ticket.status}`), due, actions(ticket)];
  return el("tr", { "data-ticket": ticket.id, "data-status": ticket.status }, cells.map((c) => el("td", {}, c)));
}

async function load() {
  const [tenants, data] = await Promise.all([allTenants(), gql(LIST, { statuses: filter.value === "all" ? null : OPEN })]);
  names = new Map(tenants.map((tenant) => [tenant.id, tenant.name]));
  const tickets = data.ticketsConnection.nodes;
  if (!tickets.length) { return muted(t("tickets.empty")); }
  return table(t("tickets.title"), [t("tickets.opened"), t("usage.tenant"), t("tickets.subject"), t("tickets.status"), t("tickets.due"),
    t("supplier.actions")], tickets.map(row));
}

filter.addEventListener("change", () => fill(container, load));
fill(container, load);
