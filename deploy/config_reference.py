"""Render the configuration reference (Markdown) from the pydantic-settings models.

    uv run python deploy/config_reference.py            # print it
    uv run python deploy/config_reference.py --check    # exit 1 if README.md is stale

The tables are generated, never hand-written, so the docs cannot drift from the code: each row
is one environment variable a role reads, with its type, default and description.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

REPO = Path(__file__).resolve().parent.parent
DOC = REPO / "README.md"
BEGIN = "<!-- BEGIN CONFIG REFERENCE (deploy/config_reference.py) -->"
END = "<!-- END CONFIG REFERENCE -->"

# (title, "module:Class") of every settings model an operator sets; a role not installed is skipped.
MODELS = (
    ("Edge agent (`frailwatch edge run`)", "edge.settings:EdgeSettings"),
    ("Gateway (`frailwatch gateway run`)", "gateway.settings:GatewaySettings"),
)


def load(spec: str) -> type[BaseModel] | None:
    module_name, _, class_name = spec.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError:
        return None
    model = getattr(module, class_name, None)
    return model if isinstance(model, type) and issubclass(model, BaseModel) else None


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return " \\| ".join(repr(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default(field: FieldInfo) -> str:
    if field.is_required():
        return "**required**"
    value = (
        field.get_default(call_default_factory=True) if field.default is PydanticUndefined else field.default
    )
    if isinstance(value, BaseModel):
        return "(see below)"
    text = str(value.value if hasattr(value, "value") else value)
    if "secret" in type(value).__name__.lower():
        return "(secret)"
    return f"`{text}`" if text else '`""`'


def rows(model: type[BaseModel], prefix: str, delimiter: str) -> Iterator[tuple[str, str, str, str]]:
    """(ENV_VAR, type, default, description) for each field, nested models flattened."""
    for name, field in model.model_fields.items():
        env = (prefix + (field.validation_alias if isinstance(field.validation_alias, str) else name)).upper()
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel) and delimiter:
            yield from rows(annotation, env + delimiter, delimiter)
            continue
        description = " ".join((field.description or "").split()).replace("|", "\\|")
        yield env, _type_name(annotation), _default(field), description


def render() -> str:
    parts = [
        "Every setting is an environment variable (or a key in the TOML file the role's `--config` "
        "option names); environment wins. Generated from the settings models by "
        "`deploy/config_reference.py`.",
    ]
    for title, spec in MODELS:
        model = load(spec)
        if model is None:
            parts.append(f"#### {title}\n\n*(settings model `{spec}` not available in this checkout)*")
            continue
        config = getattr(model, "model_config", {})
        prefix = str(config.get("env_prefix", ""))
        delimiter = str(config.get("env_nested_delimiter") or "")
        table = ["| variable | type | default | meaning |", "| --- | --- | --- | --- |"]
        table += [
            f"| `{env}` | {kind} | {default} | {text} |"
            for env, kind, default, text in rows(model, prefix, delimiter)
        ]
        doc = " ".join((model.__doc__ or "").split())
        parts.append(f"#### {title}\n\n{doc}\n\n" + "\n".join(table))
    return "\n\n".join(parts)


def splice(doc_text: str, reference: str) -> str:
    """README.md with the generated block replaced."""
    if BEGIN not in doc_text or END not in doc_text:
        raise SystemExit(f"{DOC} lacks the {BEGIN} … {END} markers")
    head, rest = doc_text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{reference}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if README.md is not up to date")
    parser.add_argument("--write", action="store_true", help="update README.md in place")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(REPO))
    reference = render()
    if args.check or args.write:
        current = DOC.read_text()
        wanted = splice(current, reference)
        if args.write:
            DOC.write_text(wanted)
            return 0
        if current != wanted:
            print("README.md configuration reference is stale: run deploy/config_reference.py --write")
            return 1
        return 0
    print(reference)
    return 0


if __name__ == "__main__":
    sys.exit(main())
