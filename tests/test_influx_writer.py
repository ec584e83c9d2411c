"""BatchWriter on the real InfluxDB: batching, acknowledgement only after the write, culprit isolation
on a 4xx, an outage (server stopped, then started) losing nothing, backpressure and close()."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

from gateway.influx.lineprotocol import encode
from gateway.influx.transport import V1Transport, WriteRejected
from gateway.influx.writer import BatchWriter, WriterClosed, WriterStats
from runtime.local_servers import InfluxDB, free_port
from tests._influx_support import CaptureServer, serve_capture
from tests.conftest import InfluxTestDB

T0 = 1_747_000_000_000_000_000


def _chunk(i: int, points: int = 3, measurement: str = "vitals") -> bytes:
    """One 'message' worth of points: distinct timestamps per message so nothing collides."""
    times = T0 + np.arange(points, dtype=np.int64) + i * 1000
    return encode(
        measurement,
        times,
        {"station_id": "gj-01", "participant": f"p{i % 7}"},
        {"heart_rate_bpm": np.full(points, 60.0 + i), "seq": np.full(points, i)},
    )


class Acks:
    """Collects on_written / on_rejected calls like the gateway's MQTT acknowledger would."""

    def __init__(self) -> None:
        self.written: list[Any] = []
        self.rejected: list[tuple[Any, WriteRejected]] = []
        self.lock = threading.Lock()

    def on_written(self, tokens: list[Any]) -> None:
        with self.lock:
            self.written.extend(tokens)

    def on_rejected(self, token: Any, error: WriteRejected) -> None:
        with self.lock:
            self.rejected.append((token, error))


@pytest.fixture
def acks() -> Acks:
    return Acks()


def _count(influxdb: InfluxTestDB, measurement: str = "vitals") -> int:
    rows = influxdb.rows(f'SELECT count("seq") FROM "{measurement}"')
    return int(rows[0]["count"]) if rows else 0


@pytest.mark.parametrize("concurrency", [1, 2])
def test_batches_and_acknowledges_after_write(influxdb: InfluxTestDB, acks: Acks, concurrency: int) -> None:
    transport = V1Transport(influxdb.url, influxdb.database)
    stats = WriterStats()
    observed: list[float] = []
    stats.latency_observer = observed.append
    chunk_size = len(_chunk(0))
    writer = BatchWriter(
        transport,
        max_bytes=10 * chunk_size,
        max_delay_s=0.2,
        on_written=acks.on_written,
        on_rejected=acks.on_rejected,
        stats=stats,
        concurrency=concurrency,
    )
    for i in range(95):
        writer.submit(_chunk(i), i)
    assert writer.flush(10)
    assert sorted(acks.written) == list(range(95)) and not acks.rejected
    if concurrency == 1:
        assert acks.written == list(range(95))  # one writer: acknowledged in submission order
    assert _count(influxdb) == 95 * 3
    snap = stats.snapshot()
    assert snap["points"] == 285 and snap["chunks"] == 95 and snap["retries"] == 0
    assert 10 <= snap["batches"] <= 20  # by size: ≤ 10 chunks per batch, not one write per chunk
    assert snap["pending_bytes"] == 0 and len(observed) == snap["batches"]
    writer.close()


def test_delay_bounds_how_long_a_small_chunk_waits(influxdb: InfluxTestDB, acks: Acks) -> None:
    writer = BatchWriter(
        V1Transport(influxdb.url, influxdb.database), max_delay_s=0.1, on_written=acks.on_written
    )
    started = time.monotonic()
    writer.submit(_chunk(1), "only")
    while not acks.written and time.monotonic() - started < 5:
        time.sleep(0.005)
    assert acks.written == ["only"]
    assert 0.09 <= time.monotonic() - started < 2
    writer.close()


def test_an_urgent_chunk_does_not_wait_for_the_batch_to_fill(influxdb: InfluxTestDB, acks: Acks) -> None:
    """Follow-up points another job waits for go at once, taking along what is pending."""
    writer = BatchWriter(
        V1Transport(influxdb.url, influxdb.database), max_delay_s=5.0, on_written=acks.on_written
    )
    started = time.monotonic()
    writer.submit(_chunk(1), "waiting")
    writer.submit(_chunk(2), "urgent", urgent=True)
    while len(acks.written) < 2 and time.monotonic() - started < 10:
        time.sleep(0.005)
    assert acks.written == ["waiting", "urgent"]
    assert time.monotonic() - started < 2  # not the 5 s delay
    writer.submit(_chunk(3), "later")
    time.sleep(0.5)
    assert acks.written == ["waiting", "urgent"]  # the next ordinary chunk waits again
    writer.close()


def test_same_message_twice_is_one_row(influxdb: InfluxTestDB, acks: Acks) -> None:
    writer = BatchWriter(V1Transport(influxdb.url, influxdb.database), on_written=acks.on_written)
    writer.submit(_chunk(5), "first delivery")
    writer.submit(_chunk(5), "redelivery")
    writer.close()
    assert acks.written == ["first delivery", "redelivery"]
    assert _count(influxdb) == 3


def test_field_type_conflict_rejects_only_the_culprit(influxdb: InfluxTestDB, acks: Acks) -> None:
    influxdb.write(b"vitals,station_id=gj-01 heart_rate_bpm=70.0,seq=0i 1\n")  # heart_rate_bpm is a float
    transport = V1Transport(influxdb.url, influxdb.database)
    writer = BatchWriter(transport, max_delay_s=0.5, on_written=acks.on_written, on_rejected=acks.on_rejected)
    bad = b"vitals,station_id=gj-01 heart_rate_bpm=71i,seq=999i 2\n"  # an integer: type conflict
    for i in range(1, 21):
        writer.submit(bad if i == 13 else _chunk(i), i)
    assert writer.flush(10)
    assert [token for token, _ in acks.rejected] == [13]
    error = acks.rejected[0][1]
    assert (
        error.status == 400 and "field type conflict" in error.message and "heart_rate_bpm" in error.message
    )
    assert sorted(acks.written) == [i for i in range(1, 21) if i != 13]
    assert _count(influxdb) == 1 + 19 * 3
    assert writer.stats.rejected == 1 and writer.stats.rejected_points == 1
    writer.close()


def test_unparsable_chunk_rejected_alone(influxdb: InfluxTestDB, acks: Acks) -> None:
    writer = BatchWriter(
        V1Transport(influxdb.url, influxdb.database),
        max_delay_s=0.5,
        on_written=acks.on_written,
        on_rejected=acks.on_rejected,
    )
    for i in range(8):
        writer.submit(b"vitals this is not line protocol\n" if i in (2, 6) else _chunk(i), i)
    writer.close()
    assert sorted(t for t, _ in acks.rejected) == [2, 6]
    assert "unable to parse" in acks.rejected[0][1].message
    assert sorted(acks.written) == [0, 1, 3, 4, 5, 7]
    assert _count(influxdb) == 6 * 3


def test_chunks_go_to_their_retention_policy(influxdb: InfluxTestDB, acks: Acks) -> None:
    influxdb.query(f'CREATE RETENTION POLICY "ops" ON "{influxdb.database}" DURATION 90d REPLICATION 1')
    now = (time.time_ns() // 10**9) * 10**9
    writer = BatchWriter(
        V1Transport(influxdb.url, influxdb.database), max_delay_s=0.3, on_written=acks.on_written
    )
    for i in range(12):
        body = b"m,kind=%s seq=%di %d\n" % (b"ops" if i % 3 == 0 else b"data", i, now + i)
        writer.submit(body, i, retention_policy="ops" if i % 3 == 0 else None)
    writer.close()
    assert sorted(acks.written) == list(range(12))
    assert writer.stats.batches == 2  # one per retention policy, not one per change of policy
    db = influxdb.database
    ops = influxdb.rows(f'SELECT seq FROM "{db}"."ops"."m"')
    default = influxdb.rows(f'SELECT seq FROM "{db}".."m"')
    assert sorted(r["seq"] for r in ops) == [0, 3, 6, 9]
    assert sorted(r["seq"] for r in default) == [i for i in range(12) if i % 3]


@pytest.fixture
def private_influxdb(influxdb_factory: Callable[[], InfluxDB]) -> InfluxDB:
    server = influxdb_factory()
    server.create_database("fw")
    return server


def test_outage_loses_nothing_and_acknowledges_only_after_restart(
    private_influxdb: InfluxDB, acks: Acks
) -> None:
    server = private_influxdb
    writer = BatchWriter(
        V1Transport(server.url, "fw", timeout_s=2),
        max_delay_s=0.02,
        on_written=acks.on_written,
        retry_base_s=0.05,
        retry_cap_s=0.4,
    )
    for i in range(10):
        writer.submit(_chunk(i), i)
    assert writer.flush(10) and acks.written == list(range(10))

    server.stop()
    for i in range(10, 40):
        writer.submit(_chunk(i), i)
    time.sleep(1.5)
    assert acks.written == list(range(10)), "nothing may be acknowledged while InfluxDB is down"
    retries_during_outage = writer.stats.retries
    assert retries_during_outage >= 3
    assert writer.stats.snapshot()["unavailable_s"] is not None

    server.start()
    assert writer.flush(20)
    assert sorted(acks.written) == list(range(40))
    rows = server.rows('SELECT count("seq") FROM "vitals"', "fw")
    assert rows[0]["count"] == 40 * 3
    assert writer.stats.snapshot()["unavailable_s"] is None
    writer.close()


def test_influxdb_killed_mid_stream_acknowledged_points_survive(
    private_influxdb: InfluxDB, acks: Acks
) -> None:
    """kill -9 while batches are in flight: every acknowledged point is in InfluxDB after its restart
    (the WAL is fsynced before the 204), and the unacknowledged ones are retried into it, once."""
    server = private_influxdb
    writer = BatchWriter(
        V1Transport(server.url, "fw", timeout_s=2),
        max_bytes=4 * len(_chunk(0)),
        max_delay_s=0.005,
        on_written=acks.on_written,
        retry_base_s=0.05,
        retry_cap_s=0.3,
    )

    def produce() -> None:
        for i in range(300):
            writer.submit(_chunk(i), i)
            time.sleep(0.002)

    producer = threading.Thread(target=produce)
    producer.start()
    while len(acks.written) < 60:
        time.sleep(0.002)
    server.kill()
    acknowledged_before_crash = len(acks.written)
    time.sleep(0.8)
    server.start()
    producer.join(30)
    assert writer.flush(30)
    writer.close()
    assert sorted(acks.written) == list(range(300))
    assert acknowledged_before_crash < 300 and writer.stats.retries > 0
    rows = server.rows('SELECT count("seq") FROM "vitals"', "fw")
    assert rows[0]["count"] == 300 * 3  # nothing lost; retried duplicates overwrote themselves


def test_backpressure_blocks_submit_and_close_gives_up_unacknowledged(acks: Acks) -> None:
    nothing_there = V1Transport(f"http://127.0.0.1:{free_port()}", "fw", timeout_s=0.5)
    chunk = _chunk(0)
    writer = BatchWriter(
        nothing_there,
        max_bytes=len(chunk),
        max_pending_bytes=3 * len(chunk),
        on_written=acks.on_written,
        retry_base_s=0.01,
        retry_cap_s=0.05,
    )
    submitted: list[int] = []
    outcome: list[BaseException] = []

    def producer() -> None:
        try:
            for i in range(10):
                writer.submit(chunk, i)
                submitted.append(i)
        except WriterClosed as exc:
            outcome.append(exc)

    thread = threading.Thread(target=producer)
    thread.start()
    time.sleep(0.5)
    # one batch in the writer's hands, three pending; the fifth submit waits
    assert len(submitted) == 4 and thread.is_alive()
    assert writer.stats.pending_chunks == 3 and writer.stats.retries > 0
    assert writer.close(timeout_s=0.2) is False
    thread.join(2)
    assert not thread.is_alive() and isinstance(outcome[0], WriterClosed)
    assert acks.written == []
    with pytest.raises(WriterClosed):
        writer.submit(chunk, "late")


@pytest.fixture
def capture() -> Iterator[CaptureServer]:
    yield from serve_capture()


def test_retry_then_success_sends_same_gzip_body(capture: CaptureServer, acks: Acks) -> None:
    capture.answers[:] = [(503, {"error": "busy"}), (500, None), (204, None)]
    writer = BatchWriter(
        V1Transport(capture.url, "fw"), on_written=acks.on_written, retry_base_s=0.01, retry_cap_s=0.02
    )
    writer.submit(_chunk(1), "a")
    writer.submit(_chunk(2), "b")
    writer.close()
    assert acks.written == ["a", "b"]
    assert writer.stats.retries == 2 and writer.stats.batches == 1
    bodies = {r.body for r in capture.requests}
    assert len(capture.requests) == 3 and bodies == {_chunk(1) + _chunk(2)}
    assert all(r.headers["content-encoding"] == "gzip" for r in capture.requests)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_batches_respect_size_policy_and_order(capture: CaptureServer, seed: int) -> None:
    """Random chunk sizes and policies: each write holds one policy, stays within max_bytes unless
    a single chunk is larger, and each policy's chunks arrive in submission order, each once."""
    rng = random.Random(seed)
    written: list[Any] = []
    writer = BatchWriter(
        V1Transport(capture.url, "fw", gzip=False), max_bytes=600, max_delay_s=0.02, on_written=written.extend
    )
    sent: dict[str | None, list[bytes]] = {}
    for i in range(120):
        rp = rng.choice([None, None, "raw", "ops"])
        body = b"".join(b"m,c=%d x=%di %d\n" % (i, j, j) for j in range(rng.randint(1, 12)))
        sent.setdefault(rp, []).append(body)
        writer.submit(body, i, retention_policy=rp)
        if rng.random() < 0.1:
            time.sleep(0.03)
    writer.close()
    assert sorted(written) == list(range(120))
    received: dict[str | None, list[bytes]] = {}
    for req in capture.requests:
        rp = req.query.get("rp", [None])[0]
        lines = req.body.splitlines(keepends=True)
        chunks_in_request = {line.split(b" ")[0] for line in lines}
        assert len(req.body) <= 600 or len(chunks_in_request) == 1
        received.setdefault(rp, []).append(req.body)
    for rp, bodies in sent.items():
        assert b"".join(received[rp]) == b"".join(bodies)


def test_callback_failure_does_not_stop_the_writer(capture: CaptureServer) -> None:
    seen: list[Any] = []

    def flaky(tokens: list[Any]) -> None:
        seen.extend(tokens)
        if tokens == ["boom"]:
            raise RuntimeError("acknowledger failed")

    writer = BatchWriter(V1Transport(capture.url, "fw"), max_delay_s=0, on_written=flaky)
    writer.submit(_chunk(1), "boom")
    assert writer.flush(5)
    writer.submit(_chunk(2), "after")
    writer.close()
    assert seen == ["boom", "after"]


def test_failing_on_rejected_still_acknowledges_the_good_chunks(influxdb: InfluxTestDB, acks: Acks) -> None:
    def broken_dead_letter(token: Any, error: WriteRejected) -> None:
        raise RuntimeError("dead-letter store down")

    writer = BatchWriter(
        V1Transport(influxdb.url, influxdb.database),
        max_delay_s=0.3,
        on_written=acks.on_written,
        on_rejected=broken_dead_letter,
    )
    for i in range(4):
        writer.submit(b"vitals garbage\n" if i == 1 else _chunk(i), i)
    writer.close()
    assert sorted(acks.written) == [0, 2, 3]


class FlakyTransport:
    """The real transport, with a programming error injected into its first two calls."""

    def __init__(self, inner: V1Transport) -> None:
        self.inner = inner
        self.calls = 0

    def write(self, body: bytes, retention_policy: str | None = None) -> None:
        self.calls += 1
        if self.calls <= 2:
            raise TypeError("bug in a transport")
        self.inner.write(body, retention_policy)

    def query(self, influxql: str, params: Any = None) -> list[dict[str, Any]]:
        return self.inner.query(influxql, params)

    def ping(self) -> bool:
        return self.inner.ping()

    def close(self) -> None:
        self.inner.close()


def test_unexpected_transport_error_is_retried_not_dropped(influxdb: InfluxTestDB, acks: Acks) -> None:
    transport = FlakyTransport(V1Transport(influxdb.url, influxdb.database))
    writer = BatchWriter(transport, on_written=acks.on_written, retry_base_s=0.01, retry_cap_s=0.02)
    writer.submit(_chunk(1), "kept")
    writer.close()
    assert acks.written == ["kept"] and writer.stats.retries == 2 and _count(influxdb) == 3


def test_bad_arguments_refused() -> None:
    with pytest.raises(ValueError):
        BatchWriter(V1Transport("http://127.0.0.1:1", "fw"), max_bytes=0, on_written=lambda _t: None)


# --- each measurement to the retention policy the schema gives it ----------------------------------


NOW = (time.time_ns() // 10**9) * 10**9  # within every policy's retention (T0 is older than "ops")


def _mixed_body(i: int) -> bytes:
    """One gateway-like chunk: clinical and operational points together (as the consumer's
    PointTable encodes a group of messages), every measurement of the schema once."""
    from gateway import influx_schema

    lines = []
    for n, m in enumerate(influx_schema.MEASUREMENTS.values()):
        tag = m.tags[0]
        lines.append(f"{m.name},{tag}=gj-01 seq={i}i {NOW + i * 1000 + n}\n".encode())
    return b"".join(lines)


def test_each_measurement_lands_in_its_schema_policy_without_the_caller_naming_it(
    influxdb: InfluxTestDB, acks: Acks
) -> None:
    """`frailwatch influx init`'s policies, the writer's default routing: operational measurements
    in "ops", clinical ones in the default "forever", none in both; each token acknowledged once."""
    from gateway import influx_schema
    from gateway.influx.init import init_database

    transport = V1Transport(influxdb.url, influxdb.database)
    init_database(transport)
    writer = BatchWriter(transport, max_delay_s=0.05, on_written=acks.on_written)
    for i in range(8):
        writer.submit(_mixed_body(i), i)
    writer.close()
    assert sorted(acks.written) == list(range(8)), "each token exactly once"
    db = influxdb.database
    # dead letters stay with the clinical data: stamped at their message's (possibly old) time
    operational = {"station_heartbeat", "station_device", "station_status", "gateway_stats"}
    assert set(influx_schema.NON_DEFAULT_POLICIES) == operational
    for name in influx_schema.MEASUREMENTS:
        where = {
            policy: len(influxdb.rows(f'SELECT seq FROM "{db}"."{policy}"."{name}"'))
            for policy in influx_schema.RETENTION_POLICIES
        }
        expected = "ops" if name in operational else "forever"
        assert where == {p: (8 if p == expected else 0) for p in where}, name
        # and the schema's own FROM target for dashboards reads exactly those points
        assert len(influxdb.rows(f"SELECT seq FROM {influx_schema.qualified(name)}")) == 8, name


def test_a_refused_part_of_a_mixed_body_rejects_its_token_once_and_never_acknowledges_it(
    influxdb: InfluxTestDB, acks: Acks
) -> None:
    from gateway.influx.init import init_database

    transport = V1Transport(influxdb.url, influxdb.database)
    init_database(transport)
    influxdb.write(b"vitals,station_id=gj-01 seq=0i %d\n" % NOW)  # seq is an integer in "forever"
    writer = BatchWriter(transport, max_delay_s=0.2, on_written=acks.on_written, on_rejected=acks.on_rejected)
    good = _mixed_body(1)
    bad = b"vitals,station_id=gj-01 seq=1.5 %d\nstation_heartbeat,station_id=gj-01 seq=7i %d\n" % (NOW, NOW)
    writer.submit(good, "good")
    writer.submit(bad, "bad")
    writer.close()
    assert acks.written == ["good"]
    assert [(t, "field type conflict" in e.message) for t, e in acks.rejected] == [("bad", True)]
    # the operational half of the refused body is stored all the same (rewriting it is harmless)
    rows = influxdb.rows(f'SELECT seq FROM "{influxdb.database}"."ops"."station_heartbeat" WHERE seq = 7')
    assert len(rows) == 1


def test_without_the_ops_policy_writes_wait_loudly_until_influx_init_runs(
    influxdb: InfluxTestDB, acks: Acks, caplog: pytest.LogCaptureFixture
) -> None:
    """A database `frailwatch influx init` never saw: InfluxDB answers 500 "retention policy not
    found" for the operational points. Like a missing database it is configuration, not the
    data's fault: kept and retried (never acknowledged, never dead-lettered) with the fix in the
    log; once init has run, everything is written and acknowledged."""
    from gateway.influx.init import init_database

    transport = V1Transport(influxdb.url, influxdb.database)
    writer = BatchWriter(
        transport, max_delay_s=0.02, on_written=acks.on_written, on_rejected=acks.on_rejected, retry_cap_s=0.2
    )
    writer.submit(b"station_heartbeat,station_id=gj-01 seq=1i %d\n" % NOW, "ops")
    writer.submit(_chunk(2), "clinical")
    time.sleep(1.0)
    assert acks.written == [] and acks.rejected == []
    assert writer.stats.retries >= 2
    assert "retention policy not found: ops" in caplog.text and "frailwatch influx init" in caplog.text
    init_database(transport)
    assert writer.close(timeout_s=10)
    assert sorted(acks.written) == ["clinical", "ops"] and acks.rejected == []
    rows = influxdb.rows(f'SELECT seq FROM "{influxdb.database}"."ops"."station_heartbeat"')
    assert [r["seq"] for r in rows] == [1]
