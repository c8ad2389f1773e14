"""Run by test_montecarlo_multinode in its own process: a head and two worker nodes (ray.cluster_utils.Cluster),
the tiny Monte Carlo over them; prints the nodes its tasks ran on as JSON on the last line."""

import json
import sys
from pathlib import Path

import ray
from ray.cluster_utils import Cluster

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from supervisors.batch.montecarlo import run_montecarlo  # noqa: E402
from supervisors.batch.montecarlo_ray import RayExecutor  # noqa: E402
from tests.supervisors.batch.montecarlo_fixtures import tiny_config  # noqa: E402


def single_process(out_dir: str) -> None:
    """The reference: every path in this fresh process, no Ray."""
    from supervisors.batch.montecarlo import InProcessExecutor

    run_montecarlo(tiny_config(paths=6, paths_per_task=1), Path(out_dir), InProcessExecutor(), progress=False)


def main(out_dir: str, port: int) -> None:
    cluster = Cluster(
        initialize_head=True, head_node_args={"num_cpus": 1, "gcs_server_port": port, "include_dashboard": False}
    )
    for _ in range(2):
        cluster.add_node(num_cpus=1)
    cluster.wait_for_nodes()
    ray.init(address=cluster.address, log_to_driver=False)
    try:
        alive = [n["NodeID"] for n in ray.nodes() if n["Alive"]]
        summary = run_montecarlo(tiny_config(paths=6, paths_per_task=1), Path(out_dir), RayExecutor(max_in_flight=6),
                                 progress=False)
        print(json.dumps({"alive_nodes": alive, "task_nodes": summary["run"]["nodes"],
                          "failed": summary["run"]["failed"]}))
    finally:
        ray.shutdown()
        cluster.shutdown()


if __name__ == "__main__":
    if sys.argv[2] == "local":
        single_process(sys.argv[1])
    else:
        main(sys.argv[1], int(sys.argv[2]))
