"""deploy/ manifests, validated offline: Kubernetes schemas and the compose specification."""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _documents() -> list[dict[str, Any]]:
    text = (DEPLOY / "kubernetes.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def _by_kind(kind: str) -> dict[str, Any]:
    (found,) = [doc for doc in _documents() if doc["kind"] == kind]
    return found


@pytest.mark.parametrize("document", _documents(), ids=lambda doc: doc["kind"])
def test_kubernetes_manifests_validate_strictly(document: dict[str, Any]) -> None:
    kubernetes_validate.validate(document, kubernetes_validate.latest_version(), strict=True)


def test_kubernetes_validation_catches_a_broken_manifest() -> None:
    deployment = _by_kind("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["imagePullPolicyy"] = "Always"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, kubernetes_validate.latest_version(), strict=True)


def _containers() -> dict[str, dict[str, Any]]:
    spec = _by_kind("Deployment")["spec"]["template"]["spec"]
    return {container["name"]: container for container in spec["containers"]}


def test_pod_has_no_service_account_token() -> None:
    assert (
        _by_kind("Deployment")["spec"]["template"]["spec"]["automountServiceAccountToken"] is False
    )


def test_git_sync_is_a_pinned_v4_with_writable_tmp_probe_and_metrics() -> None:
    git_sync = _containers()["git-sync"]
    image, _, tag = git_sync["image"].rpartition(":")
    assert image == "registry.k8s.io/git-sync/git-sync"
    assert tag.startswith("v4.")
    assert tag.count(".") == 2
    args = git_sync["args"]
    assert any(arg.startswith("--max-failures=") and arg != "--max-failures=0" for arg in args)
    assert "--http-metrics" in args
    assert "--http-bind=:8081" in args
    assert git_sync["livenessProbe"]["httpGet"]["port"] == "git-sync-http"
    assert git_sync["securityContext"]["readOnlyRootFilesystem"] is True
    mounts = {mount["mountPath"]: mount["name"] for mount in git_sync["volumeMounts"]}
    volumes = {
        volume["name"]: volume
        for volume in _by_kind("Deployment")["spec"]["template"]["spec"]["volumes"]
    }
    assert "emptyDir" in volumes[mounts["/tmp"]]


def test_pod_disruption_budget_covers_the_replicas() -> None:
    budget = _by_kind("PodDisruptionBudget")
    labels = _by_kind("Deployment")["spec"]["template"]["metadata"]["labels"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert budget["spec"]["maxUnavailable"] == 1
    assert _by_kind("Deployment")["spec"]["replicas"] >= 2


def _compose_schema() -> dict[str, Any]:
    # The compose specification's schema as check-jsonschema vendors it (not a copy of ours).
    text = (
        resources.files("check_jsonschema.builtin_schemas.vendor")
        .joinpath("compose-spec.json")
        .read_text()
    )
    schema: dict[str, Any] = json.loads(text)
    return schema


def test_compose_file_follows_the_compose_specification() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    jsonschema.validate(compose, _compose_schema())


def test_compose_schema_rejects_a_misspelt_key() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    compose["services"]["attune-sync"]["enviroment"] = {}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(compose, _compose_schema())
