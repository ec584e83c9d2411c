"""The spool's receipt bookkeeping on a real SQLite file: rows stay after the PUBACK until a receipt
names them (by message id or by the digest of their bytes), unconfirmed rows come due again with a
doubling wait, and a spool written before receipts existed is upgraded in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from edge.spool import Spool
from telemetry.receipts import digest


def test_a_row_leaves_only_when_a_receipt_names_it(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 20)
    a = spool.put("fw/v1/gj-01/data/vitals/v1", b'{"a": 1}', "msg-00000001")
    b = spool.put("fw/v1/gj-01/deadletter", b'{"letter": 1}')
    spool.put("fw/v1/gj-01/data/vitals/v1", b'{"c": 1}', "msg-00000003")
    spool.sent([a, b], at=1000.0)
    assert spool.depth() == 3 and spool.unconfirmed() == 2
    # A receipt naming one reading by id and the letter by its bytes; an unknown name is harmless.
    gone = spool.confirm(["msg-00000001", "msg-99999999"], [digest(b'{"letter": 1}')])
    assert sorted(gone) == ["fw/v1/gj-01/data/vitals/v1", "fw/v1/gj-01/deadletter"]
    assert spool.depth() == 1 and spool.unconfirmed() == 0
    assert spool.bytes == len(b'{"c": 1}') + len("fw/v1/gj-01/data/vitals/v1")
    assert spool.confirm(["msg-00000001"], []) == []  # a second receipt for it: nothing left to delete


def test_unconfirmed_rows_come_due_again_with_a_doubling_wait(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "spool.sqlite3", 1 << 20)
    seq = spool.put("fw/v1/gj-01/data/vitals/v1", b"{}", "msg-00000001")
    assert spool.overdue(60.0, 10, now=10_000.0) == []  # never sent: the forwarder's cursor has it
    spool.sent([seq], at=1000.0)
    assert spool.overdue(60.0, 10, now=1059.0) == []
    assert [r.seq for r in spool.overdue(60.0, 10, now=1061.0)] == [seq]
    spool.sent([seq], at=1061.0)  # re-sent: the second attempt waits twice as long
    assert spool.overdue(60.0, 10, now=1061.0 + 119.0) == []
    assert [r.seq for r in spool.overdue(60.0, 10, now=1061.0 + 121.0)] == [seq]


def test_a_spool_from_before_receipts_is_upgraded_in_place(tmp_path: Path) -> None:
    path = tmp_path / "spool.sqlite3"
    db = sqlite3.connect(path)
    db.execute(
        "CREATE TABLE spool (seq INTEGER PRIMARY KEY AUTOINCREMENT, topic TEXT NOT NULL,"
        " payload BLOB NOT NULL, spooled_at REAL NOT NULL)"
    )
    db.execute(
        "INSERT INTO spool (topic, payload, spooled_at) VALUES (?, ?, ?)", ("fw/v1/x/batch", b"old", 1.0)
    )
    db.commit()
    db.close()
    spool = Spool(path, 1 << 20)
    assert spool.depth() == 1
    assert spool.confirm([], [digest(b"old")]) == ["fw/v1/x/batch"]  # its digest was computed on upgrade
