// Grants tenants gave the supplier (docs/SHARING.md), each exported as a package through `exportGrant` (the
// supplier's admins; tenancy decides and audits every step for the grantor), and the supplier's exports of
// grants with their progress and, once done, the download.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { mutate } from "../lib/portal.js";

const GRANTS = "{ sharedWithMeConnection(first: 200) { nodes { id grantorName granularity purpose from to expiresAt series { name machine } } } }";
const EXPORTS = "{ exportsConnection(first: 50) { nodes { id state grantId createdAt seriesDone seriesTotal error downloadUrl } } }";
const EXPORT = "mutation ($grant: ID!) { exportGrant(grantId: $grant) { export { id } errors { message } } }";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const outcome = document.getElementById("shared-outcome");
const grants = document.getElementById("grants");
const exports = document.getElementById("grant-exports");
let names = new Map();
let polling = null;

function grantRow(grant) {
  const start = el("button", { type: "button", "aria-label": t("shared.export_for", { grantor: grant.grantorName, purpose: grant.purpose }) }, t("shared.export"));
  start.addEventListener("click", async () => {
    start.disabled = true;
    try {
      if (await mutate(outcome, "exportGrant", EXPORT, { grant: grant.id })) {
        outcome.textContent = t("shared.started", { grantor: grant.grantorName });
        await fill(exports, loadExports);
      }
    } finally { start.disabled = false; }
  });
  const series = grant.series.map((s) => `${s.machine} / ${s.name}`).join(", ");
  return el("tr", { "data-grant": grant.id }, [grant.grantorName, grant.purpose, series, t(`sharing.level.${grant.granularity}`),
    `${dateTime(grant.from, zone)} – ${dateTime(grant.to, zone)}`, dateTime(grant.expiresAt, zone), start].map((c) => el("td", {}, c)));
}

function exportRow(found) {
  const done = found.state === "DONE";
  const file = done ? el("a", { href: found.downloadUrl, class: "download", "aria-label": t("exports.download_of", { created: dateTime(found.createdAt, zone) }) }, t("exports.download"))
    : found.error ?? t("exports.series_of", { done: found.seriesDone, total: found.seriesTotal });
  return el("tr", { "data-export": found.id, "data-state": found.state }, [dateTime(found.createdAt, zone),
    names.get(found.grantId) ?? found.grantId, t(`exports.state.${found.state}`), file].map((c) => el("td", {}, c)));
}

async function loadGrants() {
  const found = (await gql(GRANTS)).sharedWithMeConnection.nodes;
  names = new Map(found.map((g) => [g.id, t("exports.shared_by", { grantor: g.grantorName, purpose: g.purpose })]));
  if (!found.length) { return muted(t("shared.grants_empty")); }
  return table(t("shared.grants"), [t("sharing.grantor"), t("sharing.purpose"), t("sharing.series"), t("sharing.level"),
    t("sharing.range"), t("sharing.expires"), t("supplier.actions")], found.map(grantRow));
}

async function loadExports() {
  const found = (await gql(EXPORTS)).exportsConnection.nodes;
  clearTimeout(polling);
  if (found.some((e) => e.state === "QUEUED" || e.state === "RUNNING")) { polling = setTimeout(() => fill(exports, loadExports), 1000); }
  if (!found.length) { return muted(t("exports.empty")); }
  return table(t("shared.exports"), [t("exports.created"), t("exports.what"), t("exports.state"), t("exports.package")], found.map(exportRow));
}

fill(grants, loadGrants).then(() => fill(exports, loadExports));
