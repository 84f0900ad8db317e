"""Every process of DESIGN.md runs as a Deployment with readiness and liveness probes, a Service, an
autoscaler and a disruption budget; the probes ask what the processes actually serve."""

from __future__ import annotations

import re

import pytest

from services.runtime.grpc_server import LIVENESS
from sf.processes import PROCESSES
from tests.infra.terraform import MODULES, ROOT, resources

SERVICES = MODULES / "services"
PER_PROCESS = (
    "kubernetes_deployment_v1",
    "kubernetes_service_v1",
    "kubernetes_horizontal_pod_autoscaler_v2",
    "kubernetes_pod_disruption_budget_v1",
)


def resource(kind: str) -> dict:
    (body,) = [body for found, _, body in resources(SERVICES) if found == kind]
    return body


def container() -> dict:
    (body,) = resource("kubernetes_deployment_v1")["spec"][0]["template"][0]["spec"][0]["container"]
    return body


def probes(kind: str, health: str) -> list[dict]:
    """The ``kind`` probes (readiness_probe, ...) a process with ``health`` gets from the dynamic blocks."""
    found = []
    for block in container()["dynamic"]:
        for name, spec in block.items():
            if name == kind and re.search(rf'health == "{health}" \? \[1\] : \[\]', spec["for_each"]):
                found += spec["content"]
    return found


@pytest.mark.parametrize("kind", PER_PROCESS)
def test_one_of_each_per_process(kind: str):
    assert resource(kind)["for_each"] == "${local.containers}"


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_each_process_is_probed_for_readiness_and_liveness(process):
    readiness, liveness = probes("readiness_probe", process.health), probes("liveness_probe", process.health)
    assert len(readiness) == len(liveness) == 1
    if process.health == "grpc":
        assert readiness[0]["grpc"][0] == {"port": "${each.value.port}"}  # the overall status: readiness
        assert liveness[0]["grpc"][0] == {"port": "${each.value.port}", "service": LIVENESS}
    else:
        assert (readiness[0]["http_get"][0]["path"], liveness[0]["http_get"][0]["path"]) == (
            "/readyz",
            "/healthz",
        )


def test_the_gateway_serves_the_paths_its_probes_ask():
    app = (ROOT / "gateway" / "app.py").read_text()
    assert 'Route("/healthz", healthz)' in app and 'Route("/readyz", readyz)' in app


def test_autoscalers_scale_the_deployments_on_cpu():
    spec = resource("kubernetes_horizontal_pod_autoscaler_v2")["spec"][0]
    assert spec["scale_target_ref"][0]["kind"] == "Deployment"
    assert spec["metric"][0]["resource"][0]["name"] == "cpu"


def test_containers_have_requests_limits_and_run_locked_down():
    resources_, security = container()["resources"][0], container()["security_context"][0]
    assert {"cpu", "memory"} <= set(resources_["requests"]) and {"cpu", "memory"} <= set(resources_["limits"])
    assert security["read_only_root_filesystem"] is True and security["allow_privilege_escalation"] is False
    assert security["capabilities"][0]["drop"] == ["ALL"]


def test_rollouts_keep_every_replica_until_its_successor_is_ready():
    deployment = resource("kubernetes_deployment_v1")
    assert deployment["spec"][0]["strategy"][0]["rolling_update"][0]["max_unavailable"] == "0"
    assert deployment["depends_on"] == ["${kubernetes_job_v1.migrate}"]  # migrations before any new pod
