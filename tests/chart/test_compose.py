"""compose.yaml and the Dockerfile, checked without Docker: structure, references, paths."""

from __future__ import annotations

import ast
import pathlib
import re
from typing import Any

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DOCKERFILE = ROOT / "Dockerfile"


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return loaded


def _services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    services: dict[str, dict[str, Any]] = compose["services"]
    return services


def test_expected_services(compose: dict[str, Any]) -> None:
    assert set(_services(compose)) == {"localstack", "k3s", "init", "operator"}


def test_every_service_has_an_image_or_build(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        assert "image" in service or "build" in service, name


def test_build_contexts_and_dockerfiles_exist(compose: dict[str, Any]) -> None:
    for name, service in _services(compose).items():
        build = service.get("build")
        if build is None:
            continue
        context = ROOT / (build if isinstance(build, str) else build.get("context", "."))
        assert context.is_dir(), name
        dockerfile = "Dockerfile" if isinstance(build, str) else build.get("dockerfile", "")
        assert (context / (dockerfile or "Dockerfile")).is_file(), name


def test_bind_mounts_exist_and_named_volumes_are_declared(compose: dict[str, Any]) -> None:
    declared = set(compose.get("volumes") or {})
    for name, service in _services(compose).items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0] if isinstance(volume, str) else volume["source"]
            if source.startswith((".", "/")):
                assert (ROOT / source).exists(), f"{name}: {source}"
            else:
                assert source in declared, f"{name}: undeclared volume {source}"


def test_depends_on_references_exist(compose: dict[str, Any]) -> None:
    services = _services(compose)
    for name, service in services.items():
        depends = service.get("depends_on", [])
        for other in depends:
            assert other in services, f"{name} depends on unknown {other}"
            assert other != name
        network_mode = service.get("network_mode", "")
        if network_mode.startswith("service:"):
            assert network_mode.removeprefix("service:") in services


def test_operator_reaches_kubernetes_and_localstack(compose: dict[str, Any]) -> None:
    operator = _services(compose)["operator"]
    assert operator["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert operator["environment"]["AWS_ENDPOINT_URL"] == "http://localstack:4566"
    assert operator["command"][0] == "run"
    kubeconfig = next(a for a in operator["command"] if a.startswith("--kubeconfig="))
    mount_points = [v.split(":")[1] for v in operator["volumes"]]
    assert any(kubeconfig.removeprefix("--kubeconfig=").startswith(m) for m in mount_points)
    # The k3s service writes the kubeconfig into the volume the operator mounts.
    k3s = _services(compose)["k3s"]
    output = k3s["environment"]["K3S_KUBECONFIG_OUTPUT"]
    shared = {v.split(":")[0]: v.split(":")[1] for v in k3s["volumes"]}
    assert any(output.startswith(path) for path in shared.values())
    assert k3s["privileged"] is True


def test_operator_args_parse() -> None:
    from asyncso import cli

    operator = yaml.safe_load(COMPOSE.read_text())["services"]["operator"]
    args = cli.build_parser().parse_args(operator["command"])
    assert args.command == "run"


def test_init_script_is_valid_python(compose: dict[str, Any]) -> None:
    init = _services(compose)["init"]
    assert init["entrypoint"] == ["python", "-c"]
    ast.parse(init["command"][0])
    assert "$" not in init["command"][0]  # compose would interpolate it


def test_dockerfile_shape() -> None:
    text = DOCKERFILE.read_text()
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", text, flags=re.MULTILINE)
    assert [alias for _, alias in stages] == ["builder", "runtime"]
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", text, flags=re.MULTILINE)
    runtime = text.split("AS runtime", 1)[1]
    assert "build-essential" not in runtime
    assert "USER 65532:65532" in runtime
    assert 'ENTRYPOINT ["asyncso"]' in runtime
    assert 'CMD ["run"]' in runtime
    for source in re.findall(r"^COPY (?!--from)(.+?) \S+$", text, flags=re.MULTILINE):
        for path in source.split():
            assert (ROOT / path).exists(), path


def test_dockerignore_keeps_what_the_build_copies() -> None:
    rules = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert rules[0] == "*"
    kept = {r.removeprefix("!").rstrip("/") for r in rules if r.startswith("!")}
    assert kept >= {"pyproject.toml", "README.md", "constraints.txt", "src"}
