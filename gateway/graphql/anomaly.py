"""Anomaly detection per machine (docs/ANALYTICS.md, "Anomaly detection"): fit a machine's model on a
reference period, read it, and list the anomalies the worker found with the series behind each."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncGenerator
from typing import Annotated

import strawberry
from strawberry.types import Info

from gateway.graphql.live import EventQueue
from gateway.graphql.paging import PageInfo, checked_first, page_info_from
from gateway.graphql.payloads import UserError, attempt
from gateway.graphql.permissions import CanConfigureTenant, CanReadTenant, IsSignedIn
from gateway.graphql.scalars import Timestamp
from gateway.graphql.telemetry import After, From, _range
from services.runtime.keys import anomaly_channel
from sfcloud.v1 import anomaly_pb2 as pb

SECOND_NS = 10**9
OptionalFrom = Annotated[Timestamp | None, strawberry.argument(name="from", description="Start (inclusive).")]


@strawberry.type(description="A gauge series the model leaves out, and why.")
class ExcludedSeries:
    series_id: strawberry.ID
    reason: str = strawberry.field(description="E.g. constant over the reference period.")


@strawberry.type(description="A machine's anomaly model: what it was fitted on and how far scoring has got.")
class AnomalyModel:
    machine_id: strawberry.ID
    series_ids: list[strawberry.ID] = strawberry.field(description="The series scored, in the model's order.")
    excluded: list[ExcludedSeries]
    reference_from: Timestamp = strawberry.field(description="Start of the reference period.")
    reference_to: Timestamp = strawberry.field(description="End of the reference period (exclusive).")
    reference_rows: int = strawberry.field(description="Rows (steps with data) the model was fitted on.")
    step_seconds: float = strawberry.field(description="The grid the series are scored on.")
    threshold: float = strawberry.field(description="A score above this, held a few steps, is an anomaly.")
    scored_until: Timestamp = strawberry.field(description="Scoring has covered the data up to here.")
    trained_at: Timestamp

    @classmethod
    def from_pb(cls, m: pb.AnomalyModel) -> AnomalyModel:
        return cls(
            machine_id=strawberry.ID(m.machine_id),
            series_ids=[strawberry.ID(s) for s in m.series_ids],
            excluded=[
                ExcludedSeries(series_id=strawberry.ID(e.series_id), reason=e.reason) for e in m.excluded
            ],
            reference_from=m.reference.start_ns,
            reference_to=m.reference.end_ns,
            reference_rows=m.reference_rows,
            step_seconds=m.step_ns / SECOND_NS,
            threshold=m.threshold,
            scored_until=m.scored_until_ns,
            trained_at=m.trained_ns,
        )


@strawberry.type(description="An anomaly the worker found on a machine.")
class Anomaly:
    id: strawberry.ID
    machine_id: strawberry.ID
    start: Timestamp
    end: Timestamp | None = strawberry.field(
        description="The end of its last anomalous step; null while it lasts."
    )
    series_ids: list[strawberry.ID] = strawberry.field(
        description="The contributing series, largest share first."
    )
    peak_score: float
    threshold: float

    @classmethod
    def from_pb(cls, a: pb.Anomaly) -> Anomaly:
        return cls(
            id=strawberry.ID(a.id),
            machine_id=strawberry.ID(a.machine_id),
            start=a.start_ns,
            end=a.end_ns or None,
            series_ids=[strawberry.ID(s) for s in a.series_ids],
            peak_score=a.peak_score,
            threshold=a.threshold,
        )


@strawberry.type(description="A page of anomalies, newest first.")
class AnomalyConnection:
    nodes: list[Anomaly]
    page_info: PageInfo


@strawberry.type
class AnomalyQuery:
    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The machine's anomaly model (an error NOT_FOUND when it has none).",
    )
    async def anomaly_model(self, info: Info, machine_id: strawberry.ID) -> AnomalyModel:
        ctx = info.context
        request = pb.GetModelRequest(machine_id=str(machine_id))
        return AnomalyModel.from_pb(
            (await ctx.backends.call(ctx.backends.anomaly.GetModel, request, ctx.principal)).model
        )

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The anomalies overlapping [from, to), newest first, of one machine or (no machineId) all.",
        deprecation_reason="Use anomaliesConnection: a cursor connection.",
    )
    async def anomalies(
        self,
        info: Info,
        from_: From,
        to: Timestamp,
        machine_id: strawberry.ID | None = None,
        limit: int = 100,
    ) -> list[Anomaly]:
        response = await _anomaly_page(info, from_, to, machine_id, max(limit, 0), "")
        return [Anomaly.from_pb(a) for a in response.anomalies]

    @strawberry.field(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The anomalies overlapping [from, to), newest first, of one machine or (no machineId) all,"
        " a page at a time.",
    )
    async def anomalies_connection(
        self,
        info: Info,
        from_: From,
        to: Timestamp,
        machine_id: strawberry.ID | None = None,
        first: int = 50,
        after: After = None,
    ) -> AnomalyConnection:
        response = await _anomaly_page(info, from_, to, machine_id, checked_first(first), after or "")
        return AnomalyConnection(
            nodes=[Anomaly.from_pb(a) for a in response.anomalies],
            page_info=page_info_from(response.next_page_token),
        )


async def _anomaly_page(
    info: Info, from_: int, to: int, machine_id: strawberry.ID | None, size: int, token: str
) -> pb.ListAnomaliesResponse:
    ctx = info.context
    request = pb.ListAnomaliesRequest(
        machine_id=str(machine_id or ""), range=_range(from_, to), limit=size, page_token=token
    )
    return await ctx.backends.call(ctx.backends.anomaly.ListAnomalies, request, ctx.principal)


@strawberry.type(description="A machine's anomaly model as fitted, or why it could not be.")
class AnomalyModelPayload:
    model: AnomalyModel | None = strawberry.field(description="The model fitted; null on errors.")
    errors: list[UserError] = strawberry.field(
        description="Empty when fitted; e.g. TRAINING_TOO_SHORT, NO_SERIES, RANGE_TOO_LONG, ASSET_NOT_FOUND (no"
        " such machine in your tenant)."
    )


async def _fit_model(
    info: Info, machine_id: strawberry.ID, from_: int | None, to: int | None, step_seconds: int
) -> AnomalyModel:
    ctx = info.context
    request = pb.TrainModelRequest(
        machine_id=str(machine_id),
        reference=_range(from_ or 0, to or 0),
        step_ns=max(step_seconds, 0) * SECOND_NS,
    )
    return AnomalyModel.from_pb(
        (await ctx.backends.call(ctx.backends.anomaly.TrainModel, request, ctx.principal)).model
    )


# The service names the model's fields; a caller knows the mutation's arguments. The reference period is
# from and to together (or neither), so its mistakes belong to the whole input.
_ARGUMENT_OF = {"reference": None, "train": None, "stepNs": "stepSeconds"}


def _on_argument(problem: UserError) -> UserError:
    field = _ARGUMENT_OF.get(problem.field, problem.field) if problem.field else None
    return dataclasses.replace(problem, field=field)


@strawberry.type
class AnomalyMutation:
    @strawberry.mutation(
        permission_classes=[IsSignedIn, CanConfigureTenant],
        description="Fit the machine's anomaly model on [from, to) (both omitted: its first two days of data)"
        " and score from there on (owners and admins); replaces an earlier model.",
        deprecation_reason="Use fitAnomalyModel: returns typed user errors.",
    )
    async def train_anomaly_model(
        self,
        info: Info,
        machine_id: strawberry.ID,
        from_: OptionalFrom = None,
        to: Timestamp | None = None,
        step_seconds: int = 10,
    ) -> AnomalyModel:
        return await _fit_model(info, machine_id, from_, to, step_seconds)

    @strawberry.mutation(
        permission_classes=[IsSignedIn, CanConfigureTenant],
        description="Fit the machine's anomaly model on [from, to) (both omitted: its first two days of data)"
        " and score from there on (owners and admins); replaces an earlier model. Too little data, bad"
        " input, or a machine not in your tenant comes back as user errors.",
    )
    async def fit_anomaly_model(
        self,
        info: Info,
        machine_id: strawberry.ID,
        from_: OptionalFrom = None,
        to: Timestamp | None = None,
        step_seconds: Annotated[
            int, strawberry.argument(description="The grid the series are scored on: 1 to 3600 seconds.")
        ] = 10,
    ) -> AnomalyModelPayload:
        model, problems = await attempt(_fit_model(info, machine_id, from_, to, step_seconds))
        return AnomalyModelPayload(model=model, errors=[_on_argument(p) for p in problems])


@strawberry.type(description="An anomaly as it starts or ends.")
class AnomalyEvent:
    event: str = strawberry.field(description="started or ended.")
    anomaly: Anomaly


@strawberry.type
class AnomalySubscription:
    @strawberry.subscription(
        permission_classes=[IsSignedIn, CanReadTenant],
        description="The tenant's anomalies as the worker finds them start and end, of one machine or all.",
    )
    async def anomalies(
        self, info: Info, machine_id: strawberry.ID | None = None
    ) -> AsyncGenerator[AnomalyEvent, None]:
        ctx = info.context
        changes = EventQueue()
        async with ctx.hub.listening(anomaly_channel(ctx.principal.require_tenant()), changes):
            while True:
                change, _ = await changes.take()
                a = change["anomaly"]
                if machine_id and a["machine_id"] != str(machine_id):
                    continue
                yield AnomalyEvent(
                    event=change["event"],
                    anomaly=Anomaly(
                        id=strawberry.ID(str(a["id"])),
                        machine_id=strawberry.ID(a["machine_id"]),
                        start=a["start_ns"],
                        end=a["end_ns"],
                        series_ids=[strawberry.ID(x) for x in a["series_ids"]],
                        peak_score=a["peak_score"],
                        threshold=a["threshold"],
                    ),
                )
