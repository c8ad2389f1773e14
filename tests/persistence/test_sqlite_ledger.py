import pickle

from core.ledger import fold, intent_event, order_event
from core.orders import Contract, OrderFilled, OrderLeg, SubmitOrder
from persistence.sqlite_ledger import SqliteLedgerStore

LEG = (OrderLeg(Contract("SPY", "2026-12-18", 600.0, "C"), 1),)


def test_sqlite_store_is_wal_and_survives_reopening(tmp_path):
    path = tmp_path / "ledger.db"
    store = SqliteLedgerStore(path)
    assert store.journal_mode() == "wal"
    store.append(intent_event(SubmitOrder("x", "trader", LEG, "BUY", 2, 3.1), "trader", 10))
    stored = store.append(order_event(OrderFilled("x", 2, 3.1, (3.1,), 2, 0, 11), "trader"))
    assert stored.seq == 2
    store.close()
    reopened = SqliteLedgerStore(path)
    assert reopened.has_intent("x") and not reopened.has_intent("y")
    state = fold(reopened.events())
    assert state.orders["x"].filled == 2 and state.positions == {("SPY", "2026-12-18", 600.0, "C"): 2}


def test_store_pickles_as_its_path(tmp_path):
    store = SqliteLedgerStore(tmp_path / "l.db")
    store.append(intent_event(SubmitOrder("p", "t", LEG, "BUY", 1, 1.0), "t", 1))
    copy = pickle.loads(pickle.dumps(store))
    assert copy.has_intent("p") and copy.path == store.path
