"""The signed-in user's own browser sessions: list them, end any of them (a lost laptop, a shared PC)."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.errors import ApiError
from gateway.graphql.permissions import IsSignedIn
from gateway.graphql.scalars import Timestamp


@strawberry.type(description="A browser session of the signed-in user.")
class BrowserSession:
    id: strawberry.ID = strawberry.field(description="A public id of the session (never its cookie).")
    created_at: Timestamp = strawberry.field(description="When the user signed in.")
    origin: str = strawberry.field(description="The address the sign-in came from.")
    user_agent: str = strawberry.field(description="The browser that signed in.")
    current: bool = strawberry.field(description="True for the session making this request.")


@strawberry.type(description="The outcome of ending a session.")
class RevokeSessionPayload:
    revoked: bool = strawberry.field(description="False when no such session of yours exists.")


def _own_session(info: Info):
    session = info.context.session
    if session is None:
        raise ApiError("only a signed-in browser session has sessions (not an API key)", "FORBIDDEN")
    return session


@strawberry.type
class AccountQuery:
    @strawberry.field(permission_classes=[IsSignedIn], description="Your browser sessions in this tenant.")
    async def sessions(self, info: Info) -> list[BrowserSession]:
        current = _own_session(info)
        found = await info.context.sessions.list_for(current)
        return [
            BrowserSession(
                id=strawberry.ID(s.public_id),
                created_at=int(s.created_at * 1e9),
                origin=s.origin,
                user_agent=s.user_agent,
                current=s.public_id == current.public_id,
            )
            for s in found
        ]


@strawberry.type
class AccountMutation:
    @strawberry.mutation(
        permission_classes=[IsSignedIn], description="End one of your browser sessions at once."
    )
    async def revoke_session(self, info: Info, id: strawberry.ID) -> RevokeSessionPayload:
        current = _own_session(info)
        return RevokeSessionPayload(revoked=await info.context.sessions.revoke(current, str(id)))
