"""The worker's daily level pass: every tenant assessed for today through analytics, so the history has
the day whether or not anyone looked; a tenant's failure does not stop the others."""

from __future__ import annotations

import time

import grpc

from services.runtime.channels import CallerIdentity
from services.worker.directory import TenancyDirectory
from services.worker.levels import LevelAssessor
from sf.seeding import create_tenant
from sfcloud.v1 import common_pb2, level_pb2, level_pb2_grpc, tenancy_pb2_grpc
from tests.isolation.test_rls import _as

DAY_NS = 86_400 * 10**9


async def test_a_pass_stores_todays_level_of_every_tenant(stack, signer):
    quiet = await create_tenant(stack.targets["tenancy"], signer, "Nobody looks")
    async with (
        grpc.aio.insecure_channel(stack.targets["tenancy"]) as tenancy,
        grpc.aio.insecure_channel(stack.targets["analytics"]) as analytics,
    ):
        identity = CallerIdentity(signer)
        directory = TenancyDirectory(tenancy_pb2_grpc.TenancyServiceStub(tenancy), identity, {})
        levels = level_pb2_grpc.LevelServiceStub(analytics)
        assessed = await LevelAssessor(directory, levels, identity).run_pass()
        # every tenant the suite made so far, but for any whose cell the cell tests have taken away
        assert 1 <= assessed <= len(await directory.tenants())
        today = common_pb2.TimeRange(start_ns=time.time_ns() - DAY_NS, end_ns=time.time_ns() + 1)
        history = await levels.History(level_pb2.HistoryRequest(range=today), metadata=_as(signer, quiet.id))
    assert [a.day for a in history.assessments] == [time.strftime("%Y-%m-%d", time.gmtime())]
    assert history.assessments[0].level == 1  # one machine registered, none reporting
