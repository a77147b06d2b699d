"""The fleet examples speak the daemon's language: every metric the Grafana dashboard
queries is one the daemon exports."""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml
from prometheus_client import generate_latest

from edge_runtime.api.prometheus import Metrics

FLEET = Path(__file__).resolve().parents[2] / "examples" / "fleet"


def exported_names() -> set[str]:
    """Sample names of a daemon with a camera, zones and MQTT (values made up: names are
    what this checks)."""
    m = Metrics()
    m.camera.read = lambda: dict.fromkeys(m.camera.COUNTS, 1)
    m.zone_fraction.labels("gate", "person").set(0.1)
    m.events.labels("gate", "person").inc()
    m.inference.labels("camera").observe(0.01)
    m.requests.labels("/v1/segment", "POST", "200").inc()
    text = generate_latest(m.registry).decode()
    return {line.split("{")[0].split()[0] for line in text.splitlines() if line[:1].isalpha()}


def test_every_dashboard_metric_is_exported() -> None:
    dash = json.loads((FLEET / "grafana-dashboard.json").read_text())
    names = exported_names()
    used = set()
    for panel in dash["panels"]:
        for target in panel["targets"]:
            used |= set(re.findall(r"\bedge_[a-z_]+", target["expr"]))
    assert used, "the dashboard queries nothing"
    assert used <= names, sorted(used - names)


def test_the_scrape_config_is_valid_yaml_with_a_job() -> None:
    cfg = yaml.safe_load((FLEET / "prometheus.yml").read_text())
    job = cfg["scrape_configs"][0]
    assert job["job_name"] == "edge-runtime" and job["authorization"]["type"] == "Bearer"
