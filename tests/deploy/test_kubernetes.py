"""The Kubernetes manifests (deploy/kubernetes), validated offline against the bundled API schemas."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.normalizer.settings import NormalizerSettings
from services.poller.feeds import load_feeds
from services.poller.settings import PollerSettings
from services.sink.settings import SinkSettings
from tests.deploy.tools import CONTAINER_PORT, KUBERNETES, SERVICES, load_yaml, load_yaml_documents, run_tool

KUSTOMIZATION = KUBERNETES / "kustomization.yaml"
EXAMPLE_SECRET = KUBERNETES / "secret.example.yaml"


def _manifests() -> list[Path]:
    return sorted(path for path in KUBERNETES.glob("*.yaml") if path != KUSTOMIZATION)


def _resources() -> list[dict[str, Any]]:
    return [doc for path in _manifests() for doc in load_yaml_documents(path)]


def _of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {doc["metadata"]["name"]: doc for doc in _resources() if doc["kind"] == kind}


def test_manifests_validate_strictly() -> None:
    run_tool("kubernetes-validate", "--strict", "--quiet", *_manifests())


def test_kustomization_applies_every_manifest_but_the_example_secret() -> None:
    listed = set(load_yaml(KUSTOMIZATION)["resources"])
    assert listed == {path.name for path in _manifests()} - {EXAMPLE_SECRET.name}


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_probes_resources_and_scrape_annotations(service: str) -> None:
    deployment = _of_kind("Deployment")[f"wirefeed-{service}"]
    template = deployment["spec"]["template"]
    (container,) = template["spec"]["containers"]
    assert container["args"] == [service]
    assert container["ports"][0]["containerPort"] == CONTAINER_PORT
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    # /healthz answers while a service waits at start for Kafka or its database: bounding that wait is
    # readiness's to do.
    assert container["startupProbe"]["httpGet"]["path"] == "/readyz"
    for kind in ("requests", "limits"):
        assert {"cpu", "memory"} <= set(container["resources"][kind])
    annotations = template["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert annotations["prometheus.io/port"] == str(CONTAINER_PORT)
    assert annotations["prometheus.io/path"] == "/metrics"
    assert template["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    refs = [source.get("secretRef", source.get("configMapRef", {}))["name"] for source in container["envFrom"]]
    assert refs == ["wirefeed-env", "wirefeed-credentials"]


def _bytes(quantity: str) -> int:
    number, unit = quantity.rstrip("KMGi"), quantity[len(quantity.rstrip("KMGi")):]
    return int(number) * {"": 1, "Ki": 2**10, "Mi": 2**20, "Gi": 2**30}[unit]


def test_the_shared_settings_are_real_and_leave_each_service_room_for_a_compression_bomb(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # A consumer holds a batch up to WIREFEED_KAFKA_MAX_BATCH_BYTES while decompressing it: a bomb at the
    # default 256 MiB would take the sink past its limit, and it would be restarted into the same batch.
    # The poller's polls hold up to WIREFEED_MAX_BODY_BYTES_IN_FLIGHT of bodies, and the poller peaked at
    # about four times that with their parsing (bench/bench_body_budget.py); five, and its own ~100 MiB, fit.
    shared = _of_kind("ConfigMap")["wirefeed-env"]["data"]
    fields = {name for kind in (PollerSettings, NormalizerSettings, SinkSettings) for name in kind.model_fields}
    assert {key.removeprefix("WIREFEED_").lower() for key in shared} <= fields  # a misspelt name is ignored
    for key, value in shared.items():
        monkeypatch.setenv(key, value)
    for service, settings in (("normalizer", NormalizerSettings()), ("sink", SinkSettings())):  # type: ignore[call-arg]
        (container,) = _of_kind("Deployment")[f"wirefeed-{service}"]["spec"]["template"]["spec"]["containers"]
        assert settings.kafka_max_batch_bytes <= _bytes(container["resources"]["limits"]["memory"]) // 4
    (poller,) = _of_kind("Deployment")["wirefeed-poller"]["spec"]["template"]["spec"]["containers"]
    budget = PollerSettings().max_body_bytes_in_flight  # type: ignore[call-arg]
    assert 5 * budget + 128 * 2**20 <= _bytes(poller["resources"]["limits"]["memory"])


def test_the_normalizer_and_the_sink_are_never_put_in_one_consumer_group() -> None:
    # WIREFEED_GROUP_ID is one variable read by both stages: in the ConfigMap they share, it would make them
    # one group, each rebalancing the other's partitions at every start and stop.
    shared = _of_kind("ConfigMap")["wirefeed-env"]["data"]
    assert "WIREFEED_GROUP_ID" not in shared
    groups = set()
    for service, kind in (("normalizer", NormalizerSettings), ("sink", SinkSettings)):
        (container,) = _of_kind("Deployment")[f"wirefeed-{service}"]["spec"]["template"]["spec"]["containers"]
        env = {**shared, **{var["name"]: var.get("value") for var in container.get("env", [])}}
        groups.add(kind(group_id=env.get("WIREFEED_GROUP_ID"),  # type: ignore[call-arg]
                        topic_prefix=env["WIREFEED_TOPIC_PREFIX"]).consumer_group)
    assert len(groups) == 2


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_has_a_service_selecting_its_pods(service: str) -> None:
    selector = _of_kind("Service")[f"wirefeed-{service}"]["spec"]["selector"]
    labels = _of_kind("Deployment")[f"wirefeed-{service}"]["spec"]["template"]["metadata"]["labels"]
    assert selector.items() <= labels.items()
    assert labels["app.kubernetes.io/component"] == service  # the scrape job names itself after it


@pytest.mark.parametrize("service", ["normalizer", "sink"])
def test_a_replicated_service_keeps_a_replica_through_a_node_drain(service: str) -> None:
    deployment = _of_kind("Deployment")[f"wirefeed-{service}"]
    budget = _of_kind("PodDisruptionBudget")[f"wirefeed-{service}"]["spec"]
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert budget["selector"]["matchLabels"].items() <= labels.items()
    assert budget["maxUnavailable"] < deployment["spec"]["replicas"]
    (spread,) = deployment["spec"]["template"]["spec"]["topologySpreadConstraints"]
    assert spread["topologyKey"] == "kubernetes.io/hostname"
    assert spread["labelSelector"]["matchLabels"].items() <= labels.items()


def test_the_single_poller_has_no_budget_that_would_block_a_drain() -> None:
    # One replica under minAvailable: 1 could never be evicted; its leases let a new pod take over.
    assert _of_kind("Deployment")["wirefeed-poller"]["spec"]["replicas"] == 1
    assert "wirefeed-poller" not in _of_kind("PodDisruptionBudget")


def test_the_poller_mounts_the_feeds_config_map(tmp_path: Path) -> None:
    feeds = _of_kind("ConfigMap")["wirefeed-feeds"]["data"]["feeds.yaml"]
    path = tmp_path / "feeds.yaml"
    path.write_text(feeds, encoding="utf-8")
    assert load_feeds(path).feeds
    spec = _of_kind("Deployment")["wirefeed-poller"]["spec"]["template"]["spec"]
    (container,) = spec["containers"]
    mount = next(m for m in container["volumeMounts"] if m["name"] == "feeds")
    env = {item["name"]: item["value"] for item in container["env"]}
    assert env["WIREFEED_FEEDS_FILE"] == f"{mount['mountPath']}/feeds.yaml"
    assert any(v.get("configMap", {}).get("name") == "wirefeed-feeds" for v in spec["volumes"])


def test_the_example_secret_is_marked_and_holds_the_database_url() -> None:
    (secret,) = load_yaml_documents(EXAMPLE_SECRET)
    assert secret["kind"] == "Secret"
    assert "WIREFEED_DATABASE_URL" in secret["stringData"]
    assert all("EXAMPLE" in value for value in secret["stringData"].values())
    assert "EXAMPLE ONLY" in EXAMPLE_SECRET.read_text(encoding="utf-8")
