// Every tenant on the platform, by name, a page at a time.
import { el, fill } from "../lib/dom.js";
import { t } from "../lib/i18n.js";
import { pagedTable, stateLabel, tenantPage } from "../lib/portal.js";

function row(tenant) {
  const cells = [tenant.name, stateLabel(tenant.state), t(`plan.${tenant.planCode}`), tenant.template ? t(`template.${tenant.template}`) : t("none"),
    tenant.supplierId ? el("code", {}, tenant.supplierId) : t("operator.direct")];
  return el("tr", { "data-tenant": tenant.id, "data-state": tenant.state }, cells.map((c) => el("td", {}, c)));
}

const headers = [t("supplier.name"), t("supplier.state"), t("supplier.plan"), t("supplier.template"), t("operator.supplier")];
fill(document.getElementById("tenants"), () => pagedTable(t("operator.tenants"), headers, tenantPage, row, t("operator.no_tenants")));
