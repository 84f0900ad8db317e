"""Settings every sfcloud gRPC service has, read from `SF_` variables.

| variable | default | meaning |
| --- | --- | --- |
| `SF_DATABASE_URL` | (required) | the owner/admin URL `sf migrate` uses; services derive their own role's URL from it |
| `SF_DATABASE_APP_PASSWORD` | none | password of the service roles (`sf_tenancy`, ...), set by `sf migrate` |
| `SF_<NAME>_DATABASE_URL` | derived | overrides one service's database URL |
| `SF_SIGNING_KEY` | (required) | key of the internal tokens, at least 32 characters |
| `SF_<NAME>_LISTEN` | 127.0.0.1:<port> | where the service listens |
| `SF_OTEL_EXPORTER` | none | `console` or `otlp` turns on trace export |
| `SF_ENV` | dev | `prod` turns gRPC reflection off |
| `SF_CELLS` | none | more database cells for telemetry, `name=postgresql://…[,name=…]`; `SF_DATABASE_URL` is cell `default` |
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit, urlunsplit

from services.runtime.config import ConfigError, Env
from services.runtime.telemetry import EXPORTERS

DEFAULT_CELL = "default"


def parse_cells(raw: str | None) -> dict[str, str]:
    """`SF_CELLS` as {name: admin URL}; the default cell is `SF_DATABASE_URL` and is not listed."""
    cells: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in (raw or "").split(","))):
        name, _, url = item.partition("=")
        if (
            not name.isidentifier()
            or name == DEFAULT_CELL
            or not url.startswith(("postgresql://", "postgres://"))
        ):
            raise ConfigError(
                "SF_CELLS must be name=postgresql://...[,name=postgresql://...] (not 'default')"
            )
        cells[name] = url
    return cells


def role_url(admin_url: str, role: str, password: str | None) -> str:
    """The admin URL with its user swapped for a service's own login role."""
    parts = urlsplit(admin_url)
    host = parts.netloc.rsplit("@", 1)[-1]
    credentials = quote(role) + (f":{quote(password)}" if password else "")
    return urlunsplit(parts._replace(netloc=f"{credentials}@{host}"))


@dataclass(frozen=True)
class ServiceSettings:
    name: str
    listen: str
    database_url: str
    signing_key: str
    otel_exporter: str = "none"
    reflection: bool = True
    shutdown_grace_s: int = 10
    cells: dict[str, str] = field(default_factory=dict)  # extra cell → this service's database URL there

    def __repr__(self) -> str:  # secrets never print
        return f"ServiceSettings(name={self.name!r}, listen={self.listen!r})"

    @classmethod
    def from_env(cls, name: str, port: int, env: Env | None = None) -> ServiceSettings:
        env = env or Env()
        upper = name.upper()
        password = env.optional("SF_DATABASE_APP_PASSWORD")
        database_url = env.optional(f"SF_{upper}_DATABASE_URL") or role_url(
            env.url("SF_DATABASE_URL", ("postgresql", "postgres")), f"sf_{name}", password
        )
        cells = {
            cell: role_url(url, f"sf_{name}", password)
            for cell, url in parse_cells(env.optional("SF_CELLS")).items()
        }
        return cls(
            name=name,
            listen=env.str(f"SF_{upper}_LISTEN", f"127.0.0.1:{port}"),
            database_url=database_url,
            signing_key=env.secret("SF_SIGNING_KEY"),
            otel_exporter=env.choice("SF_OTEL_EXPORTER", "none", EXPORTERS),
            reflection=env.choice("SF_ENV", "dev", ("dev", "prod")) == "dev",
            shutdown_grace_s=env.int("SF_SHUTDOWN_GRACE_S", 10, minimum=0, maximum=300),
            cells=cells,
        )
