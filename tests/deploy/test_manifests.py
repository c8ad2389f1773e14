"""deploy/: the ray up cluster config against Ray's own schema, and the KubeRay manifests' required fields."""

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import ray
import yaml

ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "deploy"


def _ray_schema():
    return json.loads((Path(ray.__file__).parent / "autoscaler" / "ray-schema.json").read_text())


def test_cluster_yaml_validates_against_rays_cluster_config_schema():
    config = yaml.safe_load((DEPLOY / "cluster.yaml").read_text())
    jsonschema.validate(config, _ray_schema())
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))
    assert config["head_node_type"] in config["available_node_types"]
    assert any("--metrics-export-port" in c for c in config["head_start_ray_commands"])
    assert any(f"ray[default]=={ray.__version__}" in c for c in config["setup_commands"])


def test_local_cluster_yaml_validates_and_names_the_local_provider():
    config = yaml.safe_load((DEPLOY / "local_cluster.yaml").read_text())
    jsonschema.validate(config, _ray_schema())
    from ray.autoscaler._private.util import prepare_config, validate_config

    validate_config(prepare_config(copy.deepcopy(config)))
    from supervisors.local_cluster import LocalNodeProvider

    module, _, name = config["provider"]["module"].rpartition(".")
    assert getattr(__import__(module, fromlist=[name]), name) is LocalNodeProvider
    assert not any("ray stop" in c for c in config["head_start_ray_commands"])    # refused on a local node
    assert any("--block" in c and config["provider"]["pid_file"] in c for c in config["head_start_ray_commands"])


@pytest.mark.parametrize("break_it", [lambda c: c.pop("provider"),
                                      lambda c: c["available_node_types"]["worker"].pop("resources"),
                                      lambda c: c.update(head_start_ray_commands="ray start --head")])
def test_the_schema_check_would_catch_a_broken_cluster_yaml(break_it):
    config = yaml.safe_load((DEPLOY / "cluster.yaml").read_text())
    break_it(config)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(config, _ray_schema())


def _ray_cluster_spec_problems(spec: dict, where: str) -> list[str]:
    """What KubeRay's CRD requires of a RayCluster spec (and what would silently break ours)."""
    problems = []
    if spec.get("rayVersion") != ray.__version__:
        problems.append(f"{where}.rayVersion: {spec.get('rayVersion')!r} is not the pinned {ray.__version__}")
    groups = [("headGroupSpec", spec.get("headGroupSpec"))] + [
        (f"workerGroupSpecs[{i}]", g) for i, g in enumerate(spec.get("workerGroupSpecs") or [])]
    if groups[0][1] is None:
        problems.append(f"{where}.headGroupSpec: required")
    if len(groups) < 2:
        problems.append(f"{where}.workerGroupSpecs: at least one worker group")
    for name, group in groups:
        if group is None:
            continue
        containers = (((group.get("template") or {}).get("spec") or {}).get("containers")) or []
        if not containers:
            problems.append(f"{where}.{name}.template.spec.containers: required")
        for c in containers:
            if not c.get("name") or not c.get("image"):
                problems.append(f"{where}.{name}: every container needs name and image")
        params = group.get("rayStartParams")
        if not isinstance(params, dict) or any(not isinstance(v, str) for v in params.values()):
            problems.append(f"{where}.{name}.rayStartParams: a map of strings (KubeRay rejects numbers)")
        if name != "headGroupSpec":
            if not group.get("groupName"):
                problems.append(f"{where}.{name}.groupName: required")
            low, high, replicas = group.get("minReplicas", 0), group.get("maxReplicas"), group.get("replicas", 0)
            if high is None or not low <= replicas <= high:
                problems.append(f"{where}.{name}: need minReplicas <= replicas <= maxReplicas")
    return problems


def kuberay_problems(doc: dict) -> list[str]:
    if doc.get("apiVersion") != "ray.io/v1" or not (doc.get("metadata") or {}).get("name"):
        return ["apiVersion ray.io/v1 and metadata.name required"]
    spec = doc.get("spec") or {}
    if doc["kind"] == "RayCluster":
        problems = _ray_cluster_spec_problems(spec, "spec")
        ft = spec.get("gcsFaultToleranceOptions") or {}
        if not ft.get("redisAddress"):
            problems.append("spec.gcsFaultToleranceOptions.redisAddress: GCS fault tolerance needs external Redis")
        if "value" in (ft.get("redisPassword") or {}):
            problems.append("spec.gcsFaultToleranceOptions.redisPassword: take it from a Secret, not inline")
        return problems
    if doc["kind"] == "RayJob":
        problems = _ray_cluster_spec_problems(spec.get("rayClusterSpec") or {}, "spec.rayClusterSpec")
        if not spec.get("entrypoint"):
            problems.append("spec.entrypoint: required")
        if spec.get("shutdownAfterJobFinishes") is not True:
            problems.append("spec.shutdownAfterJobFinishes: a Monte Carlo cluster must go away when the job ends")
        if not isinstance(spec.get("activeDeadlineSeconds"), int) or spec["activeDeadlineSeconds"] <= 0:
            problems.append("spec.activeDeadlineSeconds: a positive deadline")
        yaml.safe_load(spec.get("runtimeEnvYAML", "{}"))
        return problems
    return [f"kind {doc['kind']}: not a KubeRay resource"]


def _docs(name):
    return [d for d in yaml.safe_load_all((DEPLOY / "kuberay" / name).read_text()) if d]


def test_the_session_raycluster_has_gcs_fault_tolerance_through_redis():
    docs = _docs("raycluster.yaml")
    cluster = next(d for d in docs if d["kind"] == "RayCluster")
    assert kuberay_problems(cluster) == []
    redis_service = next(d for d in docs if d["kind"] == "Service")
    assert cluster["spec"]["gcsFaultToleranceOptions"]["redisAddress"] == f"{redis_service['metadata']['name']}:6379"
    secret = cluster["spec"]["gcsFaultToleranceOptions"]["redisPassword"]["valueFrom"]["secretKeyRef"]["name"]
    assert any(d["kind"] == "Secret" and d["metadata"]["name"] == secret for d in docs)


def test_the_montecarlo_rayjob_shuts_down_after_the_job_and_has_a_deadline():
    (job,) = _docs("rayjob-montecarlo.yaml")
    assert kuberay_problems(job) == []
    assert "deploy/jobs/montecarlo.py" in job["spec"]["entrypoint"]
    assert (ROOT / "deploy" / "jobs" / "montecarlo.py").is_file()


@pytest.mark.parametrize("break_it, says", [
    (lambda d: d["spec"].pop("gcsFaultToleranceOptions"), "redisAddress"),
    (lambda d: d["spec"]["headGroupSpec"]["rayStartParams"].update({"num-cpus": 0}), "map of strings"),
    (lambda d: d["spec"]["workerGroupSpecs"][0].update(replicas=9), "maxReplicas"),
    (lambda d: d["spec"]["headGroupSpec"]["template"]["spec"]["containers"][0].pop("image"), "image"),
    (lambda d: d["spec"].update(rayVersion="2.9.0"), "rayVersion")])
def test_the_manifest_check_would_catch_a_broken_raycluster(break_it, says):
    cluster = next(d for d in _docs("raycluster.yaml") if d["kind"] == "RayCluster")
    break_it(cluster)
    assert any(says in p for p in kuberay_problems(cluster))


def test_the_image_pins_the_same_ray_as_the_project():
    base = re.search(r"^FROM rayproject/ray:(\S+)", (DEPLOY / "Dockerfile").read_text(), re.M).group(1)
    assert base.startswith(ray.__version__ + "-py311")
    assert f'"ray[default]=={ray.__version__}"' in (ROOT / "pyproject.toml").read_text()


def test_job_entrypoints_start():
    for name in ("montecarlo.py", "paper_session.py"):
        done = subprocess.run([sys.executable, str(DEPLOY / "jobs" / name), "--help"], cwd="/tmp",
                              capture_output=True, text=True, timeout=60)
        assert done.returncode == 0 and "--profile" in done.stdout, (name, done.stderr[-500:])


def test_the_image_copies_every_package_the_project_installs_and_its_data():
    """A package missing from the image fails every job on Kubernetes at its first import."""
    import tomllib

    packages = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"]["find"]["include"]
    copied = set(re.findall(r"^COPY --chown=\S+ (\S+) \1$", (DEPLOY / "Dockerfile").read_text(), re.M))
    missing = sorted({p.rstrip("*") for p in packages} - copied) + ([] if "data" in copied else ["data"])
    assert missing == []
