"""docs/API.md's quickstart runs as written: make a key in the explorer, query with curl, subscribe with
`gql` while a device sends with the SDK (each example its own process, against the real stack, which
runs in this test's event loop: the processes are awaited, never waited for)."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.e2e.provision import GraphQLClient, create_tenant

EXAMPLES = Path(__file__).resolve().parents[2] / "docs" / "examples"


async def start(*command: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        *command, env=os.environ | env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )


async def finish(process: asyncio.subprocess.Process, within_s: float = 60) -> tuple[str, str]:
    out, err = await asyncio.wait_for(process.communicate(), within_s)
    assert process.returncode == 0, err.decode()
    return out.decode(), err.decode()


@pytest.mark.skipif(shutil.which("curl") is None, reason="curl is not installed on this machine")
async def test_the_quickstart_runs_as_written(stack, signer):
    tenant = await create_tenant(stack.targets["tenancy"], signer, "Quickstart")
    owner = await GraphQLClient.login(stack.gateway_url, tenant.owner_email, tenant.owner_password)
    try:
        made = await owner.query((EXAMPLES / "create_api_key.graphql").read_text())
    finally:
        await owner.close()
    env = {
        "SF_URL": stack.gateway_url,
        "SF_API_KEY": made["data"]["createApiKey"]["key"],
        "SF_SERIES_ID": tenant.series_ids[0],
    }

    queried, _ = await finish(await start("sh", str(EXAMPLES / "query.sh"), env=env))
    assert tenant.series_ids[0] in queried and '"errors"' not in queried

    subscriber = await start(sys.executable, str(EXAMPLES / "subscribe.py"), "--count", "2", env=env)
    try:
        await asyncio.sleep(2)  # subscribed before the device starts: live values are not replayed
        device = env | {
            "SF_INGEST_TARGET": stack.targets["ingest"],
            "SF_DEVICE_CREDENTIAL": tenant.credential,
        }
        sent, _ = await finish(
            await start(sys.executable, str(EXAMPLES / "ingest.py"), "--seconds", "4", env=device)
        )
        assert "points stored" in sent and "; 0 points" not in sent, sent
        lines = (await finish(subscriber, within_s=30))[0].splitlines()
    finally:
        if subscriber.returncode is None:
            subscriber.kill()
    assert len(lines) == 2 and all(len(line.split()) == 2 for line in lines), lines
