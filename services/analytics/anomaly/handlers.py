"""gRPC ⇄ domain translation for AnomalyService."""

from __future__ import annotations

from services.analytics.anomaly.service import AnomalyService
from services.analytics.anomaly.storage import StoredAnomaly, StoredModel
from services.runtime.principal import current_principal
from sfcloud.v1 import anomaly_pb2 as pb
from sfcloud.v1 import anomaly_pb2_grpc, common_pb2


class AnomalyHandlers(anomaly_pb2_grpc.AnomalyServiceServicer):
    def __init__(self, service: AnomalyService) -> None:
        self._service = service

    async def TrainModel(self, request: pb.TrainModelRequest, context) -> pb.TrainModelResponse:
        r = request.reference
        stored = await self._service.train(
            current_principal(), request.machine_id, r.start_ns, r.end_ns, request.step_ns
        )
        return pb.TrainModelResponse(model=model_pb(stored))

    async def GetModel(self, request: pb.GetModelRequest, context) -> pb.GetModelResponse:
        return pb.GetModelResponse(
            model=model_pb(await self._service.model(current_principal(), request.machine_id))
        )

    async def ListAnomalies(self, request: pb.ListAnomaliesRequest, context) -> pb.ListAnomaliesResponse:
        found, token = await self._service.anomalies(
            current_principal(),
            request.machine_id,
            request.range.start_ns,
            request.range.end_ns,
            request.limit,
            request.page_token,
        )
        return pb.ListAnomaliesResponse(anomalies=[anomaly_pb(a) for a in found], next_page_token=token)


def model_pb(m: StoredModel) -> pb.AnomalyModel:
    return pb.AnomalyModel(
        machine_id=str(m.machine_id),
        series_ids=[str(s) for s in m.series_ids],
        excluded=[pb.ExcludedSeries(**e) for e in m.model.get("excluded", [])],
        reference=common_pb2.TimeRange(start_ns=m.reference_start_ns, end_ns=m.reference_end_ns),
        reference_rows=m.reference_rows,
        step_ns=m.step_ns,
        threshold=m.model["threshold"],
        scored_until_ns=m.scored_until_ns,
        trained_ns=int(m.trained_at.timestamp() * 1e9),
    )


def anomaly_pb(a: StoredAnomaly) -> pb.Anomaly:
    return pb.Anomaly(
        id=str(a.id),
        machine_id=str(a.machine_id),
        start_ns=a.start_ns,
        end_ns=a.end_ns or 0,
        series_ids=[str(s) for s in a.series_ids],
        peak_score=a.peak_score,
        threshold=a.threshold,
    )
