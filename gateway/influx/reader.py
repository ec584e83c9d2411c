"""Reading InfluxDB for the gateway's follow-up stages: many statements, answered per statement.

:meth:`InfluxReader.query_many` sends statements as one InfluxQL request and returns one list of
rows per statement, in order (each row: ``time`` in ns, the selected columns, and the tags the
statement grouped by), so a caller never has to tell rows of different statements apart by their
columns. :meth:`InfluxReader.execute` runs a statement that changes data (``DELETE``).
Statements are quoted with :mod:`gateway.influx.influxql`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gateway.influx.transport import QueryError, V1Transport, V2Transport

Row = dict[str, Any]


class InfluxReader:
    """Per-statement reads over a transport (thread-safe, as the transport is)."""

    def __init__(self, transport: V1Transport | V2Transport) -> None:
        self.transport = transport

    def query_many(self, statements: Sequence[str]) -> list[list[Row]]:
        """Rows of each statement; raises QueryError (a refused statement) or InfluxUnavailable."""
        if not statements:
            return []
        answers = self.transport.query_each("; ".join(statements))
        if len(answers) != len(statements):
            raise QueryError(f"{len(statements)} statements answered with {len(answers)} results")
        return answers

    def execute(self, statement: str) -> None:
        """A statement that changes data: POST where the transport has it (InfluxDB 1.x requires it)."""
        if isinstance(self.transport, V1Transport):
            self.transport.execute(statement)
        else:
            self.transport.query(statement)
