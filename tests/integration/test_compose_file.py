"""docker-compose.yml is valid and starts things in a safe order; the image runs unprivileged.

Needs the ``docker-compose`` command (Debian's package: ``apt-get install docker-compose``)
but no Docker engine: ``docker-compose config`` only reads and validates the file.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
COMPOSE_FILE = REPO / "docker-compose.yml"
DOCKERFILE = REPO / "deploy" / "Dockerfile"
INFRASTRUCTURE = ("rabbitmq", "postgres")
SERVICES = ("billing", "orders", "invoicing", "documents")
APPLICATION = (*SERVICES, "gateway")


def compose(*args: str) -> subprocess.CompletedProcess[str]:
    executable = shutil.which("docker-compose")
    if executable is None:
        pytest.fail(
            "docker-compose is not on PATH; install Debian's docker-compose package "
            "(apt-get install docker-compose) to validate docker-compose.yml"
        )
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("COMPOSE_") and name != "DOCKER_HOST"
    }
    env["SECRET_KEY"] = "test-only-secret-key-0123456789abcdef"
    return subprocess.run(
        [executable, "-f", str(COMPOSE_FILE), *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture(scope="module")
def resolved() -> dict[str, Any]:
    answer = compose("config")
    assert answer.returncode == 0, answer.stderr
    return yaml.safe_load(answer.stdout)


def dependency_conditions(services: dict[str, Any], name: str) -> dict[str, str]:
    """``depends_on`` of a service as {dependency: condition}, whichever syntax it used."""
    depends_on = services[name].get("depends_on") or {}
    if isinstance(depends_on, list):
        return {dependency: "service_started" for dependency in depends_on}
    return {dependency: (spec or {}).get("condition", "service_started")
            for dependency, spec in depends_on.items()}


def waits_for_healthy(services: dict[str, Any], name: str) -> set[str]:
    """Every service ``name`` waits to be healthy before it starts, directly or through
    a dependency that itself waits for it."""
    seen: set[str] = set()
    pending = [name]
    while pending:
        for dependency, condition in dependency_conditions(services, pending.pop()).items():
            if condition == "service_healthy" and dependency not in seen:
                seen.add(dependency)
                pending.append(dependency)
    return seen


def test_compose_file_is_valid() -> None:
    answer = compose("config", "-q")
    assert answer.returncode == 0, f"docker-compose config -q failed:\n{answer.stderr}"


def test_every_process_waits_for_healthy_infrastructure_and_has_a_healthcheck(
    resolved: dict[str, Any],
) -> None:
    services = resolved["services"]
    for name in (*INFRASTRUCTURE, *APPLICATION):
        assert name in services, f"{name} is missing from docker-compose.yml"
        healthcheck = services[name].get("healthcheck")
        assert healthcheck and healthcheck.get("test") and not healthcheck.get("disable"), (
            f"{name} has no healthcheck"
        )
        assert healthcheck["test"] != ["NONE"], f"{name} has its healthcheck disabled"

    for name in SERVICES:
        direct = dependency_conditions(services, name)
        for dependency in INFRASTRUCTURE:
            assert direct.get(dependency) == "service_healthy", (
                f"{name} must depend on {dependency} with condition: service_healthy"
            )

    gateway_waits_for = waits_for_healthy(services, "gateway")
    for dependency in (*INFRASTRUCTURE, *SERVICES):
        assert dependency in gateway_waits_for, (
            f"gateway must wait for {dependency} to be healthy"
        )


def test_application_runs_from_the_image_as_a_non_root_user(resolved: dict[str, Any]) -> None:
    services = resolved["services"]
    for name in APPLICATION:
        build = services[name].get("build") or {}
        context = Path(build.get("context", REPO))
        dockerfile = (context / build.get("dockerfile", "Dockerfile")).resolve()
        assert dockerfile == DOCKERFILE, f"{name} is not built from deploy/Dockerfile"
        assert "user" not in services[name] or services[name]["user"] not in ("root", "0"), (
            f"{name} overrides the image's user with root"
        )

    users = re.findall(r"^\s*USER\s+(\S+)", DOCKERFILE.read_text(), flags=re.MULTILINE)
    assert users, "deploy/Dockerfile has no USER line"
    user = users[-1].split(":")[0]
    assert user not in ("root", "0"), f"deploy/Dockerfile runs as {users[-1]}"


def test_postgres_init_script_creates_every_database() -> None:
    script = (REPO / "deploy" / "postgres-init.sh").read_text()
    for owner in (*SERVICES, "gateway"):
        assert re.search(rf"\b{owner}\b", script), f"postgres-init.sh does not create {owner}"
