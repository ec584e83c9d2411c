"""InfluxQL quoting, in one place: every statement FrailWatch builds — the gateway's reads, the
case-event log, ``influx init`` and the generated Grafana queries — quotes names and values here.

InfluxQL (1.x, and the v1 query API of 2.x and 3.x) takes identifiers in double quotes and string
literals in single quotes, each with a backslash escaping its own quote and the backslash itself.
Pseudonyms, station ids and measurement names are plain by contract; they are quoted anyway, so a
value that is not can never change what a statement means.
"""

from __future__ import annotations


def literal(value: str) -> str:
    """A string literal: ``'it\\'s'``."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def identifier(name: str) -> str:
    """A quoted identifier (measurement, tag, field, retention policy or database): ``"gait_features"``."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def equals(tag: str, value: str) -> str:
    """A tag condition: ``"participant" = 'ab12…'``."""
    return f"{identifier(tag)} = {literal(value)}"
