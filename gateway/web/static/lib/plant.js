// The tenant's plant: sites → lines → machines with their series, and each site's time zone.
import { gql } from "./api.js";

// `latest` is asked only where it is shown: 500 series' newest values cost the machine page time it needs for charts.
const plantQuery = (withLatest) => `{
  assets { id parentId kind name }
  machines { id name series { id name unit kind decimals ${withLatest ? "latest { timestamp value }" : ""} } }
}`;
const ZONE = "query ($site: ID!) { siteCalendar(siteId: $site) { timeZone shifts { startMinute } } }";

export const STATE_CLASS = { 0: "idle", 1: "run", 2: "down" };

export async function loadPlant({ withLatest = true } = {}) {
  const data = await gql(plantQuery(withLatest));
  const assets = new Map(data.assets.map((a) => [a.id, { ...a, children: [] }]));
  for (const asset of assets.values()) { assets.get(asset.parentId)?.children.push(asset); }
  const ancestor = (id, kind) => {
    let asset = assets.get(id);
    while (asset && asset.kind !== kind) { asset = assets.get(asset.parentId); }
    return asset;
  };
  const sites = [...assets.values()].filter((a) => a.kind === "site");
  const calendars = await Promise.all(sites.map((s) => gql(ZONE, { site: s.id }).then((d) => d.siteCalendar)));
  sites.forEach((site, i) => {
    site.timeZone = calendars[i].timeZone;
    // a production day starts with its first shift (a night shift past midnight still belongs to it)
    const starts = calendars[i].shifts.map((shift) => shift.startMinute);
    site.dayStartMinute = starts.length ? Math.min(...starts) : 0;
    site.lines = new Map();
  });
  const machines = data.machines.map((m) => {
    const line = ancestor(m.id, "line");
    const site = ancestor(m.id, "site");
    return { ...m, line: line?.name ?? "", lineId: line?.id, site, state: m.series.find((s) => s.kind === "state") };
  });
  for (const machine of machines) {
    if (!machine.site) { continue; }
    const lines = machine.site.lines;
    if (!lines.has(machine.line)) { lines.set(machine.line, []); }
    lines.get(machine.line).push(machine);
  }
  return { sites, machines };
}
