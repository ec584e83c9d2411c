"""The acknowledgement tracker alone (pure logic, no broker): a message is acknowledged exactly
once, only after every hold it was given is released and every step queued for it has run, and
never on a connection newer than the one it came on. The real-server tests
(test_gateway_faults.py, test_drill_gateway.py) show the same through kill -9 and outages."""

from __future__ import annotations

import random
import threading

import pytest

from gateway.acknowledgements import Acknowledgements, Delivery, Hold


class Broker:
    """What paho's client.ack would tell the broker."""

    def __init__(self) -> None:
        self.acked: list[int] = []
        self._lock = threading.Lock()

    def ack(self, mid: int, qos: int) -> None:
        assert qos > 0
        with self._lock:
            self.acked.append(mid)


def _tracker() -> tuple[Acknowledgements, Broker]:
    broker = Broker()
    return Acknowledgements(broker.ack), broker


def _receive(acks: Acknowledgements, mid: int, qos: int = 1) -> tuple[Delivery, Hold]:
    return acks.receive(mid, qos, "fw/v1/gj-01/data/grip/g1", b"{}")


def test_acknowledged_only_when_the_last_hold_is_released() -> None:
    acks, broker = _tracker()
    delivery, routing = _receive(acks, 7)
    write, publish = acks.hold([delivery]), acks.hold([delivery])
    routing.release()
    write.release()
    assert broker.acked == [] and acks.in_flight == 1
    publish.release()
    assert broker.acked == [7] and acks.in_flight == 0


def test_one_hold_over_many_deliveries_releases_each() -> None:
    acks, broker = _tracker()
    received = [_receive(acks, mid) for mid in (1, 2, 3)]
    chunk = acks.hold(d for d, _ in received)
    for _, routing in received:
        routing.release()
    assert broker.acked == []
    chunk.release()
    assert sorted(broker.acked) == [1, 2, 3]


def test_steps_run_in_order_each_after_the_holds_of_the_one_before() -> None:
    acks, broker = _tracker()
    delivery, routing = _receive(acks, 9)
    ran: list[str] = []
    held: list[Hold] = []

    def stage(name: str) -> None:
        ran.append(name)
        held.append(acks.hold([delivery]))  # e.g. the stage's write, still in flight

    acks.then(delivery, lambda: stage("scores"))
    acks.then(delivery, lambda: stage("decline"))
    routing.release()
    assert ran == ["scores"] and broker.acked == []
    held.pop().release()
    assert ran == ["scores", "decline"] and broker.acked == []
    held.pop().release()
    assert broker.acked == [9]


def test_a_step_may_queue_the_next_while_it_runs() -> None:
    acks, broker = _tracker()
    delivery, routing = _receive(acks, 4)
    ran: list[int] = []

    def step(n: int) -> None:
        ran.append(n)
        if n < 3:
            acks.then(delivery, lambda: step(n + 1))

    acks.then(delivery, lambda: step(1))
    routing.release()
    assert ran == [1, 2, 3] and broker.acked == [4]


def test_a_failing_step_leaves_the_message_unacknowledged() -> None:
    acks, broker = _tracker()
    delivery, routing = _receive(acks, 5)

    def broken() -> None:
        raise RuntimeError("a bug")

    acks.then(delivery, broken)
    routing.release()
    assert broker.acked == [] and acks.in_flight == 1


def test_never_acknowledged_on_a_newer_connection() -> None:
    acks, broker = _tracker()
    old, old_routing = _receive(acks, 11)
    acks.new_connection()  # disconnected: the broker will redeliver mid 11, perhaps as another message
    new, new_routing = _receive(acks, 11)
    old_routing.release()
    assert broker.acked == [] and acks.in_flight == 1  # given up, no longer in flight
    new_routing.release()
    assert broker.acked == [11] and acks.in_flight == 0
    assert old.generation < new.generation


def test_qos0_is_settled_without_an_ack_and_a_second_release_is_a_bug() -> None:
    acks, broker = _tracker()
    _, routing = _receive(acks, 0, qos=0)
    routing.release()
    assert broker.acked == [] and acks.in_flight == 0
    with pytest.raises(RuntimeError, match="released twice"):
        routing.release()


def test_counted_once_each_under_concurrent_releases() -> None:
    acks, broker = _tracker()
    holds: list[Hold] = []
    for mid in range(1, 201):
        delivery, routing = _receive(acks, mid)
        holds.extend(acks.hold([delivery]) for _ in range(5))
        holds.append(routing)
    random.Random(3).shuffle(holds)
    threads = [
        threading.Thread(target=lambda part=holds[n::4]: [h.release() for h in part]) for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(broker.acked) == list(range(1, 201)) and acks.in_flight == 0


def test_a_delivery_is_durable_once_all_its_work_is_and_then_receipted_whatever_its_connection() -> None:
    """The receipt hook: called once per delivery, after its last hold and step, before the ack —
    also for a delivery of an older connection (its writes are durable; only the ack is not sent)."""
    acks, broker = _tracker()
    durable: list[int] = []
    acks.on_durable = lambda d: durable.append(d.mid)
    delivery, routing = _receive(acks, 1)
    write = acks.hold((delivery,))
    acks.then(delivery, lambda: None)
    routing.release()
    assert durable == []
    write.release()
    assert durable == [1] and broker.acked == [1]
    _old, routing = _receive(acks, 2)
    acks.new_connection()
    routing.release()
    assert durable == [1, 2] and broker.acked == [1], "durable, receipted, but not acknowledged"


def test_a_written_batch_releases_its_holds_at_once() -> None:
    """release_all: each delivery acknowledged once, when its last hold in or out of the batch
    goes; a step queued for one runs before its acknowledgement; a hold twice is refused whole."""
    broker = Broker()
    counted: list[int] = []
    acks = Acknowledgements(broker.ack, on_acked=counted.append)
    (a, ra), (b, rb), (c, rc) = (_receive(acks, mid) for mid in (1, 2, 3))
    first, second, later = acks.hold([a, b]), acks.hold([b, c]), acks.hold([c])
    ran: list[str] = []
    acks.then(b, lambda: ran.append("b's step"))
    for routing in (ra, rb, rc):
        routing.release()
    with pytest.raises(RuntimeError):
        acks.release_all([first, first])
    assert broker.acked == [] and acks.in_flight == 3  # nothing was released by the refused call
    acks.release_all([first, second])
    assert sorted(broker.acked) == [1, 2] and ran == ["b's step"] and sum(counted) == 2
    later.release()
    assert sorted(broker.acked) == [1, 2, 3] and acks.in_flight == 0 and sum(counted) == 3
