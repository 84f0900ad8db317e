// Tenants' requests to the supplier (docs/SUPPORT.md): accept one (the tenant moves to this supplier) or
// decline it with a note; requests of the supplier's own tenants to move elsewhere are shown, not decided.
import { gql } from "../lib/api.js";
import { el, fill } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { labelled, mutate, pagedTable, rowForm } from "../lib/portal.js";

const FIELDS = "id tenantId tenantName supplierId supplierName message state requestedAt decidedAt decisionNote";
const LIST = `query ($after: String) { supplierRequestsConnection(first: 50, after: $after) { nodes { ${FIELDS} } pageInfo { endCursor hasNextPage } } }`;
const ACCEPT = "mutation ($id: ID!) { acceptSupplierRequest(id: $id) { done errors { message } } }";
const DECLINE = "mutation ($id: ID!, $note: String!) { declineSupplierRequest(id: $id, note: $note) { done errors { message } } }";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const outcome = document.getElementById("request-outcome");
const container = document.getElementById("requests");
const me = container.dataset.supplier;

function decided(request, state) {
  const row = container.querySelector(`tr[data-request="${CSS.escape(request.id)}"]`);
  row.dataset.state = state;
  row.querySelector("td.state").textContent = t(`requests.state.${state}`);
  row.querySelector("td.actions").replaceChildren(t("none"));
}

function actions(request) {
  if (request.state !== "REQUESTED" || request.supplierId !== me) { return t("none"); }
  const accept = el("button", { type: "button", "aria-label": t("requests.accept_for", { tenant: request.tenantName }) }, t("requests.accept"));
  accept.addEventListener("click", async () => {
    accept.disabled = true;
    if (await mutate(outcome, "acceptSupplierRequest", ACCEPT, { id: request.id })) {
      outcome.textContent = t("requests.accepted", { tenant: request.tenantName });
      decided(request, "ACCEPTED");
    } else { accept.disabled = false; }
  });
  const decline = rowForm(labelled(t("requests.note"), el("input", { name: "note", maxlength: "2000" })),
    t("requests.decline"), async (form) => {
      if (await mutate(outcome, "declineSupplierRequest", DECLINE, { id: request.id, note: form.get("note") })) {
        outcome.textContent = t("requests.declined", { tenant: request.tenantName });
        decided(request, "DECLINED");
      }
    });
  return [accept, decline];
}

function row(request) {
  const direction = request.supplierId === me ? t("requests.to_you") : t("requests.leaving", { supplier: request.supplierName });
  const note = request.decisionNote ? el("p", { class: "muted" }, request.decisionNote) : null;
  return el("tr", { "data-request": request.id, "data-state": request.state },
    el("td", {}, dateTime(request.requestedAt, zone)), el("td", {}, request.tenantName), el("td", {}, direction),
    el("td", {}, request.message || t("none")), el("td", { class: "state" }, t(`requests.state.${request.state}`), note),
    el("td", { class: "actions" }, actions(request)));
}

async function load() {
  const page = async (after) => (await gql(LIST, { after })).supplierRequestsConnection;
  return pagedTable(t("requests.title"), [t("requests.requested"), t("usage.tenant"), t("requests.direction"),
    t("requests.message"), t("requests.state"), t("supplier.actions")], page, row, t("requests.empty"));
}

fill(container, load);
