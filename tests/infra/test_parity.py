"""The Kubernetes manifests start what `sf up` starts: the same `sf serve NAME`, ports and SF_ variables,
read from sf's own definitions (sf/processes.py, Stack.environment) and from the services module's
locals as Terraform evaluates them, so local and cloud cannot drift."""

from __future__ import annotations

import os
import re

import pytest

from sf.processes import LOCAL_ONLY, PROCESSES
from sf.stack import Stack
from tests.infra.terraform import MODULES, ROOT, blocks, console, resources

SERVICES = MODULES / "services"
# Values for every variable of the services module that passes its validation.
INPUTS = {
    "namespace": "sfcloud",
    "public_url": "https://app.example.com/",
    "log_level": "INFO",
    "otlp_endpoint": "http://otel:4317",
    "sizing": "{}",
    "environment": "prod",
    "image": "sfcloud@sha256:" + "0" * 64,
    "uid": "10001",
    "secret_name": "sfcloud-secrets",
    "exports_claim": "exports",
}


@pytest.fixture(scope="module")
def cloud() -> dict:
    """The services module's processes, containers and shared environment, evaluated by Terraform."""
    files = [SERVICES / "processes.tf", SERVICES / "variables.tf"]
    expression = (
        "{processes = local.processes, containers = local.containers, environment = local.environment}"
    )
    return console(files, expression, INPUTS)


@pytest.fixture(scope="module")
def local_variables(tmp_path_factory, monkeypatch_module) -> set[str]:
    """The variables `sf up` gives its children beyond the caller's own (databases given: no embedded ones)."""
    monkeypatch_module.setenv("SF_DATABASE_URL", "postgresql://sf@db/sfcloud")
    monkeypatch_module.setenv("SF_REDIS_URL", "redis://redis:6379/0")
    before = set(os.environ) - {"SF_DATABASE_URL", "SF_REDIS_URL"}
    return set(Stack(data_dir=tmp_path_factory.mktemp("stack")).environment()) - before


@pytest.fixture(scope="module")
def monkeypatch_module():
    with pytest.MonkeyPatch.context() as patch:
        yield patch


def secret_variables() -> set[str]:
    return set(dict(blocks(MODULES / "secrets", "locals"))["variables"])


def test_the_same_processes_ports_and_health(cloud):
    assert {name: (spec["port"], spec["health"]) for name, spec in cloud["processes"].items()} == {
        process.name: (process.port, process.health) for process in PROCESSES
    }


def test_design_md_lists_the_same_processes():
    design = (ROOT.parent / "shared" / "DESIGN.md").read_text() if (ROOT.parent / "shared").exists() else ""
    if not design:
        pytest.skip("DESIGN.md lives in ../shared, which this checkout lacks")
    listed = dict(re.findall(r"^\| `(\w+)` \| (\d+|—) \|", design, re.MULTILINE))
    assert set(listed) == {process.name for process in PROCESSES}
    assert all(listed[p.name] in (str(p.port), "—") for p in PROCESSES)


@pytest.mark.parametrize("process", PROCESSES, ids=lambda p: p.name)
def test_each_container_runs_sf_serve_on_its_port(cloud, process):
    container = cloud["containers"][process.name]
    assert [*container["command"], *container["args"]] == ["sf", *process.args]
    assert container["port"] == process.port
    assert container["env"] == {process.listen_variable: f"0.0.0.0:{process.port}"}


def test_targets_point_at_each_service_port(cloud):
    targets = {p.target_variable: p.port for p in PROCESSES if p.target_variable}
    environment = cloud["environment"]
    assert {name: int(environment[name].rsplit(":", 1)[1]) for name in targets} == targets


def test_the_cloud_sets_every_variable_sf_up_sets_except_the_local_ones(cloud, local_variables):
    cloud_variables = set(cloud["environment"]) | secret_variables()
    cloud_variables |= {p.listen_variable for p in PROCESSES}
    assert local_variables - set(LOCAL_ONLY) <= cloud_variables
    assert set(LOCAL_ONLY) <= local_variables
    assert not set(LOCAL_ONLY) & cloud_variables


def test_deployments_take_command_args_port_and_env_from_those_locals():
    (deployment,) = [body for kind, _, body in resources(SERVICES) if kind == "kubernetes_deployment_v1"]
    assert deployment["for_each"] == "${local.containers}"
    (container,) = deployment["spec"][0]["template"][0]["spec"][0]["container"]
    assert (container["command"], container["args"]) == ("${each.value.command}", "${each.value.args}")
    assert container["port"][0]["container_port"] == "${each.value.port}"
    (env,) = [block["env"] for block in container["dynamic"] if "env" in block]
    assert env["for_each"] == "${each.value.env}"
    sources = {next(iter(source)) for source in container["env_from"]}
    assert sources == {"config_map_ref", "secret_ref"}


def test_the_image_runs_sf_as_the_uid_the_manifests_use():
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert 'ENTRYPOINT ["sf"]' in dockerfile
    (user,) = re.findall(r"^USER (\d+):\d+$", dockerfile, re.MULTILINE)
    assert dict(blocks(MODULES / "stack", "locals"))["uid"] == int(user)
