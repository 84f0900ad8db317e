// The tenant's exports (docs/DATA-MODEL.md): start one of the whole tenant, with CSV files beside the
// Parquet ones if asked; the list, newest first, with each running export's progress followed live (its
// `export(id)` asked every POLL_MS until it is done or failed) and the package's download once done.
// Exports of data shared with the tenant start on the sharing page and are listed here too.
import { gql } from "../lib/api.js";
import { el, fill } from "../lib/dom.js";
import { dateTime, locale, number, t } from "../lib/i18n.js";
import { pagedTable } from "../lib/portal.js";
import { startShell } from "../lib/shell.js";
import { say } from "../lib/status.js";
import { siteZone } from "../lib/zone.js";

const FIELDS = "id state pointsDone pointsTotal seriesDone seriesTotal withCsv createdAt startedAt finishedAt bytes error downloadUrl grantId";
const LIST = `query ($after: String) { exportsConnection(first: 50, after: $after) { nodes { ${FIELDS} } pageInfo { endCursor hasNextPage } } }`;
const ONE = `query ($id: ID!) { export(id: $id) { ${FIELDS} } }`;
const START = `mutation ($withCsv: Boolean!) { requestExport(withCsv: $withCsv) { export { ${FIELDS} } errors { message } } }`;
const GRANTS = "{ sharedWithMeConnection(includeEnded: true, first: 200) { nodes { id grantorName purpose } } }";
const POLL_MS = 1500;
const RUNNING = new Set(["QUEUED", "RUNNING"]);
const STATE_BADGE = { QUEUED: "info", RUNNING: "info", DONE: "met", FAILED: "critical" };

const form = document.getElementById("start-export");
const container = document.getElementById("exports");
const outcome = document.getElementById("export-outcome");
const followed = new Set();
let zone = "UTC";
let grants = new Map();
let polling = null;

function size(bytes) {
  const [value, unit] = bytes >= 1e6 ? [bytes / 1e6, "megabyte"] : [bytes / 1e3, "kilobyte"];
  return new Intl.NumberFormat(locale, { style: "unit", unit, maximumFractionDigits: 1 }).format(value);
}

function what(e) {
  if (!e.grantId) { return t("exports.own_data"); }
  const grant = grants.get(e.grantId);
  return grant ? t("exports.shared_by", { grantor: grant.grantorName, purpose: grant.purpose }) : t("exports.shared_data");
}

function progress(e) {
  if (e.state === "FAILED") { return el("span", { class: "error" }, e.error ?? t("none")); }
  const points = Number(e.pointsDone);
  const total = Number(e.pointsTotal);
  const label = total
    ? t("exports.points_of", { done: number(points, 0), total: number(total, 0) })
    : t("exports.points", { done: number(points, 0) });
  const series = t("exports.series_of", { done: number(e.seriesDone, 0), total: number(e.seriesTotal, 0) });
  const bar = e.state === "DONE" ? null
    : el("progress", { max: total || null, value: total ? Math.min(points, total) : null, "aria-label": t("exports.progress_of", { created: dateTime(e.createdAt, zone) }) });
  return el("div", {}, bar, " ", `${label} · ${series}`);
}

function row(e) {
  const download = e.downloadUrl
    ? el("a", { href: e.downloadUrl, download: "", class: "download-package", "aria-label": t("exports.download_of", { created: dateTime(e.createdAt, zone) }) }, t("exports.download"))
    : t("none");
  if (RUNNING.has(e.state)) { follow(e.id); }
  return el("tr", { "data-export": e.id, "data-state": e.state, "data-grant": e.grantId ?? "" },
    [dateTime(e.createdAt, zone), what(e), e.withCsv ? t("exports.parquet_csv") : t("exports.parquet"),
      el("span", { class: `badge ${STATE_BADGE[e.state]}` }, t(`exports.state.${e.state}`)), progress(e),
      e.state === "DONE" ? size(Number(e.bytes)) : t("none"), dateTime(e.finishedAt, zone), download].map((c) => el("td", {}, c)));
}

// Each export still queued or running is asked again every POLL_MS; its row is replaced by what it answers.
function follow(id) {
  followed.add(id);
  polling ??= setTimeout(poll, POLL_MS);
}

async function poll() {
  const ids = [...followed];
  followed.clear();
  try {
    const found = await Promise.all(ids.map(async (id) => (await gql(ONE, { id })).export));
    for (const e of found) {
      container.querySelector(`tr[data-export="${CSS.escape(e.id)}"]`)?.replaceWith(row(e));
      if (e.state === "DONE") { outcome.textContent = t("exports.finished", { created: dateTime(e.createdAt, zone) }); }
      if (e.state === "FAILED") { outcome.textContent = t("exports.failed", { created: dateTime(e.createdAt, zone) }); }
    }
  } catch (error) {
    ids.forEach((id) => followed.add(id));
    say(t("load.failed", { message: error.message }));
  }
  polling = followed.size ? setTimeout(poll, POLL_MS) : null;
}

async function load() {
  const page = async (after) => (await gql(LIST, { after })).exportsConnection;
  return pagedTable(t("exports.list"), [t("exports.created"), t("exports.what"), t("exports.format"), t("exports.state"),
    t("exports.progress"), t("exports.size"), t("exports.finished_at"), t("exports.package")], page, row, t("exports.empty"));
}

async function start(event) {
  event.preventDefault();
  outcome.textContent = "";
  try {
    const result = (await gql(START, { withCsv: form.elements.withCsv.checked })).requestExport;
    if (result.errors.length) {
      outcome.textContent = t("portal.refused", { message: result.errors[0].message });
      return;
    }
    outcome.textContent = t("exports.started");
  } catch (error) {
    outcome.textContent = t("portal.refused", { message: error.message });
    return;
  }
  await fill(container, load);
}

async function main() {
  if (!form) { return; }  // exports are for owners and admins
  zone = await siteZone();
  const shared = (await gql(GRANTS)).sharedWithMeConnection.nodes;
  grants = new Map(shared.map((g) => [g.id, g]));
  form.addEventListener("submit", start);
  await fill(container, load);
}

startShell();
main().catch((error) => say(t("load.failed", { message: error.message })));
