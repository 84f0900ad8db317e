// The supplier's staff and their roles; its admins invite more by email and see who has not joined yet
// (tenancy shows the open invitations to admins only, and the page offers them to admins only).
import { startTeam } from "../lib/team.js";

startTeam({
  members: ["query ($after: String) { supplierStaff(first: 200, after: $after) { nodes { userId email displayName role } pageInfo { endCursor hasNextPage } } }", "supplierStaff"],
  invitations: ["{ supplierInvitations { id email role createdAt expiresAt } }", "supplierInvitations"],
  invite: ["mutation ($email: String!, $role: StaffRole!) { inviteStaff(email: $email, role: $role) { invitationId errors { message } } }", "inviteStaff"],
  roles: "staff.role",
});
