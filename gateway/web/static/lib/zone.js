// The time zone a tenant's times are shown in: its (first) site's, as on the plant pages; the browser's
// when the tenant has no site yet.
import { gql } from "./api.js";

const SITES = "{ assets { id kind } }";
const ZONE = "query ($site: ID!) { siteCalendar(siteId: $site) { timeZone } }";

export async function siteZone() {
  const site = (await gql(SITES)).assets.find((a) => a.kind === "site");
  if (!site) { return Intl.DateTimeFormat().resolvedOptions().timeZone; }
  return (await gql(ZONE, { site: site.id })).siteCalendar.timeZone;
}
