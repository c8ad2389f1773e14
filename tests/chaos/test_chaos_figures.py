"""The chaos figures count what they say: duplicated orders, lost ledger rows, a fly's naked time at the venue."""

import math
from types import SimpleNamespace

from bench.bench_chaos import chaos_figures, naked_by_fly, restart_breakdown

MS = 1_000_000


def event(kind, coid, time_ns=0):
    return SimpleNamespace(kind=kind, client_order_id=coid, time_ns=time_ns)


def test_a_fly_is_naked_from_its_first_verticals_fill_to_any_other_parts_fill_beyond_the_limit():
    fills = [("f1:x1:vertical_1", 1_000 * MS), ("f1:x1:vertical_1", 1_100 * MS), ("f1:x2:vertical_2", 2_000 * MS),
             ("f2:x1:vertical_1", 0), ("f2:x3:single_1", 100 * MS),
             ("f3:x1:vertical_1", 0),
             ("trader:1:D", 0), ("f4:x1:vertical_2", 0)]
    naked = naked_by_fly(fills, 250)
    assert naked["f1"] == 0.75 and naked["f2"] == 0.0 and naked["f3"] == math.inf
    assert set(naked) == {"f1", "f2", "f3"}


def test_duplicates_and_lost_rows_are_counted_from_the_exchange_and_the_ledger():
    events = [event("intent", "a"), event("intent", "b"), event("intent", "b"), event("filled", "a")]
    fills = [{"client_order_id": "a", "time_ns": 0}, {"client_order_id": "c", "time_ns": 0}]
    figures = chaos_figures(["a", "a", "c"], fills, events, 250)
    assert figures["duplicated"] == 1 + 1 + 1          # intent b twice, a sent twice, c never intended
    assert figures["lost"] == 1                        # c filled at the exchange, not in the ledger
    clean = chaos_figures(["a"], [{"client_order_id": "a", "time_ns": 0}], [event("intent", "a"),
                                                                            event("filled", "a")], 250)
    assert (clean["duplicated"], clean["lost"], clean["naked_s"], clean["left_naked"]) == (0, 0, 0.0, [])


def test_the_restart_breakdown_reads_each_restarted_actors_line_from_the_worker_logs(tmp_path):
    line = ('{"component": "trader-SPY", "event": "actor_restarted", "held_messages": 0, "process_age_s": 2.73, '
            '"start_s": 0.419}')
    (tmp_path / "worker-a.out").write_text(f'{{"event": "chain"}}\n{line}\n')
    (tmp_path / "worker-b.err").write_text(line.replace("2.73", "1.5"))
    (tmp_path / "raylet.out").write_text(line)                       # not a worker's log
    found = restart_breakdown(tmp_path)
    assert found == {"process_age_s": [2.73, 1.5], "start_s": [0.419, 0.419]}
