"""The deployment files in docs/deploy/ are what they claim: the Kubernetes manifests pass the
API schemas (validated offline), reference their secrets and name only settings Limen reads, and
their commands, run here as written against a real PostgreSQL and Redis, migrate, serve and
answer the probes; the systemd units pass `systemd-analyze verify` with the real binaries."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import kubernetes_validate
import pytest
import yaml

from tests.conftest import base_env
from tests.support.live import REPO_ROOT
from tests.support.services import free_port
from webapp.settings import unknown_variables

DEPLOY = REPO_ROOT / "docs" / "deploy"
KUBERNETES_VERSION = "1.31.0"
SECRET_SETTINGS = {"LIMEN_SECRET_KEY", "LIMEN_DATABASE_URL", "LIMEN_REDIS_URL", "LIMEN_SMTP_URL"}
BIN = Path(sys.executable).parent


def manifests() -> list[dict[str, Any]]:
    docs: list[dict[str, Any]] = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        docs += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return docs


def of_kind(kind: str) -> dict[str, dict[str, Any]]:
    return {d["metadata"]["name"]: d for d in manifests() if d["kind"] == kind}


def containers() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for doc in manifests():
        if doc["kind"] in ("Deployment", "Job"):
            for c in doc["spec"]["template"]["spec"]["containers"]:
                found.append((doc["metadata"]["name"], c))
    return found


def test_every_manifest_passes_the_kubernetes_api_schema():
    docs = manifests()
    assert {d["kind"] for d in docs} >= {
        "ConfigMap",
        "Deployment",
        "Service",
        "PodDisruptionBudget",
        "Job",
    }
    for doc in docs:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)


def test_the_schema_check_refuses_a_misspelled_field():
    """The validation above can fail: a typo in a probe is caught offline."""
    web = of_kind("Deployment")["limen-web"]
    container = web["spec"]["template"]["spec"]["containers"][0]
    container["readinessProbe"]["httpGet"]["paht"] = container["readinessProbe"]["httpGet"].pop(
        "path"
    )
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def test_secrets_are_referenced_and_every_setting_is_one_limen_reads():
    config = of_kind("ConfigMap")["limen-config"]["data"]
    assert not SECRET_SETTINGS & set(config), "a secret in a ConfigMap"
    for name, c in containers():
        assert c["image"].rsplit(":", 1)[-1] not in ("", "latest"), name
        names = set(config)
        for var in c.get("env", []):
            names.add(var["name"])
            if var["name"] in SECRET_SETTINGS:
                assert "value" not in var and var["valueFrom"]["secretKeyRef"]["name"], name
        assert {"LIMEN_SECRET_KEY", "LIMEN_DATABASE_URL", "LIMEN_REDIS_URL"} <= names, name
        assert unknown_variables(dict.fromkeys(names, "x")) == [], name
        assert c["securityContext"]["allowPrivilegeEscalation"] is False, name


def test_probes_services_and_budgets_point_at_the_web_pods():
    web = of_kind("Deployment")["limen-web"]
    pod_labels = web["spec"]["template"]["metadata"]["labels"]
    container = web["spec"]["template"]["spec"]["containers"][0]
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    bind = container["command"][container["command"].index("--bind") + 1]
    assert int(bind.rsplit(":", 1)[1]) == container["ports"][0]["containerPort"]
    service = of_kind("Service")["limen-web"]
    assert service["spec"]["selector"].items() <= pod_labels.items()
    budget = of_kind("PodDisruptionBudget")["limen-web"]
    assert budget["spec"]["selector"]["matchLabels"].items() <= pod_labels.items()
    assert budget["spec"]["minAvailable"] < web["spec"]["replicas"]  # a drain can proceed


def _as_written(command: list[str], port: int) -> list[str]:
    """A manifest's command, run here: its binary from this install, on a loopback port."""
    out = [str(BIN / command[0]), *command[1:]]
    return [f"127.0.0.1:{port}" if part.startswith("0.0.0.0:") else part for part in out]


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float = 40) -> httpx.Response:
    deadline = time.monotonic() + timeout
    while True:
        assert proc.poll() is None, f"exited with {proc.returncode}"
        try:
            response = httpx.get(url, timeout=2)
            if response.status_code == 200:
                return response
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, f"{url} did not answer 200"
        time.sleep(0.2)


def test_the_manifests_commands_migrate_serve_and_answer_their_probes(redis_server, postgres):
    """Every container's command, as the manifests write it, with the ConfigMap's settings and
    the secrets a cluster would inject: migrate, then web, worker and cron run together."""
    database = postgres.create_database("limen_deploy_files")
    port = free_port()
    env = {
        **os.environ,
        **of_kind("ConfigMap")["limen-config"]["data"],
        **base_env(redis_server.url, database),
        "LIMEN_ISSUER": f"http://127.0.0.1:{port}",
    }
    commands = {name: c["command"] for name, c in containers()}
    migrate = subprocess.run(
        _as_written(commands["limen-migrate"], port),
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    started: list[subprocess.Popen[bytes]] = []
    try:
        for name in ("limen-web", "limen-worker", "limen-cron"):
            started.append(
                subprocess.Popen(
                    _as_written(commands[name], port),
                    env=env,
                    stdin=subprocess.DEVNULL,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                    start_new_session=True,
                )
            )
        web = started[0]
        assert _wait(f"http://127.0.0.1:{port}/healthz", web).json()["status"] == "ok"
        _wait(f"http://127.0.0.1:{port}/readyz", web)
        time.sleep(2)
        for proc in started:  # worker and cron are still running (settings accepted)
            assert proc.poll() is None, f"{proc.args[:2]} exited with {proc.returncode}"
    finally:
        for proc in started:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in started:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_units_verify_with_the_real_binaries(tmp_path):
    units = sorted((DEPLOY / "systemd").glob("*.service"))
    assert {u.name for u in units} >= {
        "limen-web.service",
        "limen-worker@.service",
        "limen-cron.service",
        "limen-migrate.service",
    }
    for unit in units:
        text = unit.read_text()
        assert "ExecStart=/opt/limen/bin/limen-server " in text
        (tmp_path / unit.name).write_text(text.replace("/opt/limen/bin/", f"{BIN}/"))
    result = subprocess.run(
        ["systemd-analyze", "verify", *[str(tmp_path / u.name) for u in units]],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and not result.stderr.strip(), result.stderr
    env_file = (DEPLOY / "systemd" / "limen.env.example").read_text().splitlines()
    names = {line.split("=", 1)[0] for line in env_file if line and not line.startswith("#")}
    assert {"LIMEN_SECRET_KEY", "LIMEN_DATABASE_URL", "LIMEN_REDIS_URL"} <= names
    assert unknown_variables(dict.fromkeys(names, "x")) == []


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_systemd_verify_catches_a_broken_unit(tmp_path):
    """The check above can fail: an unknown directive is reported."""
    unit = (DEPLOY / "systemd" / "limen-cron.service").read_text()
    broken = unit.replace("/opt/limen/bin/", f"{BIN}/").replace("Restart=", "Restrat=")
    (tmp_path / "limen-cron.service").write_text(broken)
    result = subprocess.run(
        ["systemd-analyze", "verify", str(tmp_path / "limen-cron.service")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert "Restrat" in result.stderr
