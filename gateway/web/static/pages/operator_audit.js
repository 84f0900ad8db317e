// The audit log, newest first, a page at a time; the search narrows the loaded rows (the API pages the
// log but does not search it), so "More" widens what the search covers.
import { gql } from "../lib/api.js";
import { el, fill } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { pagedTable } from "../lib/portal.js";

const AUDIT = `query ($after: String) { auditEvents(first: 200, after: $after) {
  nodes { id tenantId at actorKind actorId action target outcome source } pageInfo { endCursor hasNextPage } } }`;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const search = document.getElementById("audit-search");
const container = document.getElementById("audit");

const matches = (row) => row.textContent.toLowerCase().includes(search.value.trim().toLowerCase());
function narrow() { for (const row of container.querySelectorAll("tbody tr")) { row.hidden = !matches(row); } }

function row(event) {
  const cells = [dateTime(event.at, zone), event.action, `${event.actorKind}:${event.actorId}`, event.target, event.outcome,
    event.tenantId ?? t("audit.platform"), event.source];
  const shown = el("tr", { "data-event": event.id, "data-action": event.action }, cells.map((c) => el("td", {}, c)));
  shown.hidden = !matches(shown);
  return shown;
}

const load = async (after) => (await gql(AUDIT, { after })).auditEvents;
const headers = [t("audit.at"), t("audit.action"), t("audit.actor"), t("audit.target"), t("audit.outcome"), t("audit.tenant"), t("audit.source")];
search.addEventListener("input", narrow);
fill(container, () => pagedTable(t("audit.title"), headers, load, row, t("audit.empty")));
