"""The deploy files parse and agree with the code: the env names they set are the ones the code reads, the module
the chart serves loads and exposes `defs`, the image installs extras that exist, and no real secret is in them.

Helm, Kubernetes and docker are not available to the tests; the chart's keys are checked against the values
schema of Dagster's chart as read from a recent version of its sources (helm/dagster/schema in dagster-io/dagster),
copied below as key lists. `helm template` remains the real check.
"""

from __future__ import annotations

import configparser
import importlib
import re
import tomllib
from pathlib import Path

import dagster as dg
import pytest
import yaml

from engagement_pipeline.config import Settings
from engagement_pipeline.defs.actions.resources import mailer_from_env
from engagement_pipeline.defs.resources import default_resources

ROOT = Path(__file__).resolve().parent.parent
DEPLOY = ROOT / "deploy"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
VALUES = yaml.safe_load((DEPLOY / "helm" / "values.yaml").read_text())
K8S_DOCS = [d for f in sorted((DEPLOY / "k8s").glob("*.yaml")) for d in yaml.safe_load_all(f.read_text()) if d]
PLACEHOLDER = re.compile(r"<[A-Z0-9_]+>|<your-[a-z.-]+>")

# Keys of the chart's values models that this file may set (DagsterHelmValues, Global, PostgreSQL,
# UserDeployments/UserDeployment, RunLauncher/K8sRunLauncherConfig/RunK8sConfig, Daemon).
CHART_KEYS = {
    "": {"global", "generatePostgresqlPasswordSecret", "postgresql", "dagsterWebserver", "dagster-user-deployments",
         "runLauncher", "dagsterDaemon", "telemetry", "serviceAccount", "computeLogManager", "ingress", "retention",
         "imagePullSecrets", "pythonLogs", "scheduler", "migrate", "busybox", "generateCeleryConfigSecret",
         "rabbitmq", "redis", "flower", "additionalInstanceConfig"},
    "global": {"postgresqlSecretName", "dagsterHome", "serviceAccountName", "celeryConfigSecretName",
               "dagsterInstanceConfigMap"},
    "postgresql": {"postgresqlScheme", "image", "enabled", "postgresqlHost", "postgresqlUsername",
                   "postgresqlPassword", "postgresqlDatabase", "postgresqlParams", "service"},
    "dagster-user-deployments": {"enabled", "enableSubchart", "imagePullSecrets", "deployments"},
    "deployment": {"name", "image", "dagsterApiGrpcArgs", "codeServerArgs", "includeConfigInLaunchedRuns", "port",
                   "env", "envConfigMaps", "envSecrets", "annotations", "nodeSelector", "affinity", "tolerations",
                   "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
                   "startupProbe", "labels", "volumeMounts", "volumes", "schedulerName"},
    "runLauncher": {"type", "config"},
    "k8sRunLauncher": {"image", "imagePullPolicy", "jobNamespace", "loadInclusterConfig", "kubeconfigFile",
                       "envConfigMaps", "envSecrets", "envVars", "volumeMounts", "volumes", "labels",
                       "failPodOnRunFailure", "resources", "schedulerName", "securityContext", "runK8sConfig"},
    "runK8sConfig": {"containerConfig", "podSpecConfig", "podTemplateSpecMetadata", "jobSpecConfig", "jobMetadata"},
    "dagsterDaemon": {"enabled", "image", "heartbeatTolerance", "runCoordinator", "runMonitoring", "runRetries",
                      "sensors", "schedules", "env", "envConfigMaps", "envSecrets", "deploymentLabels", "labels",
                      "volumes", "volumeMounts", "annotations", "nodeSelector", "affinity", "tolerations",
                      "podSecurityContext", "securityContext", "resources", "livenessProbe", "readinessProbe",
                      "startupProbe", "schedulerName"},
}
# Names the AWS SDK reads itself (boto3/botocore's standard credential and configuration chain).
AWS_STANDARD = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_REGION", "AWS_DEFAULT_REGION",
                "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_PROFILE"}


def _kind(kind: str, name: str | None = None) -> list[dict]:
    return [d for d in K8S_DOCS if d["kind"] == kind and (name is None or d["metadata"]["name"] == name)]


def _deployment() -> dict:
    (deployment,) = VALUES["dagster-user-deployments"]["deployments"]
    return deployment


def _env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of an env file, commented-out examples included (they are documentation too)."""
    pairs = [line.lstrip("# ").split("=", 1) for line in path.read_text().splitlines()]
    return {k: v for k, v in (p for p in pairs if len(p) == 2) if re.fullmatch(r"[A-Z][A-Z0-9_]+", k)}


def _read_by_code() -> set[str]:
    source = "\n".join(p.read_text() for p in (ROOT / "engagement_pipeline").rglob("*.py"))
    return set(re.findall(r"\"(ENGAGEMENT_[A-Z_]+)\"", source))


@pytest.mark.parametrize("path", sorted(p.relative_to(DEPLOY) for p in DEPLOY.rglob("*.yaml")), ids=str)
def test_every_deploy_yaml_parses(path: Path) -> None:
    assert [d for d in yaml.safe_load_all((DEPLOY / path).read_text()) if d is not None]


def test_helm_values_use_only_keys_of_the_charts_schema() -> None:
    assert set(VALUES) <= CHART_KEYS[""]
    for section in ("global", "postgresql", "dagster-user-deployments", "runLauncher", "dagsterDaemon"):
        assert set(VALUES[section]) <= CHART_KEYS[section], section
    assert set(_deployment()) <= CHART_KEYS["deployment"]
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    assert set(VALUES["runLauncher"]["config"]) == {"k8sRunLauncher"}
    assert set(launcher) <= CHART_KEYS["k8sRunLauncher"]
    assert set(launcher["runK8sConfig"]) <= CHART_KEYS["runK8sConfig"]


def test_helm_values_use_external_postgres_the_k8s_launcher_and_the_daemon() -> None:
    assert VALUES["postgresql"]["enabled"] is False and VALUES["postgresql"]["postgresqlHost"]
    assert VALUES["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in VALUES["postgresql"]
    (secret,) = _kind("Secret", VALUES["global"]["postgresqlSecretName"])
    assert set(secret["stringData"]) == {"postgresql-password"}  # the key the chart reads
    assert VALUES["runLauncher"]["type"] == "K8sRunLauncher"
    assert VALUES["dagsterDaemon"]["enabled"] is True
    assert VALUES["dagster-user-deployments"]["enabled"] is True


def test_every_configmap_secret_and_claim_the_values_name_is_defined() -> None:
    launcher = VALUES["runLauncher"]["config"]["k8sRunLauncher"]
    for holder in (launcher, _deployment()):
        assert [e["name"] for e in holder["envConfigMaps"]] == [d["metadata"]["name"] for d in _kind("ConfigMap")]
        for ref in holder["envSecrets"]:
            assert _kind("Secret", ref["name"])
        for volume in holder["volumes"]:
            assert _kind("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"])
        assert {m["name"] for m in holder["volumeMounts"]} == {v["name"] for v in holder["volumes"]}
        (mount,) = holder["volumeMounts"]
        (config,) = _kind("ConfigMap")
        assert mount["mountPath"] == config["data"]["ENGAGEMENT_DATA_DIR"]


def test_the_env_the_deploy_files_set_is_the_env_the_code_reads() -> None:
    (config,) = _kind("ConfigMap")
    (secret,) = _kind("Secret", "engagement-pipeline-secrets")
    env = {**config["data"], **secret["stringData"]}
    env_files = _env_file(DEPLOY / "systemd" / "engagement.env.example")
    read = _read_by_code()
    for name in {*env, *env_files}:
        assert name in read or name in AWS_STANDARD or name in {"DAGSTER_HOME", "DAGSTER_PG_URL"}, name
    assert "DAGSTER_PG_URL" in (DEPLOY / "dagster-postgres.yaml").read_text()

    settings = Settings.from_env(env)
    assert settings.db_url == secret["stringData"]["ENGAGEMENT_DB_URL"]
    assert settings.db_url.startswith("postgresql+psycopg2://")  # the driver named: psycopg 3 is not installed
    assert settings.inbox_url == config["data"]["ENGAGEMENT_INBOX_URL"]
    assert settings.data_dir == Path("/data")
    assert default_resources(settings)["inbox"].url == settings.inbox_url
    mailer = mailer_from_env(env)
    assert (mailer.smtp_host, mailer.smtp_port, mailer.smtp_user, mailer.smtp_starttls) == (
        config["data"]["ENGAGEMENT_SMTP_HOST"], 587, config["data"]["ENGAGEMENT_SMTP_USER"], True)
    assert mailer.smtp_password == secret["stringData"]["ENGAGEMENT_SMTP_PASSWORD"]


def test_no_real_secret_is_in_the_deploy_files() -> None:
    for secret in _kind("Secret"):
        for name, value in secret["stringData"].items():
            assert PLACEHOLDER.search(value), f"{name} in {secret['metadata']['name']} must be a <PLACEHOLDER>"
    for name, value in _env_file(DEPLOY / "systemd" / "engagement.env.example").items():
        if "PASSWORD" in name or "SECRET" in name or ("://" in value and "@" in value):
            assert PLACEHOLDER.search(value), name


def test_the_module_the_chart_serves_is_the_workspaces_and_exposes_defs() -> None:
    args = _deployment()["dagsterApiGrpcArgs"]
    module, attribute = args[args.index("--module-name") + 1], args[args.index("--attribute") + 1]
    workspace = yaml.safe_load((ROOT / "workspace.yaml").read_text())
    assert module == workspace["load_from"][0]["python_module"]["module_name"]
    assert module == PYPROJECT["tool"]["dagster"]["module_name"]
    # `defs` is loaded lazily (`@dg.definitions`): the server calls it when it loads the code location.
    assert isinstance(getattr(importlib.import_module(module), attribute)(), dg.Definitions)
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f'"--module-name", "{module}", "--attribute", "{attribute}"' in dockerfile
    assert f'"--port", "{_deployment()["port"]}"' in dockerfile


def test_the_image_installs_extras_that_exist_on_the_python_the_project_needs() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    (extras,) = re.findall(r'pip install "\.\[([a-z0-9_,-]+)\]"', dockerfile)
    assert set(extras.split(",")) <= set(PYPROJECT["project"]["optional-dependencies"])
    assert {"s3", "k8s"} <= set(extras.split(","))
    (base,) = re.findall(r"^FROM python:(\d+\.\d+)-slim$", dockerfile, flags=re.M)
    assert PYPROJECT["project"]["requires-python"] == ">=3.11" and base == "3.11"


def test_the_chart_and_dagster_k8s_versions_follow_the_pinned_dagster() -> None:
    deps = PYPROJECT["project"]["dependencies"]
    (core,) = [d.split("==")[1] for d in deps if d.startswith("dagster==")]
    (postgres,) = [d.split("==")[1] for d in deps if d.startswith("dagster-postgres==")]
    assert PYPROJECT["project"]["optional-dependencies"]["k8s"] == [f"dagster-k8s=={postgres}"]
    assert f"--version {core}" in (DEPLOY / "helm" / "values.yaml").read_text()
    assert f"--version {core}" in (ROOT / "docs" / "deploy.md").read_text()


def test_systemd_units_run_webserver_and_daemon_on_the_workspace() -> None:
    commands = {}
    for name in ("engagement-webserver", "engagement-daemon"):
        unit = configparser.ConfigParser(strict=False, interpolation=None)
        unit.read_string((DEPLOY / "systemd" / f"{name}.service").read_text())
        assert unit["Service"]["EnvironmentFile"] == "/etc/engagement/engagement.env"
        assert unit["Install"]["WantedBy"] == "multi-user.target"
        commands[name] = unit["Service"]["ExecStart"].split()
    assert commands["engagement-webserver"][0].endswith("/dagster-webserver")
    assert commands["engagement-daemon"][:2] == ["/opt/engagement/.venv/bin/dagster-daemon", "run"]
    for command in commands.values():
        assert command[command.index("--workspace") + 1] == "/opt/engagement/workspace.yaml"
