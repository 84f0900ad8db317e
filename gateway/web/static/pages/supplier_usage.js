// A month's metered usage of each tenant the supplier resells, and the month's daily rows as a CSV
// file (the billing export), built here from the same `usage` answer.
import { gql } from "../lib/api.js";
import { fill, muted, table } from "../lib/dom.js";
import { number, t } from "../lib/i18n.js";
import { allTenants, csvLink } from "../lib/portal.js";

const USAGE = "query ($first: Date!, $last: Date!) { usage(firstDay: $first, lastDay: $last) { tenantId day points bytesStored activeDevices apiCalls } }";
const month = document.getElementById("usage-month");
const container = document.getElementById("usage");
month.value = new Date().toISOString().slice(0, 7);

// The month's first and last UTC day ("2026-12" → 2026-12-01, 2026-12-31).
function days(yearMonth) {
  const [year, m] = yearMonth.split("-").map(Number);
  return { first: `${yearMonth}-01`, last: new Date(Date.UTC(year, m, 0)).toISOString().slice(0, 10) };
}

async function load() {
  const [tenants, data] = await Promise.all([allTenants(), gql(USAGE, days(month.value))]);
  const names = new Map(tenants.map((tenant) => [tenant.id, tenant.name]));
  const totals = new Map(tenants.map((tenant) => [tenant.id, { days: 0, points: 0, bytes: 0, devices: 0, apiCalls: 0 }]));
  for (const day of data.usage) {
    const total = totals.get(day.tenantId);
    if (!total) { continue; } // a tenant that has since left the supplier
    total.days += day.points > 0 ? 1 : 0;
    total.points += day.points;
    total.bytes += day.bytesStored;
    total.apiCalls += day.apiCalls;
    total.devices = Math.max(total.devices, day.activeDevices);
  }
  if (!tenants.length) { return muted(t("supplier.empty")); }
  const rows = [...totals].map(([id, s]) => [names.get(id), number(s.days, 0), number(s.points, 0), number(s.bytes / 1e6, 2),
    number(s.devices, 0), number(s.apiCalls, 0)]);
  const csv = data.usage.filter((d) => names.has(d.tenantId))
    .map((d) => [d.tenantId, names.get(d.tenantId), d.day, d.points, d.bytesStored, d.activeDevices, d.apiCalls]);
  return [
    table(t("usage.title"), [t("usage.tenant"), t("usage.days"), t("usage.points"), t("usage.megabytes"), t("usage.devices"), t("usage.api_calls")], rows),
    csvLink(`usage-${month.value}.csv`, ["tenant_id", "tenant", "day", "points", "bytes_stored", "active_devices", "api_calls"], csv),
  ];
}

month.addEventListener("change", () => { if (month.value) { fill(container, load); } });
fill(container, load);
