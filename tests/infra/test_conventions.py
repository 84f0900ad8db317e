"""infra/terraform parses and follows its conventions: typed, described variables; described outputs;
pinned versions; no provider blocks in modules; tags on every AWS resource."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.infra.terraform import ENVS, MODULES, TERRAFORM, blocks, parse, resources, roots, tf_files

# AWS resource types that take no tags (the provider's default_tags cannot reach them either).
UNTAGGABLE = {
    "aws_acm_certificate_validation",
    "aws_eks_access_policy_association",
    "aws_efs_backup_policy",
    "aws_efs_mount_target",
    "aws_iam_role_policy",
    "aws_iam_role_policy_attachment",
    "aws_kms_alias",
    "aws_route53_record",
    "aws_route_table_association",
    "aws_s3_bucket_lifecycle_configuration",
    "aws_s3_bucket_public_access_block",
    "aws_s3_bucket_server_side_encryption_configuration",
    "aws_s3_bucket_versioning",
    "aws_secretsmanager_secret_version",
}
PINNED = re.compile(r"^(~> ?\d+\.\d+(\.\d+)?|= ?\d+\.\d+\.\d+|\d+\.\d+\.\d+)$")


@pytest.mark.parametrize("path", tf_files(), ids=lambda p: str(p.relative_to(TERRAFORM)))
def test_every_file_parses(path: Path):
    assert isinstance(parse(path), dict)


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_variables_are_typed_and_described_and_outputs_described(folder: Path):
    variables = dict(blocks(folder, "variable"))
    assert all("type" in body and body.get("description") for body in variables.values()), variables
    outputs = dict(blocks(folder, "output"))
    assert all(body.get("description") for body in outputs.values()), outputs


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_versions_are_pinned(folder: Path):
    settings = [block for path in folder.glob("*.tf") for block in parse(path).get("terraform", [])]
    assert any(PINNED.match(block.get("required_version", "")) for block in settings), folder
    for block in settings:
        for providers in block.get("required_providers", []):
            for name, spec in providers.items():
                assert PINNED.match(spec["version"]), f"{folder.name}: provider {name} {spec['version']}"


@pytest.mark.parametrize("folder", sorted(p for p in MODULES.iterdir() if p.is_dir()), ids=lambda p: p.name)
def test_modules_declare_no_providers(folder: Path):
    assert not [p for p in folder.glob("*.tf") if parse(p).get("provider")]


def test_every_aws_resource_is_tagged():
    aws = [(folder.name, kind, name, body) for folder in roots() for kind, name, body in resources(folder)]
    taggable = [
        (folder, kind, name, body)
        for folder, kind, name, body in aws
        if kind.startswith("aws_") and kind not in UNTAGGABLE
    ]
    assert len(taggable) > 30
    assert [f"{folder}: {kind}.{name}" for folder, kind, name, body in taggable if "tags" not in body] == []


@pytest.mark.parametrize("env", ENVS)
def test_environments_tag_everything_with_environment_cell_and_cost_centre(env: str):
    folder = TERRAFORM / "envs" / env
    (aws,) = [p["aws"] for path in folder.glob("*.tf") for p in parse(path).get("provider", []) if "aws" in p]
    assert {"environment", "cell", "cost_centre"} <= set(aws["default_tags"][0]["tags"])
    assert dict(blocks(folder, "locals"))["environment"] == env


def test_a_cells_resources_carry_its_name():
    database = MODULES / "database"
    assert "cell" in dict(blocks(database, "locals"))["tags"]
    tagged = [
        body["tags"] for kind, _, body in resources(database) if kind.startswith("aws_") and "tags" in body
    ]
    assert tagged and set(tagged) == {"${local.tags}"}


@pytest.mark.parametrize("env", ENVS)
def test_environments_keep_state_in_s3_with_locking(env: str):
    (settings,) = [
        b
        for p in (TERRAFORM / "envs" / env).glob("*.tf")
        for b in parse(p).get("terraform", [])
        if "backend" in b
    ]
    (s3,) = [backend["s3"] for backend in settings["backend"]]
    assert s3["use_lockfile"] is True and s3["encrypt"] is True and env in s3["key"]


def test_terraform_fmt_is_clean():
    terraform = shutil.which("terraform")
    assert terraform, "terraform is not installed: DESIGN.md §8 says the build machines have 1.11"
    done = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-list=true", str(TERRAFORM)],
        capture_output=True,
        text=True,
        env={"TF_CLI_CONFIG_FILE": "/dev/null", "CHECKPOINT_DISABLE": "1"},
    )
    assert (done.returncode, done.stdout) == (0, ""), done.stdout
