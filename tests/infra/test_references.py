"""Every module's variables, locals, module calls and outputs agree: no undeclared or unused variable,
every call passes what its module requires and nothing it does not declare, every output used exists."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.terraform import MODULES, blocks, module_references, references, roots

META_ARGUMENTS = {"source", "for_each", "count", "depends_on", "providers", "version"}


def variables(folder: Path) -> dict[str, dict]:
    return dict(blocks(folder, "variable"))


def calls(folder: Path) -> dict[str, tuple[Path, dict]]:
    """Module calls of the folder: name → (the called module's folder, the arguments)."""
    return {name: ((folder / body["source"]).resolve(), body) for name, body in blocks(folder, "module")}


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_variables_are_declared_and_used(folder: Path):
    declared, used = set(variables(folder)), references(folder, "var")
    assert used - declared == set(), "used, not declared"
    assert declared - used == set(), "declared, never used"


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_locals_are_declared(folder: Path):
    assert references(folder, "local") - set(dict(blocks(folder, "locals"))) == set()


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_module_calls_pass_what_the_module_declares(folder: Path):
    for name, (module, arguments) in calls(folder).items():
        declared = variables(module)
        passed = set(arguments) - META_ARGUMENTS
        required = {variable for variable, body in declared.items() if "default" not in body}
        assert passed - set(declared) == set(), f"module {name}: unknown arguments"
        assert required - passed == set(), f"module {name}: required variables not passed"


@pytest.mark.parametrize("folder", roots(), ids=lambda p: p.name)
def test_module_outputs_used_exist(folder: Path):
    modules = calls(folder)
    for call, output in module_references(folder):
        assert call in modules, f"module.{call} is not called here"
        assert output in dict(blocks(modules[call][0], "output")), f"module.{call} has no output {output}"


def test_every_module_is_called():
    called = {module for folder in roots() for module, _ in calls(folder).values()}
    assert {folder.resolve() for folder in MODULES.iterdir() if folder.is_dir()} - called == set()
