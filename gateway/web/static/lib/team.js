// A team's people and its open invitations as tables, and the form that invites one more: the tenant's Team
// page and the supplier portal's Staff page list and invite alike, each through its own GraphQL fields and
// role names. Dates are in the browser's zone (no site's clock is involved).
import { gql } from "./api.js";
import { el, fill, muted, table } from "./dom.js";
import { dateTime, t } from "./i18n.js";

const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;

// Every node of a connection field, a page after another (a team is small: a few pages at most).
async function everyNode(query, field) {
  const nodes = [];
  let after = null;
  do {
    const page = (await gql(query, { after }))[field];
    nodes.push(...page.nodes);
    after = page.pageInfo.hasNextPage ? page.pageInfo.endCursor : null;
  } while (after);
  return nodes;
}

// `members`, `invitations`, `invite`: [GraphQL document, its field]; `roles`: the prefix of the roles' keys.
// Without the invite form on the page (people who do not invite), only the people are shown.
export function startTeam({ members, invitations, invite, roles }) {
  const role = (name) => t(`${roles}.${name}`);
  const list = document.getElementById("members");
  const waiting = document.getElementById("invitations");
  const form = document.getElementById("invite-user");
  const outcome = document.getElementById("invite-outcome");

  async function loadMembers() {
    const people = await everyNode(...members);
    if (!people.length) { return muted(t("team.empty")); }
    return table(t("team.members"), [t("team.name"), t("team.email"), t("team.role")],
      people.map((p) => el("tr", { "data-member": p.userId }, [p.displayName, p.email, role(p.role)].map((c) => el("td", {}, c)))));
  }

  async function loadInvitations() {
    const open = (await gql(invitations[0]))[invitations[1]];
    if (!open.length) { return muted(t("team.invitations_empty")); }
    return table(t("team.invitations"), [t("team.email"), t("team.role"), t("team.invited_at"), t("team.invitation_expires")],
      open.map((i) => el("tr", { "data-invitation": i.id }, [i.email, role(i.role), dateTime(i.createdAt, zone), dateTime(i.expiresAt, zone)].map((c) => el("td", {}, c)))));
  }

  async function send(event) {
    event.preventDefault();
    const data = new FormData(form);
    const email = String(data.get("email")).trim();
    const result = (await gql(invite[0], { email, role: data.get("role") }))[invite[1]];
    outcome.textContent = result.invitationId ? t("team.invited", { email }) : t("team.refused", { message: result.errors[0]?.message ?? "" });
    if (result.invitationId) { form.reset(); await fill(waiting, loadInvitations); }
  }

  form?.addEventListener("submit", (event) => send(event).catch((error) => { outcome.textContent = error.message; }));
  fill(list, loadMembers);
  if (waiting) { fill(waiting, loadInvitations); }
}
