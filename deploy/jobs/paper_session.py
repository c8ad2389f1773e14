"""Ray job entrypoint: a paper (or live) session on the cluster this runs in.

    ray job submit --address http://HEAD:8265 --working-dir . -- python deploy/jobs/paper_session.py --profile paper
    ray submit deploy/cluster.yaml deploy/jobs/paper_session.py --profile paper     (clusters started with `ray up`)

Same as `python -m supervisors.paper`; arguments: --profile, --duration-s, --address, --status-every-s.
"""

import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]
if (_ROOT / "supervisors").is_dir() and str(_ROOT) not in sys.path:
    sys.path.insert(0, str(_ROOT))       # run from a checkout; on `ray up` clusters the project is pip-installed

from supervisors.paper import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
