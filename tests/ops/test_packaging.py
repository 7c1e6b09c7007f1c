"""Docker and GitHub workflows: what can be checked without a Docker engine or GitHub."""

from __future__ import annotations

import re

import yaml

from helpers import REPO_ROOT


def compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((REPO_ROOT / "docker-compose.yml").read_text())


def unit_value(unit: str, key: str) -> str:
    match = re.search(rf"^{key}=(.+)$", (REPO_ROOT / "deploy" / unit).read_text(), re.M)
    assert match, key
    return match.group(1).strip()


def test_compose_runs_scheduler_api_and_postgres_from_one_image() -> None:
    services = compose()["services"]
    assert set(services) == {"postgres", "scheduler", "api"}
    assert services["scheduler"]["command"] == ["python", "-m", "workflows.integrated_scheduler", "start"]
    assert services["api"]["command"] == ["python", "api-server/main.py"]
    for name in ("scheduler", "api"):
        service = services[name]
        assert service["build"] == "." and service["depends_on"]["postgres"]["condition"] == "service_healthy"
        assert service["environment"]["DATABASE_URL"].startswith("postgresql://hantu:")
        assert service["environment"]["DATABASE_URL"].endswith("@postgres:5432/hantu_quant")
    assert (REPO_ROOT / "workflows" / "integrated_scheduler.py").is_file()
    assert (REPO_ROOT / "api-server" / "main.py").is_file()
    # the API binds every interface in its container, so a key is required (S1), and the port is loopback
    assert services["api"]["environment"]["API_HOST"] == "0.0.0.0"
    assert services["api"]["environment"]["API_SERVER_KEY"].startswith("${API_SERVER_KEY:?")
    assert services["api"]["ports"] == ["127.0.0.1:8000:8000"]
    assert "pg_isready" in services["postgres"]["healthcheck"]["test"][1]


def test_compose_limits_match_the_systemd_units() -> None:
    services = compose()["services"]
    for name, unit in (("scheduler", "hantu-scheduler.service"), ("api", "hantu-api.service")):
        assert services[name]["mem_limit"] == unit_value(unit, "MemoryMax").lower()
        assert services[name]["stop_grace_period"] == unit_value(unit, "TimeoutStopSec") + "s"


def test_dockerfile_builds_the_same_code_and_runs_unprivileged() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.1[1-9]", text, re.M)
    for source in ("src", "workflows", "api-server", "pyproject.toml"):
        assert re.search(rf"^COPY .*{re.escape(source)}", text, re.M), source
    assert "pip install --prefer-binary ." in text
    assert re.search(r"^USER hantu$", text, re.M)
    assert 'CMD ["python", "-m", "workflows.integrated_scheduler", "start"]' in text
    ignored = (REPO_ROOT / ".dockerignore").read_text().split()
    assert ".env" in ignored and ".git" in ignored


def test_ci_workflow_runs_the_ci_script() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "ci.yml").read_text())
    steps = workflow["jobs"]["test"]["steps"]
    runs = [s.get("run", "") for s in steps]
    assert "bash .ci/run" in runs and any("system_deps.sh" in r for r in runs)
    assert workflow["jobs"]["test"]["services"]["postgres"]["env"]["POSTGRES_HOST_AUTH_METHOD"] == "trust"


def test_deploy_workflow_calls_deploy_sh_over_ssh() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github" / "workflows" / "deploy.yml").read_text())
    triggers = workflow[True] if True in workflow else workflow["on"]  # YAML 1.1 reads `on` as True
    assert triggers["workflow_run"]["workflows"] == ["CI"] and "workflow_dispatch" in triggers
    script = workflow["jobs"]["deploy"]["steps"][-1]["run"]
    assert "ssh " in script and "bash scripts/deployment/deploy.sh" in script
    assert '"$code" = 4' in script  # a refusal during the session is a warning, not a failed deploy
    assert "github.event.workflow_run.conclusion == 'success'" in workflow["jobs"]["deploy"]["if"]


def test_korean_guide_names_only_what_exists() -> None:
    doc = (REPO_ROOT / "docs" / "deploy-micro.ko.md").read_text()
    scripts = set(re.findall(r"(?:bash )((?:scripts|deploy)/[\w/.-]+\.sh)", doc))
    assert len(scripts) >= 8
    for script in scripts:
        assert (REPO_ROOT / script).is_file(), script
    from typer.main import get_command

    from hantu.cli.main import app

    ops = get_command(app).commands["ops"].commands  # type: ignore[attr-defined]
    for sub in set(re.findall(r"hantu ops ([a-z-]+)", doc)):
        assert sub in ops, sub
    deploy_options = {opt for param in ops["deploy"].params for opt in param.opts + param.secondary_opts}
    for option in set(re.findall(r"`(--[a-z-]+)", doc.split("## 4.")[1].split("## 5.")[0])):
        assert option in deploy_options, option


def test_requirements_txt_installs_the_project_itself() -> None:
    """The deployment guide runs `pip install -r requirements.txt` in the project directory: that must install
    `hantu` with the dependency ranges of pyproject.toml (no second list to drift)."""
    import json
    import os
    import subprocess
    import sys

    lines = [line for line in (REPO_ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    assert lines == ["-e ."]
    done = subprocess.run([sys.executable, "-m", "pip", "install", "--dry-run", "--no-deps", "--quiet", "--report",
                           "-", "-r", "requirements.txt"], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=300, env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert done.returncode == 0, done.stderr
    assert [item["metadata"]["name"] for item in json.loads(done.stdout)["install"]] == ["hantu"]


def test_the_units_writable_paths_exist_in_a_fresh_clone() -> None:
    """The guide's manual install copies the units as they are: systemd refuses to start a unit whose
    ReadWritePaths do not exist (226/NAMESPACE), so `data/` and `logs/` come with the clone."""
    import subprocess

    tracked = set(subprocess.run(["git", "ls-files"], cwd=REPO_ROOT, capture_output=True, text=True,
                                 check=True).stdout.split())
    for unit in ("hantu-api.service", "hantu-scheduler.service"):
        for path in unit_value(unit, "ReadWritePaths").split():
            relative = path.lstrip("-").removeprefix("/opt/hantu_quant/")
            assert f"{relative}/.gitkeep" in tracked, (unit, path)
