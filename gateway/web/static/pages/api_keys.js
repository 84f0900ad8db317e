// The tenant's API keys: create one (its key is shown this once) and revoke.
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { startShell } from "../lib/shell.js";

const KEYS = "{ apiKeys { id name prefix scopes createdAt expiresAt lastUsedAt revoked } }";
const CREATE = `mutation ($name: String!, $scopes: [ApiKeyScope!]!, $days: Int!) {
  createApiKey(name: $name, scopes: $scopes, expiresInDays: $days) { key errors { message } }
}`;
const REVOKE = "mutation ($id: ID!) { revokeApiKey(id: $id) { revoked errors { message } } }";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const list = document.getElementById("keys");
const outcome = document.getElementById("key-outcome");

async function revoke(key) {
  if (!window.confirm(t("keys.revoke_confirm", { name: key.name }))) { return; }
  const result = (await gql(REVOKE, { id: key.id })).revokeApiKey;
  outcome.textContent = result.errors.length ? t("keys.refused", { message: result.errors[0].message }) : "";
  await fill(list, load);
}

async function load() {
  const keys = (await gql(KEYS)).apiKeys;
  if (!keys.length) { return muted(t("keys.empty")); }
  const when = (ts) => (ts ? dateTime(ts, zone) : t("keys.never"));
  return table(t("keys.title"),
    [t("keys.name"), t("keys.prefix"), t("keys.scopes"), t("keys.created_at"), t("keys.last_used"), t("keys.expires"), t("keys.state")],
    keys.map((k) => el("tr", { "data-key": k.id },
      [k.name, el("code", {}, k.prefix), k.scopes.map((s) => t(`keys.scope.${s}`)).join(", "), when(k.createdAt), when(k.lastUsedAt), when(k.expiresAt),
        k.revoked ? t("keys.revoked") : el("button", { type: "button", class: "danger", onclick: () => revoke(k) }, t("keys.revoke"))]
        .map((c) => el("td", {}, c)))));
}

async function create(event) {
  event.preventDefault();
  const form = new FormData(event.target);
  const variables = { name: form.get("name"), scopes: form.getAll("scopes"), days: Number(form.get("expires") || 0) };
  const result = (await gql(CREATE, variables)).createApiKey;
  document.getElementById("new-key").hidden = !result.key;
  document.getElementById("new-key-value").textContent = result.key ?? "";
  outcome.textContent = result.errors.length ? t("keys.refused", { message: result.errors[0].message }) : "";
  if (result.key) { event.target.reset(); await fill(list, load); }
}

startShell();
document.getElementById("create-key").addEventListener("submit", (event) => create(event).catch((error) => { outcome.textContent = error.message; }));
fill(list, load);
