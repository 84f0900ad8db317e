"""Fixtures of the analytics tests: series made through tenancy for the module's own ``tenant``, and the
compaction worker's pool (from the worker tests) to compact while reading."""

from __future__ import annotations

import grpc
import pytest

from tests.analytics.helpers import SeriesMaker
from tests.worker.conftest import worker_cells  # noqa: F401 (a fixture: the worker's own pool)


@pytest.fixture(scope="module")
async def series_maker(stack, signer, tenant):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield SeriesMaker(channel, signer, tenant)
