"""An acknowledgement means the batch survives a crash: PostgreSQL must flush before it commits.

The ingest service acknowledges a batch once its transaction commits; that promise holds only with
these settings (RELIABILITY.md D2, the fsyncgate lesson), so the test fails if anyone relaxes them,
server-wide or in the ingest role's own session.
"""

from __future__ import annotations

import psycopg
import pytest

from services.runtime.settings import role_url

DURABLE = {"fsync": "on", "synchronous_commit": "on", "full_page_writes": "on", "data_sync_retry": "off"}


@pytest.mark.parametrize("setting", sorted(DURABLE))
def test_the_server_flushes_before_it_acknowledges(admin_conn, setting):
    """RELIABILITY D2: fsync, synchronous_commit and full_page_writes on, data_sync_retry off."""
    assert admin_conn.execute(f"SHOW {setting}").fetchone()[0] == DURABLE[setting]


def test_the_ingest_role_does_not_relax_synchronous_commit(admin_url):
    """RELIABILITY D2: The ingest role cannot turn synchronous_commit off for itself."""
    with psycopg.connect(role_url(admin_url, "sf_ingest", None)) as conn:
        assert conn.execute("SHOW synchronous_commit").fetchone()[0] == "on"
