// The supplier directory: search suppliers by specialty, industry, region and text, read one's listing with
// the track record the platform computes, and (owners) ask it to serve the tenant; the tenant's requests
// and where each stands.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { labelled, mutate, pagedTable } from "../lib/portal.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";
import { siteZone } from "../lib/zone.js";

const RECORD = "trackRecord { activeTenants assessedTenants averageLevelGain answeredTickets medianFirstResponseSeconds }";
const SEARCH = `query ($specialty: String!, $industry: String!, $region: String!, $text: String!, $after: String) {
  suppliers(specialty: $specialty, industry: $industry, region: $region, text: $text, first: 20, after: $after) {
    suppliers { id name profile { summary specialties industries regions } ${RECORD} } nextCursor } }`;
const LISTING = `query ($id: ID!) { supplier(id: $id) { id name description website contactEmail ${RECORD}
  profile { summary specialties industries regions certifications keyStaff { role count } references { client project year } updatedAt } } }`;
const REQUEST = "mutation ($id: ID!, $message: String!) { requestSupplier(supplierId: $id, message: $message) { requestId errors { message } } }";
const REQUESTS = `query ($after: String) { supplierRequestsConnection(first: 50, after: $after) {
  nodes { id supplierName message state requestedAt decidedAt decisionNote } pageInfo { endCursor hasNextPage } } }`;

const search = document.getElementById("supplier-search");
const results = document.getElementById("supplier-results");
const listing = document.getElementById("listing");
const requests = document.getElementById("supplier-requests");
const canRequest = document.getElementById("supplier-listing").dataset.canRequest === "yes";
const STATE_BADGE = { REQUESTED: "info", ACCEPTED: "met", DECLINED: "critical" };
let zone = "UTC";

const tags = (list) => (list.length ? list.join(", ") : t("none"));

// A median wait in minutes under two hours, else in hours.
function wait(seconds) {
  if (seconds === null || seconds === undefined) { return t("none"); }
  return seconds < 7200 ? t("suppliers.minutes", { n: number(seconds / 60, 0) }) : t("suppliers.hours", { n: number(seconds / 3600, 1) });
}

function row(supplier) {
  const open = el("button", { type: "button", class: "link", "aria-label": t("suppliers.view_for", { name: supplier.name }), onclick: () => showListing(supplier.id) }, supplier.name);
  return el("tr", { "data-supplier": supplier.id },
    [el("div", {}, open, supplier.profile.summary ? el("p", { class: "muted" }, supplier.profile.summary) : null),
      tags(supplier.profile.specialties), tags(supplier.profile.industries), tags(supplier.profile.regions),
      number(supplier.trackRecord.activeTenants, 0), wait(supplier.trackRecord.medianFirstResponseSeconds)]
      .map((c) => el("td", {}, c)));
}

// The directory's pages as a table that grows ("More" while there is a next cursor).
async function loadResults() {
  const filters = Object.fromEntries(["specialty", "industry", "region", "text"].map((name) => [name, search.elements[name].value.trim()]));
  const page = async (after) => (await gql(SEARCH, { ...filters, after })).suppliers;
  const first = await page(null);
  if (!first.suppliers.length) { return muted(t("suppliers.none_found")); }
  const shown = table(t("suppliers.results"), [t("suppliers.name"), t("suppliers.specialties"), t("suppliers.industries"),
    t("suppliers.regions"), t("suppliers.tenants"), t("suppliers.response")], first.suppliers.map(row));
  const more = el("button", { type: "button", class: "more", hidden: !first.nextCursor }, t("portal.more"));
  let after = first.nextCursor;
  more.addEventListener("click", async () => {
    const next = await page(after);
    shown.querySelector("tbody").append(...next.suppliers.map(row));
    after = next.nextCursor;
    more.hidden = !after;
  });
  return [shown, more];
}

const fact = (term, value) => [el("dt", {}, term), el("dd", {}, value)];
// Only a web address is a link: a supplier's text never becomes a script URL.
const website = (url) => (/^https?:\/\//i.test(url) ? el("a", { href: url, rel: "noopener noreferrer" }, url) : url || t("none"));

function profile(s) {
  const p = s.profile;
  return el("dl", { class: "facts" },
    fact(t("suppliers.website"), website(s.website)),
    fact(t("suppliers.contact"), s.contactEmail ? el("a", { href: `mailto:${s.contactEmail}` }, s.contactEmail) : t("none")),
    fact(t("suppliers.specialties"), tags(p.specialties)), fact(t("suppliers.industries"), tags(p.industries)),
    fact(t("suppliers.regions"), tags(p.regions)), fact(t("suppliers.certifications"), tags(p.certifications)),
    fact(t("suppliers.staff"), p.keyStaff.length ? p.keyStaff.map((k) => t("suppliers.staff_count", { role: k.role, count: number(k.count, 0) })).join(", ") : t("none")),
    fact(t("suppliers.references"), p.references.length
      ? el("ul", {}, p.references.map((r) => el("li", {}, r.year ? `${r.client}: ${r.project} (${r.year})` : `${r.client}: ${r.project}`))) : t("none")),
    fact(t("suppliers.updated"), dateTime(p.updatedAt, zone)));
}

function trackRecord(record) {
  return el("dl", { class: "facts", id: "track-record" },
    fact(t("suppliers.record_tenants"), number(record.activeTenants, 0)),
    fact(t("suppliers.record_assessed"), number(record.assessedTenants, 0)),
    fact(t("suppliers.record_gain"), number(record.averageLevelGain, 2)),
    fact(t("suppliers.record_answered"), number(record.answeredTickets, 0)),
    fact(t("suppliers.response"), wait(record.medianFirstResponseSeconds)));
}

function requestForm(supplier) {
  if (!canRequest) { return muted(t("suppliers.owners_only")); }
  const outcome = el("p", { class: "outcome", role: "status", id: "request-outcome" });
  const message = el("input", { name: "message", maxlength: "2000", autocomplete: "off" });
  const form = el("form", { class: "card narrow", id: "request-supplier" },
    el("h3", {}, t("suppliers.request_title", { name: supplier.name })),
    labelled(t("suppliers.message"), message),
    el("button", { type: "submit" }, t("suppliers.request")), outcome);
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const done = await mutate(outcome, "requestSupplier", REQUEST, { id: supplier.id, message: message.value });
    if (!done) { return; }
    outcome.textContent = t("suppliers.requested", { name: supplier.name });
    message.value = "";
    if (requests) { await fill(requests, loadRequests); }
  });
  return form;
}

async function showListing(id) {
  await fill(listing, async () => {
    const s = (await gql(LISTING, { id })).supplier;
    return el("article", { class: "listing", "data-listing": s.id },
      el("h3", {}, s.name), s.description ? el("p", {}, s.description) : null,
      s.profile.summary ? el("p", { class: "muted" }, s.profile.summary) : null,
      profile(s), el("h3", {}, t("suppliers.track_record")), el("p", { class: "muted" }, t("suppliers.track_record_hint")),
      trackRecord(s.trackRecord), requestForm(s));
  });
  document.getElementById("listing-title").focus();
}

function requestRow(r) {
  return el("tr", { "data-request": r.id, "data-state": r.state },
    [r.supplierName, r.message || t("none"), dateTime(r.requestedAt, zone), el("span", { class: `badge ${STATE_BADGE[r.state]}` }, t(`suppliers.state.${r.state}`)),
      dateTime(r.decidedAt, zone), r.decisionNote || t("none")].map((c) => el("td", {}, c)));
}

async function loadRequests() {
  const page = async (after) => (await gql(REQUESTS, { after })).supplierRequestsConnection;
  return pagedTable(t("suppliers.requests"), [t("suppliers.name"), t("suppliers.message"), t("suppliers.requested_at"),
    t("suppliers.state"), t("suppliers.decided_at"), t("suppliers.decision_note")], page, requestRow, t("suppliers.no_requests"));
}

async function start() {
  zone = await siteZone();
  search.addEventListener("submit", (event) => { event.preventDefault(); fill(results, loadResults); });
  await Promise.all([fill(results, loadResults), requests ? fill(requests, loadRequests) : null]);
}

startShell();
start().catch((error) => say(t("load.failed", { message: error.message })));
