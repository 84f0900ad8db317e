// The tenant's people and their roles; owners and admins invite more by email and see who has not joined yet.
// Account dates are in the browser's zone, as on the API key and device pages (no site's clock is involved).
import { gql } from "../lib/api.js";
import { el, fill, muted, table } from "../lib/dom.js";
import { dateTime, t } from "../lib/i18n.js";
import { startShell } from "../lib/shell.js";

const MEMBERS = "query ($after: String) { members(first: 200, after: $after) { nodes { userId email displayName role } pageInfo { endCursor hasNextPage } } }";
const INVITE = "mutation ($email: String!, $role: TenantRole!) { inviteUser(email: $email, role: $role) { invitationId errors { message } } }";
const INVITATIONS = "{ invitations { id email role createdAt expiresAt } }";
const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
const list = document.getElementById("members");
const waiting = document.getElementById("invitations");
const form = document.getElementById("invite-user");

async function load() {
  const people = [];
  let after = null;
  do {
    const page = (await gql(MEMBERS, { after })).members;
    people.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  if (!people.length) { return muted(t("team.empty")); }
  return table(t("team.members"), [t("team.name"), t("team.email"), t("team.role")],
    people.map((p) => el("tr", { "data-member": p.userId }, [p.displayName, p.email, t(`team.role.${p.role}`)].map((c) => el("td", {}, c)))));
}

async function loadInvitations() {
  const open = (await gql(INVITATIONS)).invitations;
  if (!open.length) { return muted(t("team.invitations_empty")); }
  return table(t("team.invitations"), [t("team.email"), t("team.role"), t("team.invited_at"), t("team.invitation_expires")],
    open.map((i) => el("tr", { "data-invitation": i.id }, [i.email, t(`team.role.${i.role}`), dateTime(i.createdAt, zone), dateTime(i.expiresAt, zone)].map((c) => el("td", {}, c)))));
}

async function invite(event) {
  event.preventDefault();
  const data = new FormData(form);
  const email = String(data.get("email")).trim();
  const result = (await gql(INVITE, { email, role: data.get("role") })).inviteUser;
  const outcome = document.getElementById("invite-outcome");
  outcome.textContent = result.invitationId ? t("team.invited", { email }) : t("team.refused", { message: result.errors[0]?.message ?? "" });
  if (result.invitationId) { form.reset(); await fill(waiting, loadInvitations); }
}

startShell();
form?.addEventListener("submit", (event) => invite(event).catch((error) => { document.getElementById("invite-outcome").textContent = error.message; }));
fill(list, load);
if (waiting) { fill(waiting, loadInvitations); }
