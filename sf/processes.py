"""The sfcloud processes as data: what `sf up` starts locally and what the Kubernetes manifests
(infra/terraform/modules/services) must start the same way; tests/infra holds the two together.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Process:
    name: str
    port: int
    health: str  # "grpc": the standard gRPC health service; "http": GET /healthz and /readyz
    stage: int  # start order: a stage starts once every process of the stages before it is healthy

    @property
    def args(self) -> tuple[str, ...]:
        """The `sf` arguments that run it."""
        return ("serve", self.name)

    @property
    def listen_variable(self) -> str:
        return f"SF_{self.name.upper()}_LISTEN"

    @property
    def target_variable(self) -> str | None:
        """Where its clients find it; the gateway has no gRPC clients."""
        return f"SF_{self.name.upper()}_TARGET" if self.health == "grpc" else None


PROCESSES = (
    Process("tenancy", 50053, "grpc", stage=0),
    Process("ingest", 50051, "grpc", stage=1),
    Process("analytics", 50052, "grpc", stage=1),
    Process("worker", 50054, "grpc", stage=1),
    Process("gateway", 8000, "http", stage=2),
)

# What only a local stack sets: the demo tenant and webhooks into private networks.
LOCAL_ONLY = {"SF_LOAD_DEMO": "true", "SF_ALARM_PRIVATE_WEBHOOKS": "true"}


def stages() -> list[list[Process]]:
    """The processes grouped in start order."""
    return [[p for p in PROCESSES if p.stage == stage] for stage in sorted({p.stage for p in PROCESSES})]
