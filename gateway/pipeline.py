"""The follow-up pipeline: after a message's own points are durable, its follow-ups run through
the stages (:func:`gateway.stages.default_stages`) one stage at a time, then it is acknowledged.

:meth:`Pipeline.follow` queues the stages as steps of the delivery (:mod:`gateway.acknowledgements`):
when the delivery settles, each of its follow-ups becomes a job of the first stage; once
everything those jobs caused is durable, the next stage; after the last, the acknowledgement.

Each participant has a queue of jobs, and only its head is ever handed to a worker: the next job
goes once the points of the one before are written, so every stage reads what the participant's
earlier jobs wrote (a visit's score point, its events). Workers are partitioned by a hash of the
participant. A worker takes what its inbox holds (up to :data:`FOLLOWUP_BATCH` jobs, one per
participant) and sends the statements of all of them to InfluxDB as one request, answered per
statement; each job's stage then turns its own answers into effects: statements run before its
points, its points written and its alerts published, the message holding for both. A statement
InfluxDB refuses sends the batch back one job at a time, so only the job at fault is skipped
(logged); a stage that fails on its answers is skipped likewise. A stage's refusals (a case action
the log does not allow) become dead letters of the message, written with its points. A stage that
applies to none of a delivery's items is passed over. While InfluxDB is unavailable the
reads are retried and nothing is acknowledged; a job the gateway stops before it finishes is left
unacknowledged, for redelivery.
"""

from __future__ import annotations

import functools
import logging
import queue
import random
import threading
import zlib
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TypeVar

from gateway.acknowledgements import Acknowledgements, Delivery, Hold
from gateway.dead_letters import Refusal
from gateway.drill import CrashPoint
from gateway.followup import FollowUp, Stage, Subject
from gateway.influx.reader import InfluxReader, Row
from gateway.influx.transport import InfluxUnavailable, QueryError
from gateway.metrics import Metrics
from gateway.mqtt_session import MqttSession
from gateway.point_table import Point
from gateway.storage import Storage

log = logging.getLogger("frailwatch.gateway")
FOLLOWUP_THREADS = 4
FOLLOWUP_BATCH = 64  # jobs a worker takes at once (one per participant), read with one request
T = TypeVar("T")
Letter = Callable[[Delivery, Refusal], Point]  # DeadLetters.letter: publish a refusal, give its point


class _Stopped(Exception):
    """The gateway stopped while InfluxDB was unavailable: what is not done stays unacknowledged."""


@dataclass(eq=False)
class _Job:
    """One stage for one follow-up; ``hold`` keeps its message unacknowledged until the stage is done."""

    delivery: Delivery
    item: FollowUp[Subject]
    stage: Stage
    hold: Hold


class Pipeline:
    """Stage after stage for every follow-up, on worker threads partitioned by participant."""

    def __init__(
        self,
        stages: Sequence[Stage],
        reader: InfluxReader,
        storage: Storage,
        session: MqttSession,
        acks: Acknowledgements,
        metrics: Metrics,
        stopping: threading.Event,
        workers: int = FOLLOWUP_THREADS,
        letter: Letter | None = None,
        crash: CrashPoint | None = None,
    ) -> None:
        self.stages = list(stages)
        self.letter = letter
        self.crash = crash  # the stage-boundary drill's fault (gateway.drill); None in operation
        self.reader = reader
        self.storage = storage
        self.session = session
        self.acks = acks
        self.metrics = metrics
        self._stopping = stopping
        self._inboxes: list[queue.Queue[_Job | None]] = [queue.Queue() for _ in range(workers)]
        self._lock = threading.Lock()
        self._behind: dict[str, deque[_Job]] = {}  # per participant with a job out: the jobs after it
        self._threads: list[threading.Thread] = []

    def wants(self, message: Subject) -> bool:
        """Whether any stage has work for ``message`` (then the stages that do run on it)."""
        return any(stage.applies(message) for stage in self.stages)

    def follow(self, delivery: Delivery, items: list[FollowUp[Subject]]) -> None:
        """Run the stages on ``items`` once everything ``delivery`` now waits for is durable."""
        if items and self.stages:
            self.acks.then(delivery, functools.partial(self._enter, delivery, items, 0))

    def start(self) -> list[threading.Thread]:
        self._threads = [
            threading.Thread(target=self._work, args=(inbox,), name=f"followup-{n}", daemon=True)
            for n, inbox in enumerate(self._inboxes)
        ]
        for thread in self._threads:
            thread.start()
        return self._threads

    def close(self) -> None:
        for inbox in self._inboxes:
            inbox.put(None)

    def _enter(self, delivery: Delivery, items: list[FollowUp[Subject]], index: int) -> None:
        """Stage ``index`` — or the next that applies to an item — for each item (a step of the
        delivery: it runs when the delivery settles)."""
        while index < len(self.stages) and not any(self.stages[index].applies(i.message) for i in items):
            index += 1
        if index == len(self.stages):
            if self.crash is not None:
                self.crash.reached("before:ack")
            return
        stage = self.stages[index]
        if self.crash is not None:
            self.crash.reached(f"before:{stage.name}")
        if index + 1 < len(self.stages) or self.crash is not None:  # the drill checks before the ack too
            self.acks.then(delivery, functools.partial(self._enter, delivery, items, index + 1))
        for item in items:
            self._queue(_Job(delivery, item, stage, self.acks.hold((delivery,))))

    def _queue(self, job: _Job) -> None:
        """To a worker if the participant has no job out, else behind its last one."""
        participant = job.item.participant
        with self._lock:
            behind = self._behind.get(participant)
            if behind is not None:
                behind.append(job)
                return
            self._behind[participant] = deque()
        self._hand_out(job)

    def _hand_out(self, job: _Job) -> None:
        self._inboxes[zlib.crc32(job.item.participant.encode()) % len(self._inboxes)].put(job)

    def _next(self, participant: str) -> None:
        """The participant's job out is done (its points written): hand out the one behind it."""
        with self._lock:
            behind = self._behind[participant]
            if not behind:
                del self._behind[participant]
                return
            job = behind.popleft()
        self._hand_out(job)

    # --- a worker -----------------------------------------------------------------------------

    def _work(self, inbox: queue.Queue[_Job | None]) -> None:
        while True:
            job = inbox.get()
            if job is None:
                return
            batch, last = [job], False
            while len(batch) < FOLLOWUP_BATCH:
                try:
                    more = inbox.get_nowait()
                except queue.Empty:
                    break
                if more is None:
                    last = True
                    break
                batch.append(more)
            try:
                self._run_batch(batch)
            except _Stopped:
                return
            if last:
                return

    def _run_batch(self, batch: list[_Job]) -> None:
        asked: list[tuple[_Job, list[str]]] = []
        for job in batch:
            try:
                asked.append((job, job.stage.statements(job.item)))
            except Exception:
                self._skip(job, "could not say what to read")
        statements = [s for _, mine in asked for s in mine]
        try:
            answers = self._until_answered(lambda: self.reader.query_many(statements))
        except QueryError as exc:
            if len(asked) == 1:
                self._skip(asked[0][0], f"InfluxDB refused its read: {exc}", trace=False)
                return
            for job, _ in asked:  # find the job whose statement InfluxDB refuses
                self._run_batch([job])
            return
        start = 0
        for job, mine in asked:
            self._finish(job, answers[start : start + len(mine)])
            start += len(mine)

    def _finish(self, job: _Job, answers: list[list[Row]]) -> None:
        try:
            effects = job.stage.run(job.item, answers)
            for statement in effects.before_write:
                self._until_answered(functools.partial(self.reader.execute, statement))
        except (QueryError, ValueError) as exc:
            self._skip(job, str(exc), trace=False)
            return
        except _Stopped:
            raise
        except Exception:
            self._skip(job, "failed")
            return
        points = list(effects.points)
        for refusal in effects.refusals:
            if self.letter is None:
                log.error("the %s stage refused a message, no letter kept: %s", job.stage.name, refusal)
                continue
            points.append(self.letter(job.delivery, refusal))
        self.storage.write_points(job.delivery, points, functools.partial(self._next, job.item.participant))
        for topic, payload in effects.alerts:
            (self.metrics.results if topic.endswith("/results") else self.metrics.alerts).inc()
            self.session.publish(job.delivery, topic, payload)
        job.hold.release()

    def _skip(self, job: _Job, why: str, trace: bool = True) -> None:
        """Give a job up (a bug, or data InfluxDB refuses): its message is acknowledged without it."""
        if trace:
            log.exception("the %s stage skipped a message: %s", job.stage.name, why)
        else:
            log.error("the %s stage skipped a message: %s", job.stage.name, why)
        self._next(job.item.participant)
        job.hold.release()

    def _until_answered(self, call: Callable[[], T]) -> T:
        """``call()`` until InfluxDB answers; :class:`_Stopped` when the gateway stops first."""
        attempt = 0
        while True:
            try:
                return call()
            except InfluxUnavailable as exc:
                if self._stopping.is_set():
                    raise _Stopped from None
                if attempt % 10 == 0:
                    log.warning("InfluxDB unavailable for a follow-up read (retrying): %s", exc)
                attempt += 1
                self._stopping.wait(random.uniform(0, min(5.0, 0.1 * 2**attempt)))
