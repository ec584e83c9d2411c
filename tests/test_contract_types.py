"""Strict wire types: a JSON value of the wrong type anywhere in any wire model is refused with
``wrong_type`` and the path of that value, never coerced.

Every field of every wire model is found from the model's own JSON Schema (so a field added later
is covered without touching this file), and every top-level wire model (a ``message_type``) must
have an example here. Hypothesis draws the field and the wrong value — text (numeric or not), a
boolean, or ``null`` (where the field is not nullable) where a number belongs; a number, a boolean
or ``null`` where text (an id, a time, an enum, a literal) belongs; a number or text where a
boolean belongs — and one exhaustive test tries one value of each family on every field.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel

import telemetry
from telemetry import ContractError, Reason, decode, decode_as, decode_batch, encode, encode_batch
from telemetry.cases import CaseEvent, CaseEventKind, CaseState, Domain, Evidence, EvidenceVisit
from telemetry.devices import MESSAGE_TYPES
from telemetry.envelope import WireModel
from telemetry.events import DeadLetter
from telemetry.examples import EXAMPLE_PSEUDONYM, EXAMPLE_STATION, example_messages
from telemetry.receipts import Receipt, digest
from telemetry.results import VisitResult
from telemetry.station import DeviceSeen, Heartbeat, StationStatus
from tests._station_support import visit_result

AT = datetime(2026, 5, 12, 1, 30, tzinfo=UTC)
# Fields with a reason of their own for any wrong value (tested in test_contract/test_corpus_decode).
OWN_REASON = {("schema_version",), ("device_kind",)}


def _platform_examples() -> dict[type[BaseModel], BaseModel]:
    """A valid instance of every platform message, with its optional parts filled in."""
    evidence = Evidence(
        rule="cusum:mobility",
        statistic=5.2,
        threshold=4.0,
        baseline={"gait_speed_mps": 1.05},
        current={"gait_speed_mps": 0.82},
        change={"gait_speed_mps": -0.23},
        visits=[EvidenceVisit(visit_id="visit-2026-05-12-0001", at=AT, station_id=EXAMPLE_STATION)],
        detail="below baseline for three visits",
    )
    return {
        Heartbeat: Heartbeat(
            station_id=EXAMPLE_STATION,
            at=AT,
            agent_version="0.4.0",
            uptime_s=3600.5,
            spool_depth=3,
            spool_bytes=2048,
            oldest_spooled_age_s=1.5,
            accepted_total=10,
            forwarded_total=7,
            uplink_refusals={"no_matching_subscribers": 2},
            devices=[DeviceSeen(device_id="vitals-1", device_kind="vitals", last_message_at=AT, messages=4)],
        ),
        StationStatus: StationStatus(
            station_id=EXAMPLE_STATION, state="online", at=AT, agent_version="0.4.0"
        ),
        DeadLetter: DeadLetter(
            at=AT,
            source="edge",
            station_id=EXAMPLE_STATION,
            topic="fwdev/v1/vitals/vitals-1",
            reason=Reason.OUT_OF_RANGE,
            detail="systolic_mmhg above 260",
            path="payload.systolic_mmhg",
            excerpt="{...}",
            size_bytes=310,
            message_id="example-vitals-0001",
        ),
        CaseEvent: CaseEvent(
            event_id="0123456789abcdef01234567",
            case_id="case-0123456789abcdef0123",
            participant=EXAMPLE_PSEUDONYM,
            domain=Domain.MOBILITY,
            event=CaseEventKind.OPENED,
            state=CaseState.OPEN,
            severity="warning",
            at=AT,
            processed_at=AT,
            station_id=EXAMPLE_STATION,
            visit_id="visit-2026-05-12-0001",
            evidence=evidence,
            note="retest at the next visit",
            follow_up_on=date(2026, 6, 1),
        ),
        Receipt: Receipt(
            station_id=EXAMPLE_STATION,
            at=AT,
            gateway="frailwatch-gateway-1",
            message_ids=["example-vitals-0001"],
            digests=[digest(b"{}")],
        ),
        # Measures with both kinds of band, all four scores, history, comparisons and an open case.
        VisitResult: visit_result(b"types-test-key-0123456789abcdef", AT),
    }


PLATFORM = _platform_examples()


def _wire_models() -> set[type[BaseModel]]:
    """Every top-level wire model of the contract: the WireModels with a ``message_type``."""
    for module in pkgutil.iter_modules(telemetry.__path__):
        importlib.import_module(f"telemetry.{module.name}")
    found: set[type[BaseModel]] = set()
    todo: list[type[BaseModel]] = [WireModel]
    while todo:
        model = todo.pop()
        todo.extend(model.__subclasses__())
        if "message_type" in model.model_fields and not model.__name__.startswith("_"):
            found.add(model)
    return found


def test_every_wire_model_has_an_example_here() -> None:
    """A new wire model must join these tests (device messages are covered through the batch)."""
    missing = {m.__name__ for m in _wire_models()} - {m.__name__ for m in PLATFORM} - {"MessageBatch"}
    assert not missing, f"add an example of {sorted(missing)} to PLATFORM"


# --- the fields, from each model's JSON Schema -------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    """One scalar field of a document: where it is, what JSON type it takes, whether null is allowed."""

    path: tuple[str | int, ...]
    kind: str  # "number", "string" or "boolean"
    nullable: bool


def _resolve(node: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        node = defs[node["$ref"].rsplit("/", 1)[-1]]
    return node


def _leaves(node: dict[str, Any], doc: Any, path: tuple[str | int, ...], defs: dict[str, Any]) -> list[Leaf]:
    node = _resolve(node, defs)
    if "oneOf" in node and "discriminator" in node:  # a tagged union: the member the document is
        tag = node["discriminator"]["propertyName"]
        if not isinstance(doc, dict) or doc.get(tag) not in node["discriminator"]["mapping"]:
            return []
        node = _resolve({"$ref": node["discriminator"]["mapping"][doc[tag]]}, defs)
    nullable = False
    if "anyOf" in node:
        variants = [v for v in node["anyOf"] if v.get("type") != "null"]
        nullable = len(variants) < len(node["anyOf"])
        if len(variants) != 1:
            return []
        node = _resolve(variants[0], defs)
    kind = node.get("type")
    if kind == "object":
        out: list[Leaf] = []
        if not isinstance(doc, dict):
            return out
        for name, sub in node.get("properties", {}).items():
            if name in doc:
                out += _leaves(sub, doc[name], (*path, name), defs)
            else:  # absent optional field: a wrong value inserted there is refused too
                out += [
                    leaf
                    for leaf in _leaves(sub, None, (*path, name), defs)
                    if len(leaf.path) == len(path) + 1
                ]
        # A mapping (dict[str, float]): its values, under the first key the document has.
        values = node.get("additionalProperties") or next(
            iter(node.get("patternProperties", {}).values()), None
        )
        if isinstance(values, dict) and "properties" not in node:
            for key in list(doc)[:1]:
                out += _leaves(values, doc[key], (*path, key), defs)
        return out
    if kind == "array":
        items = node.get("items")
        if not (isinstance(items, dict) and isinstance(doc, list) and doc):
            return []
        # Objects: every element (measures of different bands); scalars: the first stands for all.
        elements = range(len(doc)) if isinstance(doc[0], dict) else range(1)
        return [leaf for i in elements for leaf in _leaves(items, doc[i], (*path, i), defs)]
    if kind in ("number", "integer"):
        return [Leaf(path, "number", nullable)]
    if kind == "string":
        return [Leaf(path, "string", nullable)]
    if kind == "boolean":
        return [Leaf(path, "boolean", nullable)]
    return []


def _document_leaves(model: type[BaseModel], doc: dict[str, Any]) -> list[Leaf]:
    schema = model.model_json_schema(mode="validation")
    leaves = _leaves(schema, doc, (), schema.get("$defs", {}))
    return [leaf for leaf in leaves if leaf.path not in OWN_REASON]


@dataclass(frozen=True)
class Target:
    """A document of one wire model, one of its fields, and how the codec is asked about it."""

    name: str
    doc: dict[str, Any]
    leaf: Leaf
    channel: str  # "message", "batch" or the platform model's name


def _targets() -> list[Target]:
    out: list[Target] = []
    for kind, message in example_messages().items():
        doc = json.loads(encode(message))
        for leaf in _document_leaves(MESSAGE_TYPES[kind], doc):
            out.append(Target(kind.value, doc, leaf, "message"))
    # A batch: its own fields, and each message's fields at messages.<i>.
    messages = list(example_messages().values())
    batch_doc = json.loads(encode_batch(EXAMPLE_STATION, messages))
    for leaf in _document_leaves(
        telemetry.MessageBatch, {k: v for k, v in batch_doc.items() if k != "messages"}
    ):
        out.append(Target("batch", batch_doc, leaf, "batch"))
    for index, message in enumerate(messages):
        for leaf in _document_leaves(type(message), batch_doc["messages"][index]):
            path = ("messages", index, *leaf.path)
            out.append(
                Target(
                    f"batch/{message.device_kind.value}",
                    batch_doc,
                    Leaf(path, leaf.kind, leaf.nullable),
                    "batch",
                )
            )
    for model, instance in PLATFORM.items():
        doc = json.loads(encode(instance))
        for leaf in _document_leaves(model, doc):
            out.append(Target(model.__name__, doc, leaf, model.__name__))
    return out


TARGETS = _targets()
PLATFORM_BY_NAME = {model.__name__: model for model in PLATFORM}


def test_the_schemas_give_every_kind_of_field() -> None:
    """The walk finds fields of all three JSON types in every model (so the tests below test something)."""
    names = {t.name for t in TARGETS}
    assert {k.value for k in MESSAGE_TYPES} <= names
    assert set(PLATFORM_BY_NAME) <= names
    kinds = {t.leaf.kind for t in TARGETS}
    assert kinds == {"number", "string", "boolean"}
    paths = {(t.name, ".".join(map(str, t.leaf.path))) for t in TARGETS}
    for expected in [
        ("vitals", "payload.systolic_mmhg"),
        ("vitals", "measured_at"),
        ("gait", "payload.recording.samples"),
        ("gait", "payload.recording.channels.0"),
        ("grip", "payload.trials.0.force_kg"),
        ("hrv", "payload.rr_intervals_ms.0"),
        ("tug", "payload.walking_aid"),
        ("Heartbeat", "devices.0.messages"),
        ("Heartbeat", "uplink_refusals.no_matching_subscribers"),
        ("CaseEvent", "evidence.baseline.gait_speed_mps"),
        ("CaseEvent", "follow_up_on"),
        ("batch/vitals", "messages.1.payload.systolic_mmhg"),
        ("VisitResult", "measures.0.bands.0.cutoff"),
        ("VisitResult", "measures.0.bands.0.kind"),
        ("VisitResult", "measures.2.bands.0.points"),
        ("Receipt", "message_ids.0"),
        ("Receipt", "digests.0"),
        ("VisitResult", "scores.sppb.total"),
        ("VisitResult", "open_cases.0.evidence.baseline.gait_speed_mps"),
    ]:
        assert expected in paths


# --- the wrong values -----------------------------------------------------------------------------

FINITE = st.floats(allow_nan=False, allow_infinity=False)
NUMERIC_TEXT = st.integers(-(10**6), 10**6).map(str) | FINITE.map(repr)


def wrong_values(leaf: Leaf) -> st.SearchStrategy[Any]:
    """JSON values of another type than the field's (null only where the field is not nullable)."""
    if leaf.kind == "number":
        wrong = NUMERIC_TEXT | st.text(max_size=8) | st.booleans()
    elif leaf.kind == "string":
        wrong = st.integers(-(10**12), 10**12) | FINITE | st.booleans()
    else:
        wrong = st.integers(-5, 5) | FINITE | st.sampled_from(["true", "false", "1", "yes", ""])
    return wrong if leaf.nullable else wrong | st.none()


def _with(doc: dict[str, Any], path: tuple[str | int, ...], value: Any) -> bytes:
    copy = json.loads(json.dumps(doc))
    node: Any = copy
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return json.dumps(copy).encode()


def _refusal(target: Target, data: bytes) -> ContractError:
    """The codec's refusal of ``data`` (a batch's: the one message's, or the batch's own)."""
    if target.channel == "batch":
        try:
            result = decode_batch(data)
        except ContractError as error:
            return error
        assert len(result.errors) == 1, result.errors
        ((index, error),) = result.errors
        assert index == target.leaf.path[1]
        assert len(result.messages) == len(example_messages()) - 1  # the others are kept
        return error
    with pytest.raises(ContractError) as caught:
        if target.channel == "message":
            decode(data)
        else:
            decode_as(PLATFORM_BY_NAME[target.channel], data)
    return caught.value


def _assert_wrong_type(target: Target, value: Any) -> None:
    error = _refusal(target, _with(target.doc, target.leaf.path, value))
    where = f"{target.name} {'.'.join(map(str, target.leaf.path))} = {value!r}"
    assert error.reason is Reason.WRONG_TYPE, f"{where}: {error}"
    assert error.path == ".".join(map(str, target.leaf.path)), f"{where}: {error}"


def test_the_examples_are_valid() -> None:
    for target in {t.name: t for t in TARGETS if t.channel != "batch"}.values():
        data = json.dumps(target.doc).encode()
        if target.channel == "message":
            decode(data)
        else:
            decode_as(PLATFORM_BY_NAME[target.channel], data)
    batch = next(t for t in TARGETS if t.channel == "batch")
    assert not decode_batch(json.dumps(batch.doc).encode()).errors


@given(st.data())
def test_a_value_of_the_wrong_type_is_refused_with_its_path(data: st.DataObject) -> None:
    target = data.draw(st.sampled_from(TARGETS))
    _assert_wrong_type(target, data.draw(wrong_values(target.leaf)))


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param("number", id="text-bool-null-for-a-number"),
        pytest.param("string", id="number-bool-null-for-text"),
        pytest.param("boolean", id="number-text-null-for-a-bool"),
    ],
)
def test_every_field_refuses_each_family_of_wrong_value(kind: str) -> None:
    families = {"number": ["120", True, None], "string": [7, 1.5, False, None], "boolean": [1, "true", None]}
    for target in (t for t in TARGETS if t.leaf.kind == kind):
        for value in families[kind]:
            if value is None and target.leaf.nullable:
                continue
            _assert_wrong_type(target, value)


def test_integers_and_iso_strings_are_still_the_right_types() -> None:
    """Strict is not stricter than JSON: an integer is a number, times and dates are ISO strings."""
    vitals = json.loads(encode(example_messages()[telemetry.DeviceKind.VITALS]))
    vitals["payload"]["systolic_mmhg"] = 132
    vitals["measured_at"] = "2026-05-12T10:30:00+09:00"
    message = decode(json.dumps(vitals).encode())
    assert message.payload.systolic_mmhg == 132.0  # type: ignore[union-attr]
    assert message.measured_at == AT
