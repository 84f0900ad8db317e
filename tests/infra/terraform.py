"""Reading infra/terraform without a cloud: python-hcl2 for structure, `terraform console` for values."""

from __future__ import annotations

import functools
import json
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import hcl2

ROOT = Path(__file__).resolve().parents[2]
TERRAFORM = ROOT / "infra" / "terraform"
MODULES = TERRAFORM / "modules"
ENVS = ("dev", "staging", "prod")
_OPTIONS = hcl2.SerializationOptions(with_comments=False, explicit_blocks=False, strip_string_quotes=True)


def tf_files() -> list[Path]:
    return sorted(TERRAFORM.rglob("*.tf"))


@functools.cache
def parse(path: Path) -> dict:
    with path.open() as handle:
        return hcl2.load(handle, serialization_options=_OPTIONS)


def roots() -> list[Path]:
    """Every module and environment folder (envs/_shared only lends files to the environments)."""
    return [*sorted(p for p in MODULES.iterdir() if p.is_dir()), *(TERRAFORM / "envs" / env for env in ENVS)]


def blocks(folder: Path, kind: str) -> Iterator[tuple[str, dict]]:
    """(label, body) of each top-level block of ``kind`` (variable, output, module, locals) in the folder."""
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get(kind, []):
            yield from block.items()


def resources(folder: Path) -> Iterator[tuple[str, str, dict]]:
    """(type, name, body) of each resource in the folder."""
    for path in sorted(folder.glob("*.tf")):
        for block in parse(path).get("resource", []):
            for kind, named in block.items():
                for name, body in named.items():
                    yield kind, name, body


def references(folder: Path, prefix: str) -> set[str]:
    """Names used as ``prefix.NAME`` anywhere in the folder's expressions (comments are not parsed)."""
    text = json.dumps([parse(path) for path in sorted(folder.glob("*.tf"))])
    return set(re.findall(rf"(?<![\w.]){re.escape(prefix)}\.([A-Za-z_][A-Za-z0-9_-]*)", text))


def module_references(folder: Path) -> set[tuple[str, str]]:
    """(module call, output) pairs used as ``module.CALL.OUTPUT`` in the folder."""
    text = json.dumps([parse(path) for path in sorted(folder.glob("*.tf"))])
    return set(re.findall(r"(?<![\w.])module\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)", text))


def console(files: list[Path], expression: str, variables: dict[str, str]) -> object:
    """``expression`` evaluated by Terraform itself over ``files`` (locals and variables only: no providers)."""
    terraform = shutil.which("terraform")
    if terraform is None:
        raise RuntimeError("terraform is not installed: DESIGN.md §8 says the build machines have 1.11")
    with tempfile.TemporaryDirectory(prefix="sf-tf-") as folder:
        for path in files:
            shutil.copy(path, folder)
        done = subprocess.run(
            [
                terraform,
                "console",
                "-no-color",
                *(f"-var={name}={value}" for name, value in variables.items()),
            ],
            cwd=folder,
            input=f"jsonencode({expression})",
            capture_output=True,
            text=True,
            check=True,
            env={"TF_CLI_CONFIG_FILE": "/dev/null", "PATH": "/usr/bin:/bin", "CHECKPOINT_DISABLE": "1"},
        )
    if done.stderr.strip():  # a warning (an input failing validation) makes the values unreliable
        raise RuntimeError(done.stderr)
    return json.loads(json.loads(done.stdout))
