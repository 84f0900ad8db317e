// How alarms look wherever they are listed.
import { el } from "./dom.js";
import { t } from "./i18n.js";

export const ALARM_FIELDS = "id ruleName severity state seriesId deviceId raisedAt value detail acknowledgedAt clearedAt";

export function severityBadge(severity) {
  return el("span", { class: `badge ${severity.toLowerCase()}` }, t(`severity.${severity}`));
}
