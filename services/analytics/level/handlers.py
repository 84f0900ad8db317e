"""gRPC ⇄ domain translation for LevelService (the smart-factory level)."""

from __future__ import annotations

from services.analytics.level.service import Dated, LevelService
from services.runtime.principal import current_principal
from sfcloud.v1 import level_pb2 as pb
from sfcloud.v1 import level_pb2_grpc


class LevelHandlers(level_pb2_grpc.LevelServiceServicer):
    def __init__(self, service: LevelService) -> None:
        self._service = service

    async def Assess(self, request: pb.AssessRequest, context) -> pb.AssessResponse:
        return pb.AssessResponse(assessment=assessment_pb(await self._service.assess(current_principal())))

    async def History(self, request: pb.HistoryRequest, context) -> pb.HistoryResponse:
        found = await self._service.history(current_principal(), request.range.start_ns, request.range.end_ns)
        return pb.HistoryResponse(assessments=[assessment_pb(d) for d in found])


def assessment_pb(dated: Dated) -> pb.LevelAssessment:
    a = dated.assessment
    return pb.LevelAssessment(
        level=a.level,
        criteria=[
            pb.LevelCriterion(level=f.level, name=f.name, met=f.met, evidence=f.evidence) for f in a.findings
        ],
        next_steps=list(a.next_steps),
        assessed_ns=dated.at_ns,
        day=dated.day.isoformat(),
    )
