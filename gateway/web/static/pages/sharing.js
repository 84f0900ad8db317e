// My manufacturing data: the grants this tenant gave (make one, revoke one, read who accessed what under
// it) and the grants other organisations gave this tenant. Times are the site's, as on the other pages.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, ms, t, zoneClock } from "../lib/i18n.js";
import { loadPlant } from "../lib/plant.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";

const GRANT = "id grantorName granteeKind granteeName series { id name machine } from to granularity purpose expiresAt revokedAt";
// the newest 200 of each (a connection's largest page)
const GIVEN = `{ dataGrantsConnection(includeEnded: true, first: 200) { nodes { ${GRANT} } } }`;
const WITH_ME = `{ sharedWithMeConnection(includeEnded: true, first: 200) { nodes { ${GRANT} } } }`;
const SUPPLIERS = "{ suppliers(first: 50) { suppliers { id name } } }";
const CREATE = "mutation ($input: GrantDataInput!) { grantData(input: $input) { grant { id } errors { field message } } }";
const REVOKE = "mutation ($id: ID!) { revokeGrant(id: $id) { grant { id } errors { message } } }";
const EXPORT = "mutation ($id: ID!, $csv: Boolean!) { exportGrant(grantId: $id, withCsv: $csv) { export { id } errors { message } } }";
const LOG = "query ($id: ID!) { grantAccessLog(grantId: $id, first: 100) { accesses { at action actor outcome reason seriesId from to } } }";
const HOUR_MS = 3600 * 1000;

const form = document.getElementById("create-grant");
const grants = document.getElementById("grants");
const withMe = document.getElementById("shared-with-me");
let zone = "UTC";

const when = (ts) => dateTime(ts, zone);
const range = (g) => `${when(g.from)} – ${when(g.to)}`;
const seriesNames = (g) => g.series.map((s) => `${s.machine} · ${s.name}`).join(", ");

function state(grant) {
  if (grant.revokedAt) { return "REVOKED"; }
  return ms(grant.expiresAt) <= Date.now() ? "EXPIRED" : "ACTIVE";
}

function refused(errors) { return errors.length ? t("sharing.refused", { message: errors[0].message }) : ""; }

async function showLog(grant) {
  const names = new Map(grant.series.map((s) => [s.id, `${s.machine} · ${s.name}`]));
  const log = document.getElementById("grant-log");
  await fill(log, async () => {
    const accesses = (await gql(LOG, { id: grant.id })).grantAccessLog.accesses;
    const caption = t("sharing.log_of", { grantee: grant.granteeName, purpose: grant.purpose });
    return [el("p", {}, caption), table(caption,
      [t("sharing.at"), t("sharing.action"), t("sharing.actor"), t("sharing.outcome"), t("sharing.asked")],
      accesses.map((a) => el("tr", { "data-access": a.action },
        [when(a.at), t(`sharing.action.${a.action}`), a.actor, a.reason ? `${t(`sharing.outcome.${a.outcome}`)} (${a.reason})` : t(`sharing.outcome.${a.outcome}`),
          a.seriesId ? `${names.get(a.seriesId) ?? a.seriesId}: ${when(a.from)} – ${when(a.to)}` : ""]
          .map((c) => el("td", {}, c)))))];
  });
  document.getElementById("access-log-title").focus();
}

async function revoke(grant) {
  if (!window.confirm(t("sharing.revoke_confirm", { grantee: grant.granteeName }))) { return; }
  const result = (await gql(REVOKE, { id: grant.id })).revokeGrant;
  document.getElementById("grant-outcome").textContent = refused(result.errors);
  await fill(grants, loadGiven);
  await showLog(grant);
}

async function loadGiven() {
  const given = (await gql(GIVEN)).dataGrantsConnection.nodes;
  if (!given.length) { return muted(t("sharing.given_empty")); }
  return table(t("sharing.given"),
    [t("sharing.grantee"), t("sharing.series"), t("sharing.range"), t("sharing.level"), t("sharing.purpose"), t("sharing.expires"), t("sharing.state"), t("sharing.actions")],
    given.map((g) => el("tr", { "data-grant": g.id, "data-state": state(g) },
      [`${g.granteeName} (${t(`sharing.kind.${g.granteeKind}`)})`, seriesNames(g), range(g), t(`sharing.level.${g.granularity}`), g.purpose, when(g.expiresAt),
        t(`sharing.state.${state(g)}`),
        el("span", { class: "row-actions" },
          el("button", { type: "button", class: "show-log", "aria-label": t("sharing.log_for", { grantee: g.granteeName }), onclick: () => showLog(g) }, t("sharing.show_log")),
          state(g) === "ACTIVE" ? el("button", { type: "button", class: "danger", "aria-label": t("sharing.revoke_for", { grantee: g.granteeName }), onclick: () => revoke(g) }, t("sharing.revoke")) : null)]
        .map((c) => el("td", {}, c)))));
}

// A package of a grant's data, made by the worker and listed on the exports page (owners and admins).
async function exportGrant(grant) {
  const outcome = document.getElementById("shared-outcome");
  const result = (await gql(EXPORT, { id: grant.id, csv: true })).exportGrant;
  outcome.replaceChildren(result.export
    ? el("span", {}, t("sharing.export_started", { grantor: grant.grantorName }), " ", el("a", { href: "/exports" }, t("sharing.export_follow")))
    : refused(result.errors));
}

function exportAction(grant) {
  if (!form || state(grant) !== "ACTIVE") { return t("none"); }  // only managers export, and only while the grant runs
  return el("button", { type: "button", class: "export-grant", "aria-label": t("sharing.export_for", { grantor: grant.grantorName, purpose: grant.purpose }),
    onclick: () => exportGrant(grant).catch((error) => { document.getElementById("shared-outcome").textContent = error.message; }) }, t("sharing.export"));
}

async function loadWithMe() {
  const given = (await gql(WITH_ME)).sharedWithMeConnection.nodes;
  if (!given.length) { return muted(t("sharing.with_me_empty")); }
  return table(t("sharing.with_me"),
    [t("sharing.grantor"), t("sharing.series"), t("sharing.range"), t("sharing.level"), t("sharing.purpose"), t("sharing.expires"), t("sharing.state"), t("sharing.actions")],
    given.map((g) => el("tr", { "data-shared": g.id },
      [g.grantorName, seriesNames(g), range(g), t(`sharing.level.${g.granularity}`), g.purpose, when(g.expiresAt), t(`sharing.state.${state(g)}`), exportAction(g)]
        .map((c) => el("td", {}, c)))));
}

// The series to choose from, machine by machine.
function seriesChoice(machines) {
  if (!machines.some((m) => m.series.length)) { return muted(t("sharing.no_series")); }
  return machines.filter((m) => m.series.length).map((m) => el("div", { class: "choice-group" },
    el("p", { class: "choice-head" }, m.name),
    m.series.map((s) => el("label", { class: "check" },
      el("input", { type: "checkbox", name: "series", value: s.id }), s.unit ? `${s.name} (${s.unit})` : s.name))));
}

// The grantee is a supplier from the directory, or another company by its tenant id.
function chooseKind() {
  const tenant = form.elements.granteeKind.value === "TENANT";
  document.getElementById("grantee-tenant").hidden = !tenant;
  document.getElementById("grantee-supplier").hidden = tenant;
  form.elements.tenant.disabled = !tenant;
  form.elements.supplier.disabled = tenant;
}

async function prepareForm(plant) {
  const clock = zoneClock(zone);
  const wall = (epochMs) => clock.toWall(epochMs).slice(0, 16).replace(" ", "T");
  const hour = Math.floor(Date.now() / HOUR_MS) * HOUR_MS;
  form.elements.from.value = wall(hour - 7 * 24 * HOUR_MS);
  form.elements.to.value = wall(hour);
  form.elements.expires.value = wall(hour + 30 * 24 * HOUR_MS);
  document.getElementById("grant-zone").textContent = t("sharing.zone", { zone });
  const series = document.getElementById("grant-series");
  series.replaceChildren(el("legend", {}, t("sharing.series")), ...[seriesChoice(plant.machines)].flat());
  series.setAttribute("aria-busy", "false");
  const suppliers = (await gql(SUPPLIERS)).suppliers.suppliers;
  form.elements.supplier.replaceChildren(...suppliers.map((s) => el("option", { value: s.id }, s.name)));
  form.elements.granteeKind.addEventListener("change", chooseKind);
  chooseKind();
  form.addEventListener("submit", (event) => create(event).catch((error) => { document.getElementById("grant-outcome").textContent = error.message; }));
}

async function create(event) {
  event.preventDefault();
  const outcome = document.getElementById("grant-outcome");
  const data = new FormData(form);
  const seriesIds = data.getAll("series");
  if (!seriesIds.length) { outcome.textContent = t("sharing.choose_series"); return; }
  const clock = zoneClock(zone);
  const instant = (name) => new Date(clock.fromWall(String(data.get(name)).replace("T", " "))).toISOString();
  const kind = data.get("granteeKind");
  const input = {
    granteeKind: kind, granteeId: String(data.get(kind === "TENANT" ? "tenant" : "supplier")).trim(), seriesIds,
    from: instant("from"), to: instant("to"), granularity: data.get("granularity"), purpose: data.get("purpose"), expiresAt: instant("expires"),
  };
  const result = (await gql(CREATE, { input })).grantData;
  outcome.textContent = result.grant ? t("sharing.created") : refused(result.errors);
  if (result.grant) { form.elements.purpose.value = ""; await fill(grants, loadGiven); }
}

async function start() {
  let plant = { sites: [], machines: [] };
  try {
    plant = await loadPlant({ withLatest: false });
    zone = plant.sites[0]?.timeZone ?? "UTC";
  } catch (error) { say(t("load.failed", { message: error.message })); }
  fill(withMe, loadWithMe);
  if (!form) { return; }  // a member who does not manage grants sees only what was shared with the tenant
  fill(grants, loadGiven);
  await prepareForm(plant);
}

startShell();
start().catch((error) => say(t("load.failed", { message: error.message })));
