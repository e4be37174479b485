"""The image (deploy/Dockerfile) and the Compose stack (deploy/compose.yaml), validated offline."""

from __future__ import annotations

import ast
import fnmatch
import json
import re
import sys
import tomllib
from importlib import metadata
from pathlib import Path, PurePosixPath
from typing import Any

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from services.poller.feeds import load_feeds
from tests.deploy.tools import (
    COMPOSE,
    CONTAINER_PORT,
    DASHBOARD,
    DASHBOARD_PROVIDERS,
    DATASOURCES,
    DEPLOY,
    DOCKERFILE,
    DOCKERIGNORE,
    ROOT,
    SERVICES,
    dashboard,
    dashboard_panels,
    load_yaml,
    run_tool,
)


def _instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            instruction, _, arguments = line.strip().partition(" ")
            found.append((instruction.upper(), arguments.strip()))
    return found


def _final_stage() -> list[tuple[str, str]]:
    instructions = _instructions()
    last_from = max(i for i, (instruction, _) in enumerate(instructions) if instruction == "FROM")
    return instructions[last_from:]


def test_hadolint_passes() -> None:
    run_tool("hadolint", "--failure-threshold", "info", DOCKERFILE)


def test_the_image_is_multi_stage_on_slim_python_without_build_tools() -> None:
    bases = [arguments.split()[0] for instruction, arguments in _instructions() if instruction == "FROM"]
    assert len(bases) >= 2
    assert bases[-1] == "python:3.11-slim"
    final_runs = " ".join(arguments for instruction, arguments in _final_stage() if instruction == "RUN")
    for tool in ("apt-get install", "gcc", "build-essential", "pip install"):
        assert tool not in final_runs


def test_the_image_runs_unprivileged_with_an_exec_form_entrypoint_and_a_health_check() -> None:
    final = dict(_final_stage())  # the last of each instruction counts
    user = final["USER"].split(":")[0]
    assert user not in ("root", "0")
    assert json.loads(final["ENTRYPOINT"]) == ["wirefeed"]
    assert "/healthz" in final["HEALTHCHECK"] and "WIREFEED_METRICS_PORT" in final["HEALTHCHECK"]
    assert "curl" not in final["HEALTHCHECK"]
    env = " ".join(arguments for instruction, arguments in _final_stage() if instruction == "ENV")
    assert "PYTHONUNBUFFERED=1" in env
    assert f"WIREFEED_METRICS_PORT={CONTAINER_PORT}" in env
    assert str(CONTAINER_PORT) in final["EXPOSE"].split()


def test_the_build_context_filter_keeps_what_the_dockerfile_copies() -> None:
    kept = {line[1:].rstrip("/") for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
            if line.startswith("!")}
    for instruction, arguments in _instructions():
        if instruction == "COPY" and not arguments.startswith("--from"):
            *sources, _ = arguments.split()
            for source in sources:
                assert source.rstrip("/") in kept, f"{source} is excluded from the build context"
                assert (ROOT / source).exists()


def test_compose_matches_the_compose_specification() -> None:
    run_tool("check-jsonschema", "--builtin-schema", "vendor.compose-spec", COMPOSE)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    loaded: dict[str, Any] = load_yaml(COMPOSE)
    return loaded


def test_compose_builds_the_services_from_the_dockerfile(compose: dict[str, Any]) -> None:
    for name in SERVICES:
        service = compose["services"][name]
        assert service["build"] == {"context": "..", "dockerfile": "deploy/Dockerfile"}
        assert service["command"] == [name]
        assert service["ports"] == [f"127.0.0.1:{9401 + SERVICES.index(name)}:{CONTAINER_PORT}"]
        assert service["environment"]["WIREFEED_METRICS_PORT"] == str(CONTAINER_PORT)
        assert service["environment"]["WIREFEED_KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert service["environment"]["WIREFEED_DATABASE_URL"].startswith("postgresql://")


def test_compose_serves_the_demo_feeds_from_the_image(compose: dict[str, Any]) -> None:
    demo = compose["services"]["demo-feeds"]
    base = next(arguments for instruction, arguments in reversed(_instructions()) if instruction == "FROM")
    python = "python" + base.split(":")[1].split("-")[0]  # python:3.11-slim -> python3.11
    assert f"/opt/wirefeed/lib/{python}/site-packages/services/demo/feeds" in demo["entrypoint"]
    feeds = load_feeds(DEPLOY / "feeds" / "feeds.yaml").feeds
    assert {str(feed.url).rsplit("/", 1)[1] for feed in feeds} == {
        path.name for path in (ROOT / "services" / "demo" / "feeds").iterdir()}


def test_compose_mounts_the_feeds_files_directory_so_the_poller_sees_saves_by_rename(
        compose: dict[str, Any]) -> None:
    poller = compose["services"]["poller"]
    feeds_file = PurePosixPath(poller["environment"]["WIREFEED_FEEDS_FILE"])
    [(source, target)] = [(v.split(":-")[1].split("}")[0], v.split("}:")[1].split(":")[0])
                          for v in poller["volumes"] if "WIREFEED_COMPOSE_FEEDS_DIR" in v]
    assert PurePosixPath(target) == feeds_file.parent  # a directory mount, not the file itself
    assert (DEPLOY / source / feeds_file.name).is_file()


def test_compose_start_order_waits_on_health_checks(compose: dict[str, Any]) -> None:
    services = compose["services"]
    for name, service in services.items():
        for dependency, condition in service.get("depends_on", {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if condition["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{dependency} has no healthcheck"
    for name in SERVICES:
        assert services[name]["depends_on"]["kafka"]["condition"] == "service_healthy"
        assert services[name]["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert "/readyz" in " ".join(services[name]["healthcheck"]["test"])


def test_compose_never_puts_the_normalizer_and_the_sink_in_one_consumer_group(compose: dict[str, Any]) -> None:
    # WIREFEED_GROUP_ID is one variable read by both stages: in the environment they share, it would make
    # them one group, each rebalancing the other's partitions at every start and stop.
    assert "WIREFEED_GROUP_ID" not in compose["x-wirefeed-environment"]
    environments = [compose["services"][stage]["environment"] for stage in ("normalizer", "sink")]
    groups = {env.get("WIREFEED_GROUP_ID") for env in environments}
    assert groups == {None} or len(groups) == 2  # each stage's default, or a group of its own


def test_compose_uses_the_official_images(compose: dict[str, Any]) -> None:
    images = {name: service.get("image", "") for name, service in compose["services"].items()}
    assert images["kafka"].startswith("apache/kafka:")
    assert images["postgres"].startswith("postgres:")
    assert images["prometheus"].startswith("prom/prometheus:")
    assert images["grafana"].startswith("grafana/grafana:")
    assert compose["services"]["kafka"]["environment"]["KAFKA_PROCESS_ROLES"] == "broker,controller"


def test_compose_mounts_files_that_exist(compose: dict[str, Any]) -> None:
    for name, service in compose["services"].items():
        for volume in service.get("volumes", []):
            source = re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", volume.split(":")[0])
            if source.startswith("."):
                assert (DEPLOY / source).exists(), f"{name} mounts missing {source}"


def test_compose_prometheus_loads_the_project_rules(compose: dict[str, Any]) -> None:
    volumes = compose["services"]["prometheus"]["volumes"]
    assert "./prometheus/prometheus.yml:/etc/prometheus/prometheus.yml:ro" in volumes
    assert "./prometheus/rules.yml:/etc/prometheus/rules.yml:ro" in volumes


def test_the_feeds_files_are_valid() -> None:
    bundled = {path.name for path in (Path(__file__).resolve().parents[2] / "services" / "demo" / "feeds").iterdir()}
    urls = {str(feed.url).rsplit("/", 1)[1] for feed in load_feeds(DEPLOY / "feeds" / "feeds.yaml").feeds}
    assert urls == bundled  # the Compose stack polls every bundled sample feed


def test_grafana_provisions_the_datasource_the_dashboard_uses_and_loads_the_dashboard(
        compose: dict[str, Any]) -> None:
    datasources = [source for path in DATASOURCES.glob("*.yml") for source in load_yaml(path)["datasources"]]
    uids = {source["uid"] for source in datasources if source["type"] == "prometheus"}
    variable = next(v for v in dashboard()["templating"]["list"] if v["type"] == "datasource")
    assert variable["current"]["value"] in uids
    providers = [p for path in DASHBOARD_PROVIDERS.glob("*.yml") for p in load_yaml(path)["providers"]]
    mounted = {volume.split(":")[1] for volume in compose["services"]["grafana"]["volumes"]
               if volume.startswith("./grafana/dashboards")}
    assert {provider["options"]["path"] for provider in providers} <= mounted
    assert DASHBOARD.parent.name == "dashboards"


def test_dashboard_panels_are_well_formed() -> None:
    board = dashboard()
    assert board["uid"] and board["title"]
    panels = list(dashboard_panels())
    assert len({panel["id"] for panel in panels}) == len(panels)
    for panel in panels:
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
            assert all(target["datasource"]["uid"] == "${datasource}" for target in panel["targets"])
    titles = " ".join(panel["title"].lower() for panel in panels)
    for topic in ("per stage", "duplicate", "dead letters", "lag", "latency percentiles", "per-feed health",
                  "fetch outcomes"):
        assert topic in titles


def _package_data_patterns() -> dict[str, list[str]]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    patterns: dict[str, list[str]] = config["tool"]["setuptools"].get("package-data", {})
    return patterns


def _is_packaged(path: Path, patterns: dict[str, list[str]]) -> bool:
    """Whether setuptools' package-data puts ``path`` (a non-Python file) into the wheel."""
    for folder in path.parents:
        if folder == ROOT:
            return False
        if not (folder / "__init__.py").is_file():
            continue
        package = ".".join(folder.relative_to(ROOT).parts)
        relative = path.relative_to(folder).as_posix()
        if any(fnmatch.fnmatch(relative, pattern) for pattern in patterns.get(package, []) + patterns.get("*", [])):
            return True
    return False


def test_the_wheel_the_image_installs_carries_every_data_file() -> None:
    """The image installs the project as a wheel (not editable): data files outside package-data are lost,
    and a service reading them (migrations through importlib.resources) fails at start-up in the container."""
    patterns = _package_data_patterns()
    data_files = [path for top in ("services", "schemas") for path in sorted((ROOT / top).rglob("*"))
                  if path.is_file() and path.suffix not in (".py", ".pyc") and "__pycache__" not in path.parts]
    missing = [str(path.relative_to(ROOT)) for path in data_files if not _is_packaged(path, patterns)]
    assert missing == [], ("not in [tool.setuptools.package-data] of pyproject.toml, so not in the wheel "
                           "(nor the image):\n" + "\n".join(missing))


def _installed_closure(requirements: list[str]) -> set[str]:
    """Distributions that installing ``requirements`` brings in (as installed here), extras included."""
    found: set[str] = set()
    pending = [Requirement(text) for text in requirements]
    while pending:
        requirement = pending.pop()
        name = canonicalize_name(requirement.name)
        key = f"{name}[{','.join(sorted(requirement.extras))}]"
        if key in found:
            continue
        found |= {key, name}
        try:
            requires = metadata.distribution(name).requires or []
        except metadata.PackageNotFoundError:
            continue
        extras = requirement.extras or {""}
        for text in requires:
            child = Requirement(text)
            if child.marker is None or any(child.marker.evaluate({"extra": extra}) for extra in extras):
                pending.append(child)
    return found


def _newer_python_only(tree: ast.Module) -> set[ast.AST]:
    """The statements under ``if sys.version_info >= (3, N):``: they import what a later standard library
    has (``compression.zstd``), and the ``else`` branch what stands in for it here."""
    return {statement for node in ast.walk(tree)
            if isinstance(node, ast.If) and isinstance(node.test, ast.Compare)
            and ast.unparse(node.test.left) == "sys.version_info" and isinstance(node.test.ops[0], ast.GtE)
            for statement in node.body}


def test_every_third_party_import_comes_with_the_declared_dependencies() -> None:
    """The image installs pyproject's dependencies only: a module the services import must come with them."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    closure = _installed_closure(config["project"]["dependencies"])
    providers = metadata.packages_distributions()
    missing = set()
    for path in sorted((ROOT / "services").rglob("*.py")) + sorted((ROOT / "schemas").rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        newer_python_only = _newer_python_only(tree)
        for node in ast.walk(tree):
            if node in newer_python_only:
                continue
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                modules = [node.module]
            else:
                continue
            for top in {module.split(".")[0] for module in modules} - set(sys.stdlib_module_names):
                if top in ("services", "schemas"):
                    continue
                if not {canonicalize_name(d) for d in providers.get(top, [])} & closure:
                    missing.add(f"{path.relative_to(ROOT)}: {top}")
    assert sorted(missing) == [], "imported but not installed by [project] dependencies:\n" + "\n".join(sorted(missing))
