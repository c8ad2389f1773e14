#!/usr/bin/env bash
# Interleaved runs of one bench script on an older commit and on the working tree, on the same core:
#   bench/ab_compare.sh BASE_REV ROUNDS bench/bench_backtest.py --day default --rounds 1 --nautilus
# The older commit is checked out in a temporary worktree and imported ahead of the installed project; the
# figures of each round are printed one after the other, so a ratio between them is measured in one run.
set -euo pipefail
base=$1; rounds=$2; shift 2
root=$(cd "$(dirname "$0")/.." && pwd)
tree=$(mktemp -d)/base
git -C "$root" worktree add --detach "$tree" "$base" >/dev/null
trap 'git -C "$root" worktree remove --force "$tree"' EXIT
[ -d "$root/.venv-nautilus" ] && ln -sfn "$root/.venv-nautilus" "$tree/.venv-nautilus"
for i in $(seq 1 "$rounds"); do
  for side in base new; do
    dir=$root; [ "$side" = base ] && dir=$tree
    echo "=== round $i: $side"
    (cd "$dir" && taskset -c 1 "$root/.venv/bin/python" "$@" 2>&1 | grep -E "/s|ratio" || true)
  done
done
