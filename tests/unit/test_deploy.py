"""deploy/: the Kubernetes manifests validate offline against the API schemas (kubernetes-validate) and
carry what running beyond one machine needs; the RabbitMQ definitions file is the one shared/topology.py
generates; the compose file wires what the services need."""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from huiying.topology import DEFINITIONS, render_definitions
from shared.settings import SECRETS, SERVICES

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.30.0"


def manifests() -> list[tuple[str, dict[str, Any]]]:
    return [
        (path.name, doc)
        for path in sorted((DEPLOY / "kubernetes").glob("*.yaml"))
        for doc in yaml.safe_load_all(path.read_text())
        if doc
    ]


def by_kind() -> dict[str, dict[str, dict[str, Any]]]:
    out: dict[str, dict[str, dict[str, Any]]] = defaultdict(dict)
    for _, doc in manifests():
        out[doc["kind"]][doc["metadata"]["name"]] = doc
    return out


@pytest.mark.parametrize("name,doc", manifests(), ids=lambda v: v if isinstance(v, str) else v["kind"])
def test_each_manifest_validates_against_the_kubernetes_schemas(name: str, doc: dict[str, Any]) -> None:
    kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)  # raises with the field at fault


def test_every_service_has_probes_resources_an_autoscaler_and_a_disruption_budget() -> None:
    kinds = by_kind()
    assert set(kinds["Deployment"]) == set(SERVICES)
    for service in SERVICES:
        (container,) = kinds["Deployment"][service]["spec"]["template"]["spec"]["containers"]
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"]) & set(container["resources"]["limits"])
        assert kinds["HorizontalPodAutoscaler"][service]["spec"]["scaleTargetRef"]["name"] == service
        assert kinds["PodDisruptionBudget"][service]["spec"]["selector"]["matchLabels"] == {
            "app.kubernetes.io/name": service
        }
        env = {e["name"]: e for e in container["env"]}
        for secret in SECRETS:  # the three secrets come from the Secret, never from plain values
            assert env[f"HUIYING_{secret.upper()}"]["valueFrom"]["secretKeyRef"]["name"] == "huiying-secrets"
        assert "valueFrom" in env["HUIYING_AMQP_URL"]
    secret = kinds["Secret"]["huiying-secrets"]["stringData"]
    assert {f"HUIYING_{s.upper()}" for s in SECRETS} <= set(secret)
    assert kinds["ConfigMap"]["huiying-config"]["data"]["HUIYING_MODE"] == "prod"


def test_the_committed_definitions_are_the_generated_ones() -> None:
    assert DEFINITIONS.read_text() == render_definitions(), "run `huiying topology definitions`"


def test_the_definitions_let_each_service_publish_only_its_own_event_types() -> None:
    topics = {t["user"]: t["write"] for t in json.loads(DEFINITIONS.read_text())["topic_permissions"]}
    assert topics == {
        "huiying-intake": r"^(request\.[^.]+|signup\.[^.]+|privacy\.export_part|privacy\.erased)$",
        "huiying-routing": r"^(task\.[^.]+|staff\.[^.]+|care\.[^.]+|serviceday\.[^.]+|ledger\.[^.]+"
        r"|privacy\.export_requested|privacy\.erasure_requested|privacy\.export_part|privacy\.erased|config\.[^.]+)$",
        # every service answers privacy requests (shared/events/privacy.py); notify publishes nothing else
        "huiying-notify": r"^(privacy\.export_part|privacy\.erased)$",
    }


def test_compose_runs_each_service_in_prod_with_its_own_broker_user() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    for service in SERVICES:
        spec = compose["services"][service]
        assert spec["environment"]["HUIYING_MODE"] == "prod"
        assert spec["environment"]["HUIYING_AMQP_URL"].startswith(f"amqp://huiying-{service}:")
    assert (DEPLOY / compose["configs"]["definitions"]["file"]).resolve() == DEFINITIONS.resolve()
