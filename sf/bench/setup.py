"""`setup.make_run_s`: from a fresh clone to a working URL with `make run`, the first time and again.

The repository is cloned into a temporary folder (`git clone` of this checkout's HEAD), `make run` is
started there with its services on free ports, and the clock stops when the web app's sign-in page
answers 200. The first run includes everything `make run` does on a new machine: the virtualenv, the
package install (from pip's cache where it has the wheels), the codec build, the stubs, the embedded
PostgreSQL and Redis, migrations and the demo tenant. The stack is stopped with Ctrl-C (SIGINT), as a
person would, and started again: the second figure is a later run (everything set up already).
No baseline: DESIGN.md sets absolute targets (< 180 s, < 20 s).
"""

from __future__ import annotations

import os
import signal
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

from sf.bench.figures import Figure
from sf.inprocess import free_port

REPO = Path(__file__).resolve().parents[2]
WAIT_S = 600


def _clone(into: Path) -> Path:
    target = into / "sfcloud"
    subprocess.run(["git", "clone", "--quiet", str(REPO), str(target)], check=True)  # noqa: S603, S607
    return target


def _answers(url: str) -> bool:
    """Whether ``url`` answers 200 now (not listening yet, or refusing, is False)."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (our own loopback URL)
            return response.status == 200
    except OSError:
        return False


def _until_answering(url: str, process: subprocess.Popen, started: float) -> float:
    """Seconds from ``started`` until ``url`` answers 200 (raises if the process ends first)."""
    while time.monotonic() - started < WAIT_S:
        if process.poll() is not None:
            raise RuntimeError(f"make run exited with {process.returncode} before {url} answered")
        if _answers(url):
            return time.monotonic() - started
        time.sleep(0.25)
    raise RuntimeError(f"{url} did not answer within {WAIT_S} s")


def _make_run(clone: Path) -> float:
    """Seconds from `make run` to a working sign-in page; the stack is stopped again afterwards."""
    port = free_port()
    env = dict(os.environ, SF_DATA_DIR=str(clone / ".sfcloud"))
    for name in ("TENANCY", "INGEST", "ANALYTICS", "WORKER"):
        env[f"SF_{name}_LISTEN"] = f"127.0.0.1:{free_port()}"
    env["SF_GATEWAY_LISTEN"] = f"127.0.0.1:{port}"
    for name in ("SF_DATABASE_URL", "SF_REDIS_URL"):
        env.pop(name, None)  # a new machine has neither: the embedded ones start
    started = time.monotonic()
    process = subprocess.Popen(
        ["make", "run"],  # noqa: S607
        cwd=clone, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
    )  # fmt: skip
    try:
        return _until_answering(f"http://127.0.0.1:{port}/login", process, started)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def run() -> dict[str, Figure]:
    with tempfile.TemporaryDirectory(prefix="sf-bench-setup-") as folder:
        clone = _clone(Path(folder))
        first = _make_run(clone)
        again = _make_run(clone)
    return {"setup.make_run_s": Figure(first, "s"), "setup.make_run_again_s": Figure(again, "s")}
