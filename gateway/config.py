"""The gateway's settings, from `SF_` variables.

| variable | default | meaning |
| --- | --- | --- |
| `SF_GATEWAY_LISTEN` | 127.0.0.1:8000 | where the web app and GraphQL API listen |
| `SF_TENANCY_TARGET` / `SF_ANALYTICS_TARGET` | 127.0.0.1:50053 / :50052 | the services' gRPC addresses |
| `SF_WORKER_TARGET` | 127.0.0.1:50054 | the worker's gRPC address (exports) |
| `SF_REDIS_URL` | (required) | sessions and live values |
| `SF_SIGNING_KEY` | (required) | key of the internal tokens |
| `SF_COOKIE_SECURE` | true | `__Host-` session cookie with Secure (browsers accept it on http://localhost) |
| `SF_SESSION_IDLE_S` / `SF_SESSION_MAX_S` | 1800 / 43200 | idle and absolute session lifetime |
| `SF_SESSION_ADMIN_IDLE_S` | 900 | idle lifetime of owners', admins' and the platform operator's sessions |
| `SF_CATALOG_DIR` | `tenants/` | the tenant catalog: each plan's API limits (`plans.yaml`, `gateway/plans.py`) |
| `SF_GATEWAY_MAX_BODY_BYTES` | 1048576 | larger request bodies are refused with 413 |
| `SF_GATEWAY_REDIS_TIMEOUT_MS` | 500 | longest a Redis command waits (then signed-in requests get 503; README) |
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from services.runtime.config import ConfigError, Env
from services.runtime.telemetry import EXPORTERS
from services.tenancy.catalog import DEFAULT_CATALOG_DIR

KEEP_ALIVE_S = 75  # an idle HTTP keep-alive connection's life (gateway/app.py says why)


@dataclass(frozen=True)
class GatewaySettings:
    host: str
    port: int
    tenancy_target: str
    analytics_target: str
    redis_url: str
    signing_key: str
    cookie_secure: bool = True
    session_idle_s: int = 1800
    session_max_s: int = 43200
    session_admin_idle_s: int = 900
    otel_exporter: str = "none"
    usage_interval_s: float = 10.0
    catalog_dir: Path = DEFAULT_CATALOG_DIR
    max_body_bytes: int = 1 << 20
    worker_target: str = "127.0.0.1:50054"
    keep_alive_s: int = KEEP_ALIVE_S
    redis_timeout_s: float = 0.5

    def __repr__(self) -> str:  # secrets never print
        return f"GatewaySettings(host={self.host!r}, port={self.port})"

    @property
    def cookie_name(self) -> str:
        return "__Host-sf_session" if self.cookie_secure else "sf_session"

    @classmethod
    def from_env(cls, env: Env | None = None) -> GatewaySettings:
        env = env or Env()
        listen = env.str("SF_GATEWAY_LISTEN", "127.0.0.1:8000")
        host, _, port = listen.rpartition(":")
        if not host or not port.isdigit():
            raise ConfigError(f"SF_GATEWAY_LISTEN must be host:port, got {listen!r}")
        return cls(
            host=host,
            port=int(port),
            tenancy_target=env.str("SF_TENANCY_TARGET", "127.0.0.1:50053"),
            analytics_target=env.str("SF_ANALYTICS_TARGET", "127.0.0.1:50052"),
            redis_url=env.url("SF_REDIS_URL", ("redis", "rediss", "unix")),
            signing_key=env.secret("SF_SIGNING_KEY"),
            cookie_secure=env.bool("SF_COOKIE_SECURE", True),
            session_idle_s=env.int("SF_SESSION_IDLE_S", 1800, minimum=60),
            session_max_s=env.int("SF_SESSION_MAX_S", 43200, minimum=60),
            session_admin_idle_s=env.int("SF_SESSION_ADMIN_IDLE_S", 900, minimum=60),
            otel_exporter=env.choice("SF_OTEL_EXPORTER", "none", EXPORTERS),
            usage_interval_s=env.int("SF_USAGE_REPORT_S", 10, minimum=1, maximum=3600),
            catalog_dir=Path(env.str("SF_CATALOG_DIR", str(DEFAULT_CATALOG_DIR))),
            max_body_bytes=env.int("SF_GATEWAY_MAX_BODY_BYTES", 1 << 20, minimum=1024, maximum=1 << 30),
            worker_target=env.str("SF_WORKER_TARGET", "127.0.0.1:50054"),
            keep_alive_s=env.int("SF_GATEWAY_KEEP_ALIVE_S", KEEP_ALIVE_S, minimum=1, maximum=86_400),
            redis_timeout_s=env.int("SF_GATEWAY_REDIS_TIMEOUT_MS", 500, minimum=10, maximum=60_000) / 1000,
        )
