"""The gateway's InfluxDB read API against a real InfluxDB 1.x: one answer per statement, in
order, whatever columns the statements share; a refused statement is a QueryError; DELETE runs."""

from __future__ import annotations

import pytest

from gateway.influx.influxql import equals, identifier, literal
from gateway.influx.reader import InfluxReader
from gateway.influx.transport import QueryError, V1Transport
from tests.conftest import InfluxTestDB


@pytest.fixture
def reader(influxdb: InfluxTestDB) -> InfluxReader:
    influxdb.write(
        "grip,participant=p1,station_id=gj-01 grip_max_kg=20 1\n"
        "grip,participant=p2,station_id=gj-02 grip_max_kg=30 2\n"
        "grip,participant=p1,station_id=gj-01 grip_max_kg=21.5 3\n"
        "tug_features,participant=p1,station_id=gj-01 tug_time_s=11.5 4\n"
    )
    return InfluxReader(V1Transport(influxdb.url, influxdb.database))


def test_each_statement_gets_its_own_rows_in_order(reader: InfluxReader) -> None:
    statements = [
        "SELECT grip_max_kg AS value FROM grip WHERE participant = 'p1'",
        "SELECT grip_max_kg AS value FROM grip WHERE participant = 'nobody'",
        "SELECT tug_time_s AS value, station_id FROM tug_features WHERE participant = 'p1'",
        "SELECT grip_max_kg AS value FROM grip WHERE participant = 'p2'",
    ]
    answers = reader.query_many(statements)
    # The same column name in every statement: only the position says whose rows they are.
    assert answers == [
        [{"time": 1, "value": 20.0}, {"time": 3, "value": 21.5}],
        [],
        [{"time": 4, "value": 11.5, "station_id": "gj-01"}],
        [{"time": 2, "value": 30.0}],
    ]
    assert reader.query_many([]) == []


def test_a_long_request_keeps_its_statements_apart(reader: InfluxReader) -> None:
    statements = [f"SELECT grip_max_kg AS m FROM grip WHERE time = {1 + n % 3}" for n in range(90)]
    assert len("; ".join(statements)) > 2000  # sent as a POST form
    answers = reader.query_many(statements)
    assert [[row["time"] for row in rows] for rows in answers] == [[1 + n % 3] for n in range(90)]


def test_a_refused_statement_is_a_query_error(reader: InfluxReader) -> None:
    with pytest.raises(QueryError):
        reader.query_many(["SELECT grip_max_kg FROM grip", "SELEC nonsense"])


def test_execute_deletes_and_literal_quotes(reader: InfluxReader) -> None:
    assert literal("it's") == "'it\\'s'"
    reader.execute(f"DELETE FROM grip WHERE participant = {literal('p1')} AND time >= 1 AND time <= 1")
    (rows,) = reader.query_many(["SELECT grip_max_kg FROM grip WHERE participant = 'p1'"])
    assert [r["time"] for r in rows] == [3]


def test_a_name_with_quotes_stays_one_identifier_on_the_server(reader: InfluxReader) -> None:
    """A tag value or measurement name that is not plain cannot change what a statement means."""
    tricky = 'p" OR "x'
    value = "p' OR participant =~ /.*/ OR participant = 'q"
    assert identifier(tricky) == '"p\\" OR \\"x"'
    (rows,) = reader.query_many([f"SELECT grip_max_kg FROM grip WHERE {equals('participant', value)}"])
    assert rows == []  # the quoted value matched nobody; unquoted it would have matched everyone
    (rows,) = reader.query_many([f"SELECT grip_max_kg FROM {identifier(tricky)}"])
    assert rows == []
