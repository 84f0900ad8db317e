"""PostgreSQL crashes for durability tests: an immediate stop, then a restart on the same socket."""

from __future__ import annotations

import os
import signal

import psutil

from sf.embedded import EmbeddedPostgres


def stop_immediately(postgres: EmbeddedPostgres) -> None:
    """What `pg_ctl stop -m immediate` does: SIGQUIT to the postmaster, no checkpoint, crash recovery
    on the next start; returns once every server process is gone."""
    pid = postgres.server.get_pid()
    postmaster = psutil.Process(pid)
    children = postmaster.children(recursive=True)
    os.kill(pid, signal.SIGQUIT)
    psutil.wait_procs([postmaster, *children], timeout=30)


def start_again(postgres: EmbeddedPostgres) -> str:
    """Start the stopped server on its old socket (crash recovery replays the WAL); its URL."""
    postgres.server.ensure_postgres_running()
    return postgres.admin_url
