// The month's utilisation of every tenant with its flags (docs/PROGRAMME.md); a raised flag is marked
// reviewed with a note.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { labelled, mutate, rowForm, stateLabel } from "../lib/portal.js";

const FLAG = "rule evidence reviewedAt reviewNote";
const REPORT = `query ($month: String!, $flagged: Boolean!) { utilisationReport(month: $month, flaggedOnly: $flagged) {
  tenantId tenantName plan state daysCounted daysWithData registeredDevices reportingDevices logins flags { ${FLAG} } } }`;
const REVIEW = `mutation ($tenant: ID!, $month: String!, $rule: String!, $note: String!) {
  reviewUtilisationFlag(tenantId: $tenant, month: $month, rule: $rule, note: $note) { flag { ${FLAG} } errors { message } } }`;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const month = document.getElementById("utilisation-month");
const flaggedOnly = document.getElementById("flagged-only");
const outcome = document.getElementById("flag-outcome");
const container = document.getElementById("utilisation");
month.value = new Date().toISOString().slice(0, 7);

function flag(tenant, raised, shownMonth) {
  const reviewed = raised.reviewedAt
    ? el("p", { class: "muted" }, t("utilisation.reviewed", { at: dateTime(raised.reviewedAt, zone), note: raised.reviewNote }))
    : null;
  const review = rowForm(labelled(t("utilisation.note"), el("input", { name: "note", required: true, maxlength: "2000" })),
    t("utilisation.review"), async (form) => {
      const variables = { tenant: tenant.tenantId, month: shownMonth, rule: raised.rule, note: form.get("note") };
      const done = await mutate(outcome, "reviewUtilisationFlag", REVIEW, variables);
      if (!done) { return; }
      outcome.textContent = t("utilisation.done", { rule: raised.rule, tenant: tenant.tenantName });
      node.replaceWith(flag(tenant, done.flag, shownMonth));
    });
  const node = el("div", { class: "flag", "data-rule": raised.rule, "data-reviewed": raised.reviewedAt ? "yes" : "no" },
    el("strong", {}, raised.rule), " ", raised.evidence, reviewed, review);
  return node;
}

async function load() {
  const shownMonth = month.value;
  const rows = (await gql(REPORT, { month: shownMonth, flagged: flaggedOnly.checked })).utilisationReport;
  if (!rows.length) { return muted(t("utilisation.empty")); }
  return table(t("utilisation.title"),
    [t("usage.tenant"), t("supplier.plan"), t("supplier.state"), t("utilisation.data_days"), t("utilisation.devices"), t("utilisation.logins"), t("utilisation.flags")],
    rows.map((r) => el("tr", { "data-tenant": r.tenantId }, [r.tenantName, t(`plan.${r.plan}`), stateLabel(r.state.toUpperCase()),
      `${number(r.daysWithData, 0)} / ${number(r.daysCounted, 0)}`, `${number(r.reportingDevices, 0)} / ${number(r.registeredDevices, 0)}`,
      number(r.logins, 0), r.flags.length ? r.flags.map((f) => flag(r, f, shownMonth)) : t("none")].map((c) => el("td", {}, c)))));
}

month.addEventListener("change", () => { if (month.value) { fill(container, load); } });
flaggedOnly.addEventListener("change", () => fill(container, load));
fill(container, load);
