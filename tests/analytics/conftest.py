"""Fixtures of the analytics tests: a tenant per module, the query service as its owner, series made
through tenancy, and the compaction worker's pool (from the worker tests) to compact while reading."""

from __future__ import annotations

import grpc
import pytest

from tests.analytics.helpers import Query, SeriesMaker
from tests.e2e.provision import create_tenant
from tests.worker.conftest import worker_cells  # noqa: F401 (a fixture: the worker's own pool)


@pytest.fixture(scope="module")
async def tenant(request, stack, signer):
    return await create_tenant(stack.targets["tenancy"], signer, request.module.__name__.rsplit(".", 1)[-1])


@pytest.fixture(scope="module")
async def query(stack, signer, tenant):
    async with grpc.aio.insecure_channel(stack.targets["analytics"]) as channel:
        yield Query(channel, signer, tenant.id)


@pytest.fixture(scope="module")
async def series_maker(stack, signer, tenant):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield SeriesMaker(channel, signer, tenant)
