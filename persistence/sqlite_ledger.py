"""The SQLite ledger store: one append-only table in WAL mode.

WAL with synchronous=NORMAL survives a killed process (the fault we test: SIGKILL of an actor);
set `synchronous="FULL"` to also survive a power loss at some cost per write. The store pickles
as its path, so a Ray actor that owns it reopens the same file after a restart.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from core.ledger import LedgerEvent

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    time_ns INTEGER NOT NULL,
    kind TEXT NOT NULL,
    client_order_id TEXT NOT NULL,
    owner TEXT NOT NULL,
    payload TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_order ON events (client_order_id, kind);
"""


class SqliteLedgerStore:
    def __init__(self, path: str | Path, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self.synchronous = synchronous
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(_SCHEMA)

    def __getstate__(self) -> dict:
        return {"path": str(self.path), "synchronous": self.synchronous}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["path"], state["synchronous"])

    def journal_mode(self) -> str:
        return self._db.execute("PRAGMA journal_mode").fetchone()[0]

    def append(self, event: LedgerEvent) -> LedgerEvent:
        cursor = self._db.execute(
            "INSERT INTO events (time_ns, kind, client_order_id, owner, payload) VALUES (?, ?, ?, ?, ?)",
            (event.time_ns, event.kind, event.client_order_id, event.owner, json.dumps(event.payload)))
        return event._replace(seq=cursor.lastrowid)

    def events(self) -> list[LedgerEvent]:
        rows = self._db.execute("SELECT seq, time_ns, kind, client_order_id, owner, payload FROM events ORDER BY seq")
        return [
            LedgerEvent(seq, t, kind, coid, owner, json.loads(payload)) for seq, t, kind, coid, owner, payload in rows
        ]

    def events_after(self, seq: int) -> list[LedgerEvent]:
        """The events appended after `seq`, in order (a reader following a live ledger)."""
        rows = self._db.execute("SELECT seq, time_ns, kind, client_order_id, owner, payload FROM events WHERE seq > ? "
                                "ORDER BY seq", (seq,))
        return [LedgerEvent(s, t, kind, coid, owner, json.loads(payload)) for s, t, kind, coid, owner, payload in rows]

    def has_intent(self, client_order_id: str) -> bool:
        row = self._db.execute("SELECT 1 FROM events WHERE client_order_id = ? AND kind = 'intent' LIMIT 1",
                               (client_order_id,)).fetchone()
        return row is not None

    def close(self) -> None:
        self._db.close()
