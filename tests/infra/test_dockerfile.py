"""The Dockerfile, read statically (Docker may not run here): multi-stage with the codec compiled in
the build stage, a non-root user, no secrets, `sf` as the entry point, every package copied."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch

from tests.infra.terraform import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()
STAGES = re.split(r"^FROM ", DOCKERFILE, flags=re.MULTILINE)[1:]


def test_two_stages_and_the_compiler_only_in_the_first():
    build, runtime = STAGES
    assert build.startswith("python:3.11-slim") and runtime.startswith("python:3.11-slim")
    assert "gcc" in build and "pip install ." in build and "IMPLEMENTATION == 'cython'" in build
    assert "gcc" not in runtime and "COPY --from=build /opt/sfcloud /opt/sfcloud" in runtime


def test_it_runs_as_a_non_root_user_with_sf_as_entry_point():
    runtime = STAGES[-1]
    (user,) = re.findall(r"^USER (\d+):(\d+)$", runtime, re.MULTILINE)
    assert int(user[0]) >= 1000 and int(user[1]) >= 1000
    assert 'ENTRYPOINT ["sf"]' in runtime and 'CMD ["serve", ' in runtime
    assert re.search(r"^HEALTHCHECK ", runtime, re.MULTILINE), "say where health is checked"


def test_no_secret_enters_the_image():
    assert not re.search(
        r"^(ENV|ARG)\b.*(PASSWORD|SECRET|TOKEN|SIGNING_KEY|DATABASE_URL)", DOCKERFILE, re.M | re.I
    )
    ignored = set((ROOT / ".dockerignore").read_text().split())
    assert {".git", ".venv", ".sfcloud", "**/*.key", "**/.env"} <= ignored


def test_every_package_setuptools_builds_is_copied():
    found = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]
    packages = {path.parent.name for path in ROOT.glob("*/__init__.py")}
    folders = {name for name in packages if any(fnmatch(name, pattern) for pattern in found["include"])}
    folders |= set(found["where"]) - {"."}  # proto/ (sfcloud) and ext/ (tscodec)
    copied = set(re.findall(r"^COPY (\S+) ", STAGES[0], re.MULTILINE))
    assert folders <= copied, folders - copied
