"""Batched, acknowledged writes: nothing is reported written until InfluxDB said so.

Callers :meth:`BatchWriter.submit` chunks of line protocol, each with a ``token`` (whatever they
need back, e.g. MQTT message ids). A background thread joins chunks into batches of up to
``max_bytes`` or whatever arrived within ``max_delay_s`` of the oldest, and writes each batch:

- success → ``on_written(tokens)`` (the caller acknowledges its messages only now);
- :class:`InfluxUnavailable` → retried forever with exponential backoff and full jitter
  (AWS Architecture Blog, "Exponential Backoff And Jitter", 2015: sleep = uniform(0, min(cap,
  base·2^attempt))), acknowledging nothing meanwhile, so an outage only delays;
- :class:`WriteRejected` (4xx) → the batch is halved and each half written again until the culprit
  chunks stand alone: good chunks go to ``on_written``, bad ones to ``on_rejected(token, error)``
  with InfluxDB's message. Re-writing the good points is harmless: same series and timestamp
  overwrite (and InfluxDB 1.x has already stored them on a "partial write").

``submit`` blocks while more than ``max_pending_bytes`` wait (backpressure up to the MQTT client,
which then stops reading). :meth:`close` flushes, then stops the thread.

Retention policies: a batch is one ``/write`` request, so it holds chunks of one policy. A chunk
submitted without a policy is split by its lines' measurements (:mod:`.routing`, with the
``policies`` mapping — by default the schema's: operational measurements to ``ops``, the rest to
the database's default), so callers never name a policy. The parts of one submitted body share its
token: ``on_written`` gets it once every part is written, ``on_rejected`` once every part is done
and one of them was refused — never both, never twice.

``concurrency`` > 1 runs that many writer threads, so InfluxDB can work on several batches at
once (it parses and indexes a batch on one core). Batches then complete in any order and the
callbacks run on several threads at once (they must be thread-safe). Order only matters for two
writes of one point (same series and timestamp) with different values in flight together, which
deterministic point identities make impossible: a redelivered message carries the same values.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from gateway.influx.lineprotocol import count_lines
from gateway.influx.routing import split_by_policy
from gateway.influx.transport import InfluxTransport, InfluxUnavailable, WriteRejected

__all__ = ["BatchWriter", "Chunk", "WriterClosed", "WriterStats"]

log = logging.getLogger(__name__)


class WriterClosed(RuntimeError):
    """submit() after close()."""


class _Parts:
    """The parts (one per retention policy) of one submitted body: its token is handed back once,
    when the last part is done."""

    __slots__ = ("left", "lock", "rejection")

    def __init__(self, parts: int) -> None:
        self.left = parts
        self.rejection: WriteRejected | None = None
        self.lock = threading.Lock()

    def done(self, rejection: WriteRejected | None = None) -> tuple[bool, WriteRejected | None]:
        """Count one part done; (all done now, the first rejection among them)."""
        with self.lock:
            self.left -= 1
            if rejection is not None and self.rejection is None:
                self.rejection = rejection
            return self.left == 0, self.rejection


@dataclass(slots=True)
class Chunk:
    """Line protocol from one caller unit (e.g. one MQTT message) and the token to hand back."""

    body: bytes
    token: Any
    points: int = 0
    submitted_at: float = 0.0
    retention_policy: str | None = None
    parts: _Parts | None = None  # set when the body was split by retention policy
    urgent: bool = False


@dataclass
class WriterStats:
    """Counters of a :class:`BatchWriter` (thread-safe; read with :meth:`snapshot`).

    ``latency_observer`` (e.g. a Prometheus histogram's ``observe``) gets each successful write's
    duration in seconds.
    """

    points: int = 0
    bytes: int = 0
    batches: int = 0
    chunks: int = 0
    retries: int = 0
    rejected: int = 0
    rejected_points: int = 0
    last_write_s: float = 0.0
    total_write_s: float = 0.0
    last_batch_points: int = 0
    pending_bytes: int = 0
    pending_chunks: int = 0
    unavailable_since: float | None = None
    latency_observer: Callable[[float], None] | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def _written(self, points: int, n_bytes: int, chunks: int, seconds: float) -> None:
        with self._lock:
            self.points += points
            self.bytes += n_bytes
            self.batches += 1
            self.chunks += chunks
            self.last_write_s = seconds
            self.total_write_s += seconds
            self.last_batch_points = points
            self.unavailable_since = None
        if self.latency_observer is not None:
            self.latency_observer(seconds)

    def _retry(self) -> None:
        with self._lock:
            self.retries += 1
            if self.unavailable_since is None:
                self.unavailable_since = time.monotonic()

    def _rejected(self, points: int) -> None:
        with self._lock:
            self.rejected += 1
            self.rejected_points += points

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "points": self.points,
                "bytes": self.bytes,
                "batches": self.batches,
                "chunks": self.chunks,
                "retries": self.retries,
                "rejected": self.rejected,
                "rejected_points": self.rejected_points,
                "last_write_s": self.last_write_s,
                "total_write_s": self.total_write_s,
                "last_batch_points": self.last_batch_points,
                "pending_bytes": self.pending_bytes,
                "pending_chunks": self.pending_chunks,
                "unavailable_s": (
                    None if self.unavailable_since is None else time.monotonic() - self.unavailable_since
                ),
            }


def _ignore_rejected(token: Any, error: WriteRejected) -> None:
    log.error("InfluxDB rejected a chunk and no on_rejected handler is set: %s", error)


class BatchWriter:
    """See the module docstring. Thread-safe; callbacks run on the writer thread."""

    def __init__(
        self,
        transport: InfluxTransport,
        *,
        max_bytes: int = 1_000_000,
        max_delay_s: float = 0.05,
        on_written: Callable[[list[Any]], None],
        on_rejected: Callable[[Any, WriteRejected], None] = _ignore_rejected,
        stats: WriterStats | None = None,
        max_pending_bytes: int | None = None,
        retry_base_s: float = 0.1,
        retry_cap_s: float = 10.0,
        name: str = "influx-writer",
        concurrency: int = 1,
        policies: Mapping[str, str] | None = None,
    ) -> None:
        if max_bytes <= 0 or max_delay_s < 0 or retry_base_s <= 0 or retry_cap_s < retry_base_s:
            raise ValueError("max_bytes > 0, max_delay_s ≥ 0 and 0 < retry_base_s ≤ retry_cap_s are required")
        if concurrency < 1:
            raise ValueError("concurrency must be ≥ 1")
        self.transport = transport
        self.max_bytes = max_bytes
        self.max_delay_s = max_delay_s
        self.max_pending_bytes = max_pending_bytes if max_pending_bytes is not None else 16 * max_bytes
        self.on_written = on_written
        self.on_rejected = on_rejected
        self.stats = stats if stats is not None else WriterStats()
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        if policies is None:
            from gateway.influx_schema import NON_DEFAULT_POLICIES

            policies = NON_DEFAULT_POLICIES
        self.policies = dict(policies)  # measurement -> retention policy (others: the default)
        self._pending: deque[Chunk] = deque()
        self._pending_bytes = 0
        self._rp_chunks = 0  # pending chunks with their own retention policy (0: take batches from the head)
        self._urgent = 0  # pending chunks that do not wait for a batch to fill
        self._busy = 0  # batches taken from _pending and being written
        self._flush_requested = 0
        self._closing = False
        self._abort = threading.Event()  # close() timed out: stop retrying, leave the rest unacknowledged
        self._cond = threading.Condition()
        self._rng = random.Random()
        self._threads = [
            threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(concurrency)
        ]
        for thread in self._threads:
            thread.start()

    # --- caller side -----------------------------------------------------------------------------

    def submit(
        self, body: bytes, token: Any, retention_policy: str | None = None, urgent: bool = False
    ) -> None:
        """Queue ``body`` (line protocol) for writing; blocks while too much is pending.

        ``retention_policy``: write this chunk into that RP instead of the transport's (a batch
        holds chunks of one RP only). Without it, the body is split by its measurements' policies
        (``policies``). An empty body is acknowledged with its batch, unwritten.
        ``urgent``: write it (with whatever else is pending) without waiting ``max_delay_s``,
        for work that waits on this write before it can go on.
        """
        if body and not body.endswith(b"\n"):
            body += b"\n"
        now = time.monotonic()
        split: list[tuple[str | None, bytes]] = (
            [(retention_policy, body)] if retention_policy else split_by_policy(body, self.policies)
        )
        parts = _Parts(len(split)) if len(split) > 1 else None
        chunks = [Chunk(b, token, count_lines(b), now, rp or None, parts, urgent) for rp, b in split]
        with self._cond:
            while (
                not self._closing
                and self._pending
                and self._pending_bytes + len(body) > self.max_pending_bytes
            ):
                self._cond.wait()
            if self._closing:
                raise WriterClosed("the InfluxDB writer is closed")
            for chunk in chunks:
                self._pending.append(chunk)
                self._pending_bytes += len(chunk.body)
                if chunk.retention_policy is not None:
                    self._rp_chunks += 1
                self._urgent += urgent
            self._update_pending_stats()
            self._cond.notify_all()

    def flush(self, timeout_s: float | None = None) -> bool:
        """Write everything submitted so far now; True when all of it is written (or rejected)."""
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        with self._cond:
            self._flush_requested += 1
            self._cond.notify_all()
            try:
                while self._pending or self._busy:
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        return False
                    self._cond.wait(remaining)
                return True
            finally:
                self._flush_requested -= 1

    def close(self, timeout_s: float | None = None) -> bool:
        """Flush and stop. With a timeout, whatever is still unwritten then is abandoned unacknowledged
        (its messages will be redelivered to some gateway). Returns True when all was written."""
        done = self.flush(timeout_s)
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if not done:
            self._abort.set()
        for thread in self._threads:
            thread.join()
        return done

    @property
    def pending_bytes(self) -> int:
        return self._pending_bytes

    # --- writer thread ---------------------------------------------------------------------------

    def _update_pending_stats(self) -> None:
        self.stats.pending_bytes = self._pending_bytes
        self.stats.pending_chunks = len(self._pending)

    def _next_batch(self) -> list[Chunk] | None:
        """Wait for a batch to be due; None when closing with nothing left."""
        with self._cond:
            while True:
                if self._abort.is_set():
                    return None
                if self._pending:
                    due = self._pending[0].submitted_at + self.max_delay_s
                    now = time.monotonic()
                    if (
                        self._pending_bytes >= self.max_bytes
                        or now >= due
                        or self._flush_requested
                        or self._urgent
                        or self._closing
                    ):
                        break
                    self._cond.wait(due - now)
                elif self._closing:
                    return None
                else:
                    self._cond.wait()
            batch = self._take_batch() if self._rp_chunks else self._take_head()
            size = sum(len(c.body) for c in batch)
            self._pending_bytes -= size
            self._rp_chunks -= sum(c.retention_policy is not None for c in batch)
            self._urgent -= sum(c.urgent for c in batch)
            self._busy += 1
            self._update_pending_stats()
            self._cond.notify_all()  # room for blocked submitters
            return batch

    def _take_head(self) -> list[Chunk]:
        batch: list[Chunk] = []
        size = 0
        while self._pending and (not batch or size + len(self._pending[0].body) <= self.max_bytes):
            chunk = self._pending.popleft()
            batch.append(chunk)
            size += len(chunk.body)
        return batch

    def _take_batch(self) -> list[Chunk]:
        """Chunks of the head's retention policy, in order, up to max_bytes; the others keep their place."""
        rp = self._pending[0].retention_policy
        batch: list[Chunk] = []
        rest: deque[Chunk] = deque()
        size = 0
        full = False  # once one chunk of this policy does not fit, later ones wait too (keeps order)
        while self._pending and not full:
            chunk = self._pending.popleft()
            if chunk.retention_policy != rp:
                rest.append(chunk)
            elif not batch or size + len(chunk.body) <= self.max_bytes:
                batch.append(chunk)
                size += len(chunk.body)
            else:
                rest.append(chunk)
                full = True
        rest.extend(self._pending)
        self._pending = rest
        return batch

    def _run(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            try:
                self._write_batch(batch)
            except Exception:  # a bug of ours; the writer must keep going for the other batches
                log.exception("InfluxDB writer: batch of %d chunks failed unexpectedly", len(batch))
            finally:
                with self._cond:
                    self._busy -= 1
                    self._cond.notify_all()

    def _write_batch(self, batch: list[Chunk]) -> None:
        written: list[Chunk] = []
        self._write_isolating(batch, written, batch[0].retention_policy)
        tokens = []
        for chunk in written:
            if chunk.parts is None:
                tokens.append(chunk.token)
                continue
            last, rejection = chunk.parts.done()
            if last and rejection is None:
                tokens.append(chunk.token)
            elif last and rejection is not None:
                self._reject(chunk.token, rejection)  # an earlier part of its body was refused
        if tokens:
            try:
                self.on_written(tokens)
            except Exception:  # the caller's acknowledger failed; keep writing the rest
                log.exception("InfluxDB writer: on_written failed for %d chunks", len(tokens))

    def _reject(self, token: Any, error: WriteRejected) -> None:
        try:
            self.on_rejected(token, error)
        except Exception:  # must not cost the good chunks of this batch their acknowledgement
            log.exception("InfluxDB writer: on_rejected failed")

    def _write_isolating(self, chunks: list[Chunk], written: list[Chunk], rp: str | None) -> None:
        """Write ``chunks``; on a rejection, halve until each culprit is alone."""
        body = b"".join(c.body for c in chunks)
        if not body:
            written.extend(chunks)
            return
        try:
            if not self._write_with_retry(body, sum(c.points for c in chunks), len(chunks), rp):
                return  # aborted by close(timeout): leave unacknowledged
        except WriteRejected as exc:
            if len(chunks) == 1:
                chunk = chunks[0]
                self.stats._rejected(chunk.points)
                log.warning("InfluxDB rejected a chunk (%d points): %s", chunk.points, exc.message)
                if chunk.parts is None:
                    self._reject(chunk.token, exc)
                else:
                    last, first = chunk.parts.done(exc)
                    if last:
                        self._reject(chunk.token, first or exc)
                return
            half = len(chunks) // 2
            self._write_isolating(chunks[:half], written, rp)
            self._write_isolating(chunks[half:], written, rp)
            return
        written.extend(chunks)

    def _write_with_retry(self, body: bytes, points: int, n_chunks: int, rp: str | None) -> bool:
        """Write until it succeeds (True) or close() gives up (False); WriteRejected propagates."""
        attempt = 0
        while True:
            started = time.perf_counter()
            try:
                if rp is None:
                    self.transport.write(body)
                else:
                    self.transport.write(body, retention_policy=rp)
            except WriteRejected:
                raise
            except Exception as exc:
                # InfluxUnavailable, or a transport bug: either way the data is kept and retried
                # (loudly) rather than dropped or dead-lettered as if it were the data's fault.
                self.stats._retry()
                delay = self._rng.uniform(0, min(self.retry_cap_s, self.retry_base_s * 2**attempt))
                if not isinstance(exc, InfluxUnavailable):
                    log.error("InfluxDB transport failed unexpectedly (retrying): %r", exc)
                elif attempt == 0 or attempt % 10 == 0:
                    log.warning("InfluxDB unavailable (attempt %d, retrying): %s", attempt + 1, exc)
                attempt += 1
                if self._abort.wait(delay):
                    return False
                continue
            self.stats._written(points, len(body), n_chunks, time.perf_counter() - started)
            if attempt:
                log.info("InfluxDB write succeeded after %d retries", attempt)
            return True
