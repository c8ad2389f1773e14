"""Ray job entrypoint: the butterfly exit study on the cluster this runs in.

    ray job submit --address http://HEAD:8265 --working-dir . --runtime-env deploy/runtime_env.yaml -- \
        python deploy/jobs/study.py --trades 100000 --out /mnt/results/butterfly-exits
    ray submit deploy/cluster.yaml deploy/jobs/study.py --trades 100000      (clusters started with `ray up`)

Same as `spreadwright study butterfly-exits --address auto ...`: chunks of trades as Ray tasks;
write --out to storage that outlives the job.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if (_ROOT / "supervisors").is_dir() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))       # run from a checkout; on `ray up` clusters the project is pip-installed

from supervisors.cli import main  # noqa: E402

if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main(["study", "butterfly-exits", *([] if "--address" in args else ["--address", "auto"]), *args]))
