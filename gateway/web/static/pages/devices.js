// The tenant's devices and when each was last heard from.
import { gql } from "../lib/api.js";
import { fill, muted, table } from "../lib/dom.js";
import { dateTime, number, t } from "../lib/i18n.js";
import { startShell } from "../lib/shell.js";

const DEVICES = "{ devices { id name revoked lastBatchAt lastPointAt latePoints refusedBatches lastRefusal { at reason } } }";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

async function load() {
  const devices = (await gql(DEVICES)).devices;
  if (!devices.length) { return muted(t("devices.empty")); }
  const when = (ts) => (ts ? dateTime(ts, zone) : t("devices.never"));
  return table(t("devices.title"),
    [t("devices.name"), t("devices.state"), t("devices.last_seen"), t("devices.last_batch"), t("devices.late"), t("devices.refused"), t("devices.last_refusal")],
    devices.map((d) => [d.name, d.revoked ? t("devices.revoked") : t("devices.active"), when(d.lastPointAt), when(d.lastBatchAt),
      number(d.latePoints, 0), number(d.refusedBatches, 0), d.lastRefusal ? `${d.lastRefusal.reason} (${when(d.lastRefusal.at)})` : t("none")]));
}

startShell();
fill(document.getElementById("devices"), load);
