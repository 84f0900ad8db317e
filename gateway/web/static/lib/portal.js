// What the supplier and operator portals share: lists a page at a time, the tenants they may run,
// mutations with typed errors said on an outcome line, and CSV files built in the browser.
import { gql } from "./api.js";
import { el, muted, table } from "./dom.js";
import { t } from "./i18n.js";

export const TENANT_FIELDS = "id name planCode supplierId state template";
const TENANTS = `query ($after: String) { tenants(first: 200, after: $after) { nodes { ${TENANT_FIELDS} } pageInfo { endCursor hasNextPage } } }`;

// A connection's pages as a table that grows: `load(after)` answers { nodes, pageInfo }; the "More" button
// asks for the next page while there is one. `row(node)` makes a <tr>.
export async function pagedTable(caption, headers, load, row, empty) {
  const first = await load(null);
  if (!first.nodes.length) { return muted(empty); }
  const shown = table(caption, headers, first.nodes.map(row));
  const body = shown.querySelector("tbody");
  const more = el("button", { type: "button", class: "more", hidden: !first.pageInfo.hasNextPage }, t("portal.more"));
  let after = first.pageInfo.endCursor;
  more.addEventListener("click", async () => {
    more.disabled = true;
    const next = await load(after);
    body.append(...next.nodes.map(row));
    after = next.pageInfo.endCursor;
    more.hidden = !next.pageInfo.hasNextPage;
    more.disabled = false;
  });
  return [shown, more];
}

export const tenantPage = async (after) => (await gql(TENANTS, { after })).tenants;

// Every tenant the user may see (for names in usage and tickets): all pages.
export async function allTenants() {
  const tenants = [];
  let after = null;
  do {
    const page = await tenantPage(after);
    tenants.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return tenants;
}

// Runs a mutation whose payload carries `errors`; says the refusal on `outcome` and answers null then.
export async function mutate(outcome, field, query, variables) {
  try {
    const payload = (await gql(query, variables))[field];
    if (!payload.errors.length) { return payload; }
    outcome.textContent = t("portal.refused", { message: payload.errors[0].message });
  } catch (error) {
    outcome.textContent = t("portal.refused", { message: error.message });
  }
  return null;
}

// A small form in a table row: labelled controls and a submit button; `submit(form data)` on submit.
export function rowForm(controls, label, submit) {
  return el("form", {
    class: "row-actions",
    onsubmit: (event) => { event.preventDefault(); submit(new FormData(event.target)); },
  }, controls, el("button", { type: "submit" }, label));
}

export const labelled = (text, control) => el("label", {}, text, " ", control);

// A download of rows as CSV (quoted where needed), made in the browser from data already loaded.
export function csvLink(filename, header, rows) {
  const quote = (v) => (/[",\n]/.test(String(v)) ? `"${String(v).replaceAll('"', '""')}"` : String(v));
  const text = [header, ...rows].map((r) => r.map(quote).join(",")).join("\n") + "\n";
  const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
  return el("a", { href: url, download: filename, class: "download" }, t("portal.csv"));
}

export const stateLabel = (state) => el("span", { class: `badge sub-${state.toLowerCase()}` }, t(`subscription.${state}`));
