// The month's utilisation with its flags (docs/PROGRAMME.md), a page of tenants at a time: each tenant's
// month is worked out when its page is read, so a page links to the next rather than loading every tenant.
// The address holds the month, the filter and the page (?month=2026-11&flagged=0&after=…), so a link to
// the next page keeps them. A raised flag is marked reviewed with a note.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { labelled, mutate, rowForm, stateLabel } from "../lib/portal.js";
import { keepQueryOnLanguageSwitch } from "../lib/shell.js";

const PAGE = 50;
const FLAG = "rule evidence reviewedAt reviewNote";
const REPORT = `query ($month: String!, $flagged: Boolean!, $after: String) {
  utilisationReportConnection(month: $month, flaggedOnly: $flagged, first: ${PAGE}, after: $after) {
    nodes { tenantId tenantName plan state daysCounted daysWithData registeredDevices reportingDevices logins flags { ${FLAG} } }
    pageInfo { endCursor hasNextPage } } }`;
const REVIEW = `mutation ($tenant: ID!, $month: String!, $rule: String!, $note: String!) {
  reviewUtilisationFlag(tenantId: $tenant, month: $month, rule: $rule, note: $note) { flag { ${FLAG} } errors { message } } }`;
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const month = document.getElementById("utilisation-month");
const flaggedOnly = document.getElementById("flagged-only");
const outcome = document.getElementById("flag-outcome");
const container = document.getElementById("utilisation");
const asked = new URLSearchParams(location.search);
month.value = asked.get("month") ?? "";
if (!month.value) { month.value = new Date().toISOString().slice(0, 7); }  // none asked, or not a month
flaggedOnly.checked = asked.get("flagged") !== "0";
let after = asked.get("after");

// This page's address: the month and filter shown, and the page (null: the first).
function address(page) {
  const query = new URLSearchParams({ month: month.value, flagged: flaggedOnly.checked ? "1" : "0" });
  if (page) { query.set("after", page); }
  return `${location.pathname}?${query}`;
}

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

function rows({ nodes, pageInfo }, shownMonth) {
  if (!nodes.length) { return muted(t(after || pageInfo.hasNextPage ? "utilisation.page_empty" : "utilisation.empty")); }
  return table(t("utilisation.title"),
    [t("usage.tenant"), t("supplier.plan"), t("supplier.state"), t("utilisation.data_days"), t("utilisation.devices"), t("utilisation.logins"), t("utilisation.flags")],
    nodes.map((r) => el("tr", { "data-tenant": r.tenantId }, [r.tenantName, t(`plan.${r.plan}`), stateLabel(r.state.toUpperCase()),
      `${number(r.daysWithData, 0)} / ${number(r.daysCounted, 0)}`, `${number(r.reportingDevices, 0)} / ${number(r.registeredDevices, 0)}`,
      number(r.logins, 0), r.flags.length ? r.flags.map((f) => flag(r, f, shownMonth)) : t("none")].map((c) => el("td", {}, c)))));
}

// Links on: to the next page while there is one, and back to the first from any later page.
function pager(pageInfo) {
  const links = [after ? el("a", { href: address(null), rel: "first" }, t("utilisation.first")) : null,
    pageInfo.hasNextPage ? el("a", { href: address(pageInfo.endCursor), rel: "next" }, t("utilisation.next")) : null];
  return links.some(Boolean) ? el("nav", { class: "pager", "aria-label": t("utilisation.pages") }, links) : null;
}

async function load() {
  const shownMonth = month.value;
  const page = (await gql(REPORT, { month: shownMonth, flagged: flaggedOnly.checked, after })).utilisationReportConnection;
  return [muted(t("utilisation.paging", { count: PAGE })), rows(page, shownMonth), pager(page.pageInfo)].filter(Boolean);
}

// A new month or filter starts again at the first page, and the address says so.
function restart() {
  after = null;
  history.replaceState(null, "", address(null));
  fill(container, load);
}

month.addEventListener("change", () => { if (month.value) { restart(); } });
flaggedOnly.addEventListener("change", restart);
keepQueryOnLanguageSwitch();
fill(container, load);
