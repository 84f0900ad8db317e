// What every signed-in page shares: the retention banner, the language switch keeping the query, and
// failures said on the status line.
import { gql } from "./api.js";
import { t, ms, localDay } from "./i18n.js";
import { say } from "./status.js";

const RETENTION = "{ retentionNotice { deletesBefore oldestEnd retentionDays planCode effectiveAt } }";

// While retention will delete some of the tenant's data within the week, a banner says what and how to keep it.
async function showRetention() {
  const notice = (await gql(RETENTION)).retentionNotice;
  const banner = document.getElementById("retention");
  banner.hidden = !notice;
  if (!notice) { return; }
  const day = (ts) => localDay(ms(ts), "UTC");
  const from = ms(notice.effectiveAt) > Date.now() ? t("retention.from", { date: day(notice.effectiveAt) }) : "";
  banner.textContent = t("retention.notice", {
    deletesBefore: day(notice.deletesBefore), oldestEnd: day(notice.oldestEnd), from, plan: notice.planCode, days: notice.retentionDays,
  });
}

// The language switch returns to the page as it is now, with its query (a machine page's ?range=…, the
// utilisation report's month and page).
export function keepQueryOnLanguageSwitch() {
  const form = document.querySelector("form[action='/lang']");
  form?.addEventListener("submit", () => { form.elements.next.value = location.pathname + location.search; });
}

export function startShell() {
  keepQueryOnLanguageSwitch();
  showRetention().catch((error) => say(t("load.failed", { message: error.message })));
}
