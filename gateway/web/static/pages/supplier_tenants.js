// The supplier's tenants with their health (state, the week's usage, open tickets): create one from a
// plan and an industry template, suspend and resume. Devices and alarms are each tenant's own and not
// readable by its supplier, so the week's metered points and active devices stand for "reporting".
import { gql } from "../lib/api.js";
import { el, fill } from "../lib/dom.js";
import { localDay, number, t } from "../lib/i18n.js";
import { TENANT_FIELDS, labelled, mutate, pagedTable, rowForm, stateLabel, tenantPage } from "../lib/portal.js";

const DAY_MS = 24 * 3600000;
const HEALTH = `query ($first: Date!, $last: Date!) {
  usage(firstDay: $first, lastDay: $last) { tenantId points activeDevices apiCalls }
  ticketsConnection(statuses: [OPEN, IN_PROGRESS, WAITING_ON_CUSTOMER], first: 200) { nodes { tenantId } }
}`;
const CREATE = `mutation ($name: String!, $plan: String!, $template: String, $trial: Boolean!, $ownerEmail: String, $ownerName: String) {
  createTenant(name: $name, planCode: $plan, template: $template, trial: $trial, ownerEmail: $ownerEmail, ownerName: $ownerName) {
    tenant { ${TENANT_FIELDS} } errors { message } }
}`;
const MOVE = (field) => `mutation ($id: ID!, $reason: String!) { ${field}(tenantId: $id, reason: $reason) { tenant { ${TENANT_FIELDS} } errors { message } } }`;
const list = document.getElementById("tenants");
const outcome = document.getElementById("tenant-outcome");
let health = new Map(); // tenant id → { points, devices, apiCalls, tickets } over the last 7 UTC days

async function loadHealth() {
  const today = Date.now();
  const data = await gql(HEALTH, { first: localDay(today - 6 * DAY_MS, "UTC"), last: localDay(today, "UTC") });
  health = new Map();
  const of = (id) => health.get(id) ?? health.set(id, { points: 0, devices: 0, apiCalls: 0, tickets: 0 }).get(id);
  for (const day of data.usage) {
    const h = of(day.tenantId);
    h.points += day.points;
    h.apiCalls += day.apiCalls;
    h.devices = Math.max(h.devices, day.activeDevices);
  }
  for (const ticket of data.ticketsConnection.nodes) { of(ticket.tenantId).tickets += 1; }
}

// Suspending or resuming, with the reason the audit log keeps.
function actions(tenant) {
  const suspended = tenant.state === "SUSPENDED";
  const field = suspended ? "resumeTenant" : "suspendTenant";
  return rowForm(labelled(t("supplier.reason"), el("input", { name: "reason", required: true, maxlength: "500" })),
    suspended ? t("supplier.resume") : t("supplier.suspend"),
    async (form) => {
      const done = await mutate(outcome, field, MOVE(field), { id: tenant.id, reason: form.get("reason") });
      if (!done) { return; }
      outcome.textContent = t("supplier.moved", { name: done.tenant.name, state: t(`subscription.${done.tenant.state}`) });
      list.querySelector(`tr[data-tenant="${CSS.escape(tenant.id)}"]`).replaceWith(row(done.tenant));
    });
}

function row(tenant) {
  const h = health.get(tenant.id) ?? { points: 0, devices: 0, apiCalls: 0, tickets: 0 };
  const cells = [tenant.name, stateLabel(tenant.state), t(`plan.${tenant.planCode}`), tenant.template ? t(`template.${tenant.template}`) : t("none"),
    number(h.devices, 0), number(h.points, 0), number(h.apiCalls, 0), number(h.tickets, 0), actions(tenant)];
  return el("tr", { "data-tenant": tenant.id, "data-state": tenant.state }, cells.map((c) => el("td", {}, c)));
}

async function load() {
  await loadHealth().catch(() => { health = new Map(); }); // health is a nicety: the list works without it
  const headers = [t("supplier.name"), t("supplier.state"), t("supplier.plan"), t("supplier.template"), t("supplier.devices_7d"),
    t("supplier.points_7d"), t("supplier.api_calls_7d"), t("supplier.open_tickets"), t("supplier.actions")];
  return pagedTable(t("supplier.tenants"), headers, tenantPage, row, t("supplier.empty"));
}

async function create(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const ownerEmail = form.get("owner_email").trim() || null;
  const variables = { name: form.get("name"), plan: form.get("plan"), template: form.get("template") || null, trial: form.has("trial"),
    ownerEmail, ownerName: form.get("owner_name").trim() || null };
  const done = await mutate(outcome, "createTenant", CREATE, variables);
  if (!done) { return; }
  outcome.textContent = ownerEmail ? t("supplier.created_invited", { name: done.tenant.name, email: ownerEmail })
    : t("supplier.created", { name: done.tenant.name });
  event.target.reset();
  await fill(list, load);
}

document.getElementById("create-tenant").addEventListener("submit", create);
fill(list, load);
