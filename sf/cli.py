"""The `sf` command line: the one entry point of every sfcloud process and task."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from pathlib import Path

from services.runtime.config import ConfigError, Env
from sf.processes import PROCESSES

REPO = Path(__file__).resolve().parents[1]


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="sf",
        description="sfcloud: the smart-factory cloud. Start the whole stack with `sf up`; "
        "each command below has its own --help.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    up = commands.add_parser(
        "up",
        help="start everything with the demo tenant and a simulated factory",
        description="Start PostgreSQL and Redis (embedded unless SF_DATABASE_URL / SF_REDIS_URL "
        "are set), apply migrations, start every service and the web app, load the demo tenant "
        "and stream a simulated factory. Ctrl-C stops it all.",
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        default=Path(os.environ.get("SF_DATA_DIR", REPO / ".sfcloud")),
        help="where the embedded databases and logs live (default: .sfcloud/)",
    )
    up.add_argument("--port", type=int, default=8000, help="the web app's port (default: 8000)")
    up.add_argument("--no-simulate", action="store_true", help="do not start the simulated factory")

    serve = commands.add_parser(
        "serve",
        help="run one process in the foreground (as Kubernetes does)",
        description="Run one sfcloud process, configured by SF_ environment variables.",
    )
    serve.add_argument("name", choices=[process.name for process in PROCESSES])

    commands.add_parser(
        "migrate",
        help="apply pending database migrations",
        description="Apply pending migrations to SF_DATABASE_URL (an owner/admin connection).",
    )

    storage = commands.add_parser(
        "storage",
        help="owner-side upkeep of the telemetry partitions",
        description="Upkeep of telemetry.blocks on every cell, as the owner (SF_DATABASE_URL, SF_CELLS).",
    )
    storage_commands = storage.add_subparsers(dest="storage_command", required=True, metavar="ACTION")
    storage_commands.add_parser(
        "maintain",
        help="prepare partitions ahead and drop weeks past the longest retention (run daily)",
        description="Prepare weekly partitions a week back and four ahead, and drop whole weekly "
        "partitions older than the longest retention_days of any plan (tenants/plans.yaml or "
        "SF_CATALOG_DIR); shorter plans are trimmed by the worker's retention pass.",
    )

    daily = commands.add_parser(
        "daily",
        help="run the daily upkeep now and then every --every seconds (sf up starts it)",
        description="`sf storage maintain` and `sf tenants purge`, now and then on a timer, each one's "
        "failure logged without stopping the other or the next round: the scheduler of the local "
        "stack (production runs the two commands as scheduled jobs).",
    )
    daily.add_argument("--every", type=float, default=86400.0, metavar="SECONDS", help="default: a day")
    daily.add_argument("--once", action="store_true", help="one round, then exit")

    tenants = commands.add_parser(
        "tenants",
        help="tenants as code: reconcile declared tenants",
        description="Manage tenants declared as YAML files.",
    )
    tenant_commands = tenants.add_subparsers(dest="tenants_command", required=True, metavar="ACTION")
    apply = tenant_commands.add_parser(
        "apply",
        help="create or update the tenants declared in DIR/*.yaml",
        description="Reconcile every tenant manifest in DIR with the database, "
        "idempotently: missing tenants, users, machines, series and devices are made; "
        "plans follow the files; nothing is deleted. Needs SF_DATABASE_URL.",
    )
    apply.add_argument("directory", type=Path, metavar="DIR")
    tenant_commands.add_parser(
        "purge",
        help="delete cancelled tenants whose grace period is over",
        description="Offboard every cancelled tenant past its grace period: its telemetry, "
        "Redis keys, records, audit trail and lone accounts. Needs SF_DATABASE_URL and "
        "SF_REDIS_URL (and SF_CELLS if cells are used).",
    )

    load = commands.add_parser(
        "import",
        help="load an export package into a tenant",
        description="Verify every file of an export package (docs/DATA-MODEL.md: a directory, .zip or .tar) "
        "against its manifest's SHA-256, then create its asset tree and series in TENANT with new ids and load "
        "its points as blocks. A bad package imports nothing and names the file. Running it again after an "
        "interruption finishes the job. Needs SF_DATABASE_URL (and SF_CELLS if cells are used).",
    )
    load.add_argument("package", type=Path, metavar="PACKAGE")
    load.add_argument("--tenant", required=True, metavar="TENANT_ID", help="the target tenant's id")
    load.add_argument("--mapping", type=Path, metavar="FILE", help="write the old → new ids here (JSON)")

    simulate = commands.add_parser(
        "simulate",
        help="stream the demo factory's machines to ingest",
        description="Run one simulated device per demo machine, streaming realistic "
        "signals over gRPC to SF_INGEST_TARGET (default 127.0.0.1:50051).",
    )
    simulate.add_argument("--rate", type=float, default=1.0, help="samples per second per series (default 1)")
    simulate.add_argument(
        "--backfill",
        type=float,
        default=0.0,
        metavar="SECONDS",
        help="first send this much simulated history (default 0)",
    )
    simulate.add_argument("--seed", type=int, default=0)

    edge = commands.add_parser(
        "edge",
        help="the edge agent: OPC UA and MQTT to sfcloud, buffered on disk",
        description="Read OPC UA servers and MQTT brokers, keep every reading in a local SQLite buffer, "
        "and forward it to sfcloud; see docs/EDGE.md for the configuration file.",
    )
    edge.add_argument(
        "action", choices=("run", "status"), help="run the agent, or show what its buffer holds"
    )
    edge.add_argument("--config", type=Path, required=True, help="the agent's YAML configuration file")

    detect = commands.add_parser(
        "detect",
        help="fit an anomaly detector on a training CSV and flag the rows of a test CSV",
        description="Fit the multivariate anomaly detector (docs/ANALYTICS.md) on TRAIN.csv, score "
        "TEST.csv row by row (causally) and write PRED.csv with `datetime,anomaly` (0/1) for every "
        "test row; each anomaly found is printed with the series behind it. CSV files need a "
        "`datetime` column and numeric sensor columns, separated by `;` or `,`; label columns "
        "(`anomaly`, `changepoint`) are ignored. Bad input exits with status 2.",
    )
    detect.add_argument("--train", type=Path, required=True, metavar="TRAIN.csv", help="normal operation")
    detect.add_argument("--test", type=Path, required=True, metavar="TEST.csv", help="the rows to score")
    detect.add_argument(
        "--out", type=Path, required=True, metavar="PRED.csv", help="where to write 0/1 per row"
    )

    bench = commands.add_parser(
        "bench",
        help="measure the DESIGN.md figures beside their baselines",
        description="Measure the figures DESIGN.md names, each beside a baseline run in the same process.",
    )
    bench.add_argument(
        "--json", action="store_true", help="print one JSON object (name → value, unit, baseline, ratio)"
    )
    bench.add_argument("--only", default="", help="run only figures whose name starts with this prefix")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        return COMMANDS[args.command](args)
    except ConfigError as exc:
        print(f"sf {args.command}: configuration error: {exc}", file=sys.stderr)
        return 2


def _up(args: argparse.Namespace) -> int:
    from sf.stack import Stack, StackError

    started = time.monotonic()
    stack = Stack(data_dir=args.data_dir.resolve(), gateway_port=args.port, simulate=not args.no_simulate)
    try:
        env = stack.start()
        print(_banner(env, time.monotonic() - started), flush=True)
        return stack.wait()
    except StackError as exc:
        print(f"sf up: {exc}", file=sys.stderr)
        return 1
    finally:
        stack.stop()


def _banner(env: dict[str, str], seconds: float) -> str:
    import yaml

    demo = yaml.safe_load((REPO / "tenants" / "demo" / "tenant.yaml").read_text())
    logins = [f"  {u['email']:<36} {u['password']:<22} {u['role']}" for u in demo["users"]]
    operator = demo["operator"]
    logins.append(f"  {operator['email']:<36} {operator['password']:<22} platform operator")
    return "\n".join(
        [
            f"\nsfcloud is up in {seconds:.1f} s: open http://{env['SF_GATEWAY_LISTEN'].replace('127.0.0.1', 'localhost')}/",
            f"GraphQL API: http://{env['SF_GATEWAY_LISTEN'].replace('127.0.0.1', 'localhost')}/graphql",
            f"Demo logins ({demo['tenant']['name']}):",
            *logins,
            "Press Ctrl-C to stop.",
        ]
    )


def _serve(args: argparse.Namespace) -> int:
    from sf.serve import serve

    serve(args.name)
    return 0


def _migrate(args: argparse.Namespace) -> int:
    from services.runtime.settings import parse_cells
    from sf.migrate import migrate

    env = Env()
    applied = migrate(
        env.url("SF_DATABASE_URL", ("postgresql", "postgres")),
        env.optional("SF_DATABASE_APP_PASSWORD"),
        parse_cells(env.optional("SF_CELLS")),
    )
    print("applied: " + (", ".join(applied) if applied else "nothing (up to date)"))
    return 0


def _storage(args: argparse.Namespace) -> int:
    from services.runtime.settings import parse_cells
    from services.tenancy.catalog import DEFAULT_CATALOG_DIR
    from sf.maintain import longest_retention_days, maintain

    env = Env()
    urls = {"default": env.url("SF_DATABASE_URL", ("postgresql", "postgres"))}
    urls |= parse_cells(env.optional("SF_CELLS"))
    days = longest_retention_days(Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))))
    for done in maintain(urls, days):
        dropped = ", ".join(done.dropped) or "none"
        print(
            f"{done.cell}: {done.created} partition(s) created; dropped (older than {days} days): {dropped}"
        )
    return 0


def _daily(args: argparse.Namespace) -> int:
    jobs = (("storage maintain", lambda: _storage(args)), ("tenants purge", _purge))
    while True:
        for name, job in jobs:
            try:
                job()
            except Exception as exc:  # a scheduler outlives a failed round (a database restarting, say)
                print(f"sf daily: {name} failed, next round in {args.every:g} s: {exc}", file=sys.stderr)
        sys.stdout.flush()
        if args.once:
            return 0
        time.sleep(args.every)


def _tenants(args: argparse.Namespace) -> int:
    from services.tenancy.catalog import CatalogError
    from sf.tenants import apply, describe

    if args.tenants_command == "purge":
        return _purge()

    try:
        reports = asyncio.run(apply(args.directory, Env()))
    except CatalogError as exc:
        print(f"sf tenants apply: {exc}", file=sys.stderr)
        return 2
    for report in reports:
        print("\n".join(describe(report)))
    return 0


def _purge() -> int:
    from sf.purge import purge_due

    purged = asyncio.run(purge_due(Env()))
    for p in purged:
        print(
            f"purged tenant {p.tenant_id}: {p.blocks} blocks, {p.redis_keys} Redis keys, {p.accounts} accounts"
        )
    print(f"{len(purged)} tenant(s) purged")
    return 0


def _import(args: argparse.Namespace) -> int:
    import uuid

    from services.exchange.package import PackageError
    from services.runtime.errors import ServiceError
    from sf.imports import describe, run_import

    try:
        tenant_id = uuid.UUID(args.tenant)
    except ValueError:
        print(f"sf import: --tenant must be a tenant id (a UUID), got {args.tenant!r}", file=sys.stderr)
        return 2
    try:
        report = asyncio.run(run_import(args.package, tenant_id, Env()))
    except PackageError as exc:
        print(f"sf import: package refused, nothing imported: {exc.message}", file=sys.stderr)
        return 1
    except ServiceError as exc:
        print(f"sf import: {exc.message} (running it again finishes an interrupted import)", file=sys.stderr)
        return 1
    if args.mapping:
        args.mapping.write_text(json.dumps(report.mapping(), indent=1) + "\n")
    print(describe(report))
    return 0


def _simulate(args: argparse.Namespace) -> int:
    from services.runtime.logs import configure_logging
    from sf.simulate.cli import simulate

    configure_logging("simulate")
    return asyncio.run(simulate(Env().str("SF_INGEST_TARGET", "127.0.0.1:50051"), args))


def _edge(args: argparse.Namespace) -> int:
    from edge import cli
    from services.runtime.logs import configure_logging

    configure_logging("edge")
    return cli.run(args.config) if args.action == "run" else cli.status(args.config)


def _detect(args: argparse.Namespace) -> int:
    from services.analytics.anomaly import BadSensorData
    from sf.detect import describe, detect_files

    try:
        test, found = detect_files(args.train, args.test, args.out)
    except BadSensorData as exc:
        print(f"sf detect: {exc.message} ({exc.reason})", file=sys.stderr)
        return 2
    print("\n".join(describe(test, found)))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from sf.bench.run import run

    figures = run(args.only)
    if args.json:
        print(json.dumps({name: figure.as_json() for name, figure in figures.items()}, indent=2))
    else:
        for name, figure in figures.items():
            print(f"{name:<36} {figure.as_json()}")
    return 0


COMMANDS = {
    "up": _up,
    "serve": _serve,
    "migrate": _migrate,
    "storage": _storage,
    "daily": _daily,
    "tenants": _tenants,
    "import": _import,
    "simulate": _simulate,
    "edge": _edge,
    "detect": _detect,
    "bench": _bench,
}
