// The report centre: every report filed, moved received → investigating → closed (closing records the
// note as the outcome; docs/PROGRAMME.md).
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { labelled, mutate, rowForm } from "../lib/portal.js";

const FIELDS = "id category supplierName subject body status outcome createdAt reporter reporterOrganisation";
const REPORTS = `{ reportsConnection(first: 200) { nodes { ${FIELDS} } } }`;
const MOVE = `mutation ($id: ID!, $status: ReportStatus!, $note: String!) { moveReport(id: $id, status: $status, note: $note) { report { ${FIELDS} } errors { message } } }`;
const NEXT = { RECEIVED: ["INVESTIGATING", "CLOSED"], INVESTIGATING: ["CLOSED"], CLOSED: [] };
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const outcome = document.getElementById("report-outcome");

function actions(report) {
  if (!NEXT[report.status].length) { return report.outcome ?? t("none"); }
  const status = el("select", { name: "status" }, NEXT[report.status].map((s) => el("option", { value: s }, t(`report.${s}`))));
  return rowForm([labelled(t("tickets.move_to"), status), labelled(t("reports.note"), el("input", { name: "note", maxlength: "10000" }))],
    t("tickets.move"), async (form) => {
      const done = await mutate(outcome, "moveReport", MOVE, { id: report.id, status: form.get("status"), note: form.get("note") });
      if (!done) { return; }
      outcome.textContent = t("reports.moved", { subject: done.report.subject, status: t(`report.${done.report.status}`) });
      document.querySelector(`tr[data-report="${CSS.escape(report.id)}"]`).replaceWith(row(done.report));
    });
}

function row(report) {
  const about = report.supplierName ? `${t(`report.${report.category}`)} · ${report.supplierName}` : t(`report.${report.category}`);
  const cells = [dateTime(report.createdAt, zone), about, el("div", {}, el("strong", {}, report.subject), el("p", { class: "muted" }, report.body)),
    `${report.reporter}${report.reporterOrganisation ? ` (${report.reporterOrganisation})` : ""}`, t(`report.${report.status}`), actions(report)];
  return el("tr", { "data-report": report.id, "data-status": report.status }, cells.map((c) => el("td", {}, c)));
}

async function load() {
  const reports = (await gql(REPORTS)).reportsConnection.nodes;
  if (!reports.length) { return muted(t("reports.empty")); }
  return table(t("reports.title"), [t("tickets.opened"), t("reports.about"), t("tickets.subject"), t("reports.reporter"), t("tickets.status"),
    t("supplier.actions")], reports.map(row));
}

fill(document.getElementById("reports"), load);
