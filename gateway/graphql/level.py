"""The smart-factory level (levels 1 basic to 5 autonomous) of the caller's tenant, with the evidence
behind each criterion, what is missing for the next level, and the daily history (docs/ANALYTICS.md,
"Smart-factory level")."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from gateway.graphql.permissions import CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import From, _range
from sfcloud.v1 import level_pb2 as pb


@strawberry.type(description="One criterion of a level, judged from what the tenant does on the platform.")
class LevelCriterion:
    level: int = strawberry.field(description="The level (1-5) the criterion belongs to.")
    name: str = strawberry.field(description="A stable name, e.g. machines_registered.")
    met: bool = strawberry.field(description="Whether it holds.")
    evidence: str = strawberry.field(description="What was found, with the numbers.")


@strawberry.type(description="A smart-factory level assessment.")
class SmartFactoryLevel:
    level: int = strawberry.field(
        description="The highest level whose criteria and all lower levels' hold (0: not even level 1)."
    )
    criteria: list[LevelCriterion] = strawberry.field(description="Every criterion of levels 1-5.")
    next_steps: list[str] = strawberry.field(description="What is missing for the next level.")
    assessed_at: Timestamp = strawberry.field(description="When it was assessed.")
    day: str = strawberry.field(description="The UTC day it is stored under (YYYY-MM-DD).")

    @classmethod
    def from_pb(cls, a: pb.LevelAssessment) -> SmartFactoryLevel:
        return cls(
            level=a.level,
            criteria=[
                LevelCriterion(level=c.level, name=c.name, met=c.met, evidence=c.evidence) for c in a.criteria
            ],
            next_steps=list(a.next_steps),
            assessed_at=a.assessed_ns,
            day=a.day,
        )


READ = [IsSignedIn, CanReadTenant]


@strawberry.type
class LevelQuery:
    @strawberry.field(
        permission_classes=READ,
        description="The tenant's smart-factory level now, with the evidence and next steps; stored as"
        " today's assessment.",
    )
    async def smart_factory_level(self, info: Info) -> SmartFactoryLevel:
        ctx = info.context
        response = await ctx.backends.call(ctx.backends.level.Assess, pb.AssessRequest(), ctx.principal)
        return SmartFactoryLevel.from_pb(response.assessment)

    @strawberry.field(
        permission_classes=READ,
        description="The stored daily assessments made in [from, to), oldest first (at most 366 days).",
    )
    async def level_history(self, info: Info, from_: From, to: Timestamp) -> list[SmartFactoryLevel]:
        ctx = info.context
        request = pb.HistoryRequest(range=_range(from_, to))
        response = await ctx.backends.call(ctx.backends.level.History, request, ctx.principal)
        return [SmartFactoryLevel.from_pb(a) for a in response.assessments]
