// The tenant's after-service tickets to its supplier: open one (a diagnostic snapshot is taken with it, and
// its page opens), and the list, open ones or all, each linking to its page.
import { gql } from "../lib/api.js";
import { el, fill } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { mutate, pagedTable } from "../lib/portal.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";
import { siteZone } from "../lib/zone.js";

const FIELDS = "id subject status createdAt responseDueAt resolvedAt responseBreached resolutionBreached";
const LIST = `query ($statuses: [TicketStatus!], $after: String) { ticketsConnection(statuses: $statuses, first: 50, after: $after) {
  nodes { ${FIELDS} } pageInfo { endCursor hasNextPage } } }`;
const OPEN = "mutation ($subject: String!, $body: String!) { openTicket(subject: $subject, body: $body) { ticket { id } errors { message } } }";
const UNRESOLVED = ["OPEN", "IN_PROGRESS", "WAITING_ON_CUSTOMER"];

const form = document.getElementById("open-ticket");
const filter = document.getElementById("ticket-filter");
const container = document.getElementById("tickets");
let zone = "UTC";

function row(ticket) {
  const due = ticket.responseBreached || ticket.resolutionBreached
    ? el("span", { class: "badge critical" }, t("tickets.breached")) : dateTime(ticket.responseDueAt, zone);
  return el("tr", { "data-ticket": ticket.id, "data-status": ticket.status },
    [dateTime(ticket.createdAt, zone), el("a", { href: `/tickets/${encodeURIComponent(ticket.id)}` }, ticket.subject),
      t(`ticket.${ticket.status}`), due, dateTime(ticket.resolvedAt, zone)].map((c) => el("td", {}, c)));
}

async function load() {
  const statuses = filter.value === "all" ? null : UNRESOLVED;
  const page = async (after) => (await gql(LIST, { statuses, after })).ticketsConnection;
  return pagedTable(t("tickets.yours"), [t("tickets.opened"), t("tickets.subject"), t("tickets.status"), t("tickets.due"), t("tickets.resolved")],
    page, row, t("tickets.empty"));
}

async function open(event) {
  event.preventDefault();
  const data = new FormData(form);
  const done = await mutate(document.getElementById("open-outcome"), "openTicket", OPEN, { subject: data.get("subject"), body: data.get("body") });
  if (done) { window.location = `/tickets/${encodeURIComponent(done.ticket.id)}`; }
}

async function start() {
  zone = await siteZone();
  form?.addEventListener("submit", open);
  filter.addEventListener("change", () => fill(container, load));
  await fill(container, load);
}

startShell();
start().catch((error) => say(t("load.failed", { message: error.message })));
