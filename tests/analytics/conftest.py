"""Fixtures of the analytics tests: series made through tenancy for the module's own ``tenant``."""

from __future__ import annotations

import grpc
import pytest

from tests.analytics.helpers import SeriesMaker


@pytest.fixture(scope="module")
async def series_maker(stack, signer, tenant):
    async with grpc.aio.insecure_channel(stack.targets["tenancy"]) as channel:
        yield SeriesMaker(channel, signer, tenant)
