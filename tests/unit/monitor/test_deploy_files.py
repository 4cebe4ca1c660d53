"""The deployment files' structure: no Docker engine or Grafana here, so their shape is checked.

Compose files parse and name the stack's services, ports (loopback only) and
volumes; Prometheus' own ``promtool`` accepts ``prometheus.yml``; every panel
of every shipped Grafana dashboard names the provisioned datasource and has
a PromQL expression (that each expression returns data is the integration
test's job, against a real Prometheus).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[3]
DASHBOARDS = ROOT / "deploy" / "grafana" / "dashboards"


def _yaml(path: Path) -> dict[str, object]:
    loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict)
    return loaded


def test_compose_declares_the_stack_with_loopback_ports_and_volumes() -> None:
    compose = _yaml(ROOT / "docker-compose.yaml")
    services = compose["services"]
    assert isinstance(services, dict)
    assert {"alphagate", "redis", "postgres", "prometheus", "grafana", "jupyter"} <= set(services)
    assert services["jupyter"]["profiles"] == ["research"]
    assert "timescaledb" in services["postgres"]["image"]
    for name, service in services.items():
        for port in service.get("ports", []):
            assert str(port).startswith("127.0.0.1:"), f"{name} publishes {port} beyond loopback"
    declared = set(compose["volumes"])
    for service in services.values():
        for volume in service.get("volumes", []):
            source = str(volume).split(":")[0]
            if not source.startswith("."):
                assert source in declared, f"volume {source} is not declared"
            else:
                assert (ROOT / source).exists(), f"{source} is mounted but missing"
    engine = services["alphagate"]
    assert "--serve" in engine["command"] and engine["build"] == "."
    assert "ALPHAGATE_SERVE_TOKEN" in engine["environment"]


def test_compose_holds_no_secret_values() -> None:
    text = (ROOT / "docker-compose.yaml").read_text(encoding="utf-8")
    for line in text.splitlines():
        secret = "PASSWORD" in line or "TOKEN" in line
        if secret and ":" in line and not line.strip().startswith("#"):
            value = line.partition(":")[2]
            assert not value.strip() or "${" in value, f"a secret is written in: {line}"


def test_override_only_changes_declared_services() -> None:
    compose = _yaml(ROOT / "docker-compose.yaml")
    override = _yaml(ROOT / "docker-compose.override.yaml")
    assert set(override["services"]) <= set(compose["services"])


def test_dockerfile_installs_the_package_and_runs_as_a_user() -> None:
    text = (ROOT / "Dockerfile").read_text(encoding="utf-8")
    assert text.startswith("#") and "FROM python:3.11" in text
    assert "pip install ." in text and "USER alphagate" in text
    assert 'ENTRYPOINT ["alphagate"]' in text and "HEALTHCHECK" in text and "/health" in text


@pytest.mark.skipif(shutil.which("promtool") is None, reason="promtool not installed")
def test_promtool_accepts_prometheus_yml() -> None:
    done = subprocess.run(
        ["promtool", "check", "config", str(ROOT / "deploy" / "prometheus.yml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    targets = _yaml(ROOT / "deploy" / "prometheus.yml")["scrape_configs"]
    assert any(job["job_name"] == "alphagate" for job in targets)


def test_grafana_provisioning_points_at_the_dashboards_and_prometheus() -> None:
    provisioning = ROOT / "deploy" / "grafana" / "provisioning"
    source = _yaml(provisioning / "datasources" / "prometheus.yaml")["datasources"][0]
    assert source["type"] == "prometheus" and source["uid"] == "prometheus"
    provider = _yaml(provisioning / "dashboards" / "alphagate.yaml")["providers"][0]
    compose = _yaml(ROOT / "docker-compose.yaml")
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./deploy/grafana/dashboards:{provider['options']['path']}:ro" in mounts


def test_every_dashboard_panel_has_a_datasource_and_an_expression() -> None:
    found = sorted(p.stem for p in DASHBOARDS.glob("*.json"))
    assert found == ["execution-quality", "model-health", "pnl", "system-health"]
    uids = set()
    for path in DASHBOARDS.glob("*.json"):
        board = json.loads(path.read_text(encoding="utf-8"))
        uids.add(board["uid"])
        assert board["panels"], f"{path.name} has no panel"
        for panel in board["panels"]:
            assert panel["datasource"] == {"type": "prometheus", "uid": "prometheus"}, panel
            assert panel["targets"], f"{path.name}: {panel['title']} has no query"
            for target in panel["targets"]:
                assert target["expr"].strip() and target["datasource"]["uid"] == "prometheus"
    assert len(uids) == 4
