// The tenant's people and their roles; owners and admins invite more by email and see who has not joined yet.
import { startShell } from "../lib/shell.js";
import { startTeam } from "../lib/team.js";

startShell();
startTeam({
  members: ["query ($after: String) { members(first: 200, after: $after) { nodes { userId email displayName role } pageInfo { endCursor hasNextPage } } }", "members"],
  invitations: ["{ invitations { id email role createdAt expiresAt } }", "invitations"],
  invite: ["mutation ($email: String!, $role: TenantRole!) { inviteUser(email: $email, role: $role) { invitationId errors { message } } }", "inviteUser"],
  roles: "team.role",
});
