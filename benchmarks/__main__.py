"""``python -m benchmarks NAME [args]``: run one benchmark; without NAME, list them."""

from __future__ import annotations

import importlib
import pkgutil
import sys

import benchmarks


def available() -> list[str]:
    skip = {"common", "kernel_case"}  # shared helpers, not benchmarks
    return sorted(
        m.name
        for m in pkgutil.iter_modules(benchmarks.__path__)
        if m.name not in skip and not m.name.startswith("_")
    )


def summary(name: str) -> str:
    """First line of a benchmark's docstring, read without importing it (imports can be heavy)."""
    import ast
    from pathlib import Path

    source = (Path(benchmarks.__path__[0]) / f"{name}.py").read_text()
    doc = ast.get_docstring(ast.parse(source)) or ""
    return doc.splitlines()[0] if doc else ""


def main(argv: list[str]) -> int:
    names = available()
    if not argv or argv[0] not in names:
        lines = [f"  {name:<20} {summary(name)}" for name in names]
        print("usage: python -m benchmarks NAME [args]\nbenchmarks:\n" + "\n".join(lines), file=sys.stderr)
        return 2
    module = importlib.import_module(f"benchmarks.{argv[0]}")
    return int(module.main(argv[1:]))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
