// The page's language: its dictionary (a JSON data block the server put in the page), and dates and
// numbers in the user's locale and a site's time zone.
const messages = JSON.parse(document.getElementById("messages").textContent);
const lang = document.documentElement.lang;
// The browser's own locale when it speaks the page's language (en-GB dates for a British user), else the language.
export const locale = navigator.languages.find((l) => l.split("-")[0] === lang) ?? lang;

export function t(key, params = {}) {
  const text = messages[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// RFC 3339 with up to nanoseconds → epoch milliseconds (Date.parse wants at most milliseconds).
export const ms = (ts) => Date.parse(ts.replace(/(\.\d{3})\d+/, "$1"));

const formats = new Map();
function cached(key, make) {
  if (!formats.has(key)) { formats.set(key, make()); }
  return formats.get(key);
}

export function dateTime(ts, timeZone = "UTC") {
  if (!ts) { return t("none"); }
  const format = cached(`dt|${timeZone}`, () => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone }));
  return format.format(ms(ts));
}

export function number(value, decimals = 2) {
  if (value === null || value === undefined) { return t("none"); }
  const format = cached(`n|${decimals}`, () => new Intl.NumberFormat(locale, { minimumFractionDigits: decimals, maximumFractionDigits: decimals }));
  return format.format(value);
}

export function percent(fraction) {
  if (fraction === null || fraction === undefined) { return t("none"); }
  const format = cached("pct", () => new Intl.NumberFormat(locale, { style: "percent", minimumFractionDigits: 1, maximumFractionDigits: 1 }));
  return format.format(fraction);
}

// A local day (YYYY-MM-DD, what the OEE report's `date` is) as the user's locale writes it; the day is
// already the site's, so it is formatted in UTC to stay that day.
export function day(date) {
  const format = cached("day", () => new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeZone: "UTC" }));
  return format.format(Date.parse(`${date}T00:00:00Z`));
}

// The local calendar day (YYYY-MM-DD) in a time zone: what the plant report's `date` means.
export function localDay(date, timeZone) {
  return new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }).format(date);
}

// Plotly's date axes know no time zones: charts get wall-clock strings of the site's zone, and zoom
// ranges come back as such strings. Offsets are cached per hour (zones change on whole hours).
export function zoneClock(timeZone) {
  const parts = new Intl.DateTimeFormat("en-US", { timeZone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const offsets = new Map();
  const offset = (epochMs) => {
    const hour = Math.floor(epochMs / 3600000) * 3600000;
    if (!offsets.has(hour)) {
      const p = Object.fromEntries(parts.formatToParts(hour).map((part) => [part.type, Number(part.value)]));
      offsets.set(hour, Date.UTC(p.year, p.month - 1, p.day, p.hour, p.minute, p.second) - hour);
    }
    return offsets.get(hour);
  };
  return {
    toWall: (epochMs) => new Date(epochMs + offset(epochMs)).toISOString().slice(0, 23).replace("T", " "),
    fromWall: (text) => {
      const naive = Date.parse(`${text.replace(" ", "T").slice(0, 23)}Z`);
      return naive - offset(naive - offset(naive));
    },
  };
}
