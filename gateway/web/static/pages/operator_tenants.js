// Every tenant on the platform, by name, a page at a time; above them, how many live tenants are at each
// smart-factory level now, in all and per supplier.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { pagedTable, stateLabel, tenantPage } from "../lib/portal.js";

const LEVELS = "{ levelDistribution { supplierId levels { level tenants } unassessed } }";

function row(tenant) {
  const cells = [tenant.name, stateLabel(tenant.state), t(`plan.${tenant.planCode}`), tenant.template ? t(`template.${tenant.template}`) : t("none"),
    tenant.supplierId ? el("code", {}, tenant.supplierId) : t("operator.direct")];
  return el("tr", { "data-tenant": tenant.id, "data-state": tenant.state }, cells.map((c) => el("td", {}, c)));
}

// Counts in column order: levels 0 to 5, then the tenants never assessed.
const counts = (entry) => [...entry.levels.map((l) => l.tenants), entry.unassessed];

function levelRow(key, label, values) {
  return el("tr", { "data-supplier": key },
    el("th", { scope: "row" }, label),
    values.map((n, i) => el("td", { "data-level": i < values.length - 1 ? i : "none" }, n)));
}

async function levelTable() {
  const suppliers = (await gql(LEVELS)).levelDistribution;
  if (!suppliers.length) { return muted(t("operator.no_live_tenants")); }
  const rows = suppliers.map((s) => [s.supplierId ?? "direct", s.supplierId ? el("code", {}, s.supplierId) : t("operator.direct"), counts(s)]);
  const total = rows.reduce((sum, [, , values]) => sum.map((n, i) => n + values[i]), rows[0][2].map(() => 0));
  const headers = [t("operator.supplier"), t("operator.below_level_1"),
    ...[1, 2, 3, 4, 5].map((level) => t("operator.level_n", { level })), t("operator.unassessed")];
  return table(t("operator.levels"), headers,
    [levelRow("all", t("operator.all_live"), total), ...rows.map(([key, label, values]) => levelRow(key, label, values))]);
}

const headers = [t("supplier.name"), t("supplier.state"), t("supplier.plan"), t("supplier.template"), t("operator.supplier")];
fill(document.getElementById("levels"), levelTable);
fill(document.getElementById("tenants"), () => pagedTable(t("operator.tenants"), headers, tenantPage, row, t("operator.no_tenants")));
