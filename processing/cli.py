"""``frailwatch analyze <test>`` and ``frailwatch score``: each test's ``cli.py`` adds its own.

Sub-modules expose ``register(subparsers)``; they must import Numba-heavy code only inside their
handlers. A sub-module not yet present is skipped, so the analyses can land one at a time.

Every analysis handler is wrapped here for two things all of them share:

- start-up: before the handler imports its kernels, :func:`processing.compiled.prefer_ahead_of_time`
  switches to the ahead-of-time build of the kernels (made once into the cache), so a call does
  not pay 2–3 s for importing Numba and loading its cache;
- batch mode: ``--input`` takes several files and directories (every ``*.csv`` in them, sorted).
  One plain file keeps the single-recording output; anything more prints one JSON line per
  recording, ``{"input": path, "ok": true, "result": {...}}`` or ``{"input": path, "ok": false,
  "error": "reason: detail"}``, and exits 2 if any recording failed (the others still print).
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import io
import json
from collections.abc import Callable
from pathlib import Path

ANALYSES = ("processing.gait.cli", "processing.balance.cli", "processing.sts.cli", "processing.tug.cli")
TOP_LEVEL = ("processing.scoring.cli",)
Handler = Callable[[argparse.Namespace], int]


def _import(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            return None
        raise


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analyze = subparsers.add_parser("analyze", help="analyse recordings (gait, balance, sts, tug)")
    analyses = analyze.add_subparsers(dest="analysis", required=True, metavar="TEST")
    for name in ANALYSES:
        module = _import(name)
        if module is not None:
            module.register(analyses)  # type: ignore[attr-defined]
    for parser in analyses.choices.values():
        _batchable(parser)
    for name in TOP_LEVEL:
        module = _import(name)
        if module is not None:
            module.register(subparsers)  # type: ignore[attr-defined]


def _batchable(parser: argparse.ArgumentParser) -> None:
    """Let ``--input`` take many files or directories, and wrap the handler (see the docstring)."""
    for action in parser._actions:
        if action.dest == "input":
            action.nargs = "+"
            action.metavar = "FILE.csv|DIR"
            action.help = "one recording, or several files and directories (JSON lines out)"
    handler: Handler = parser.get_default("handler")
    parser.set_defaults(handler=lambda args: run_inputs(handler, args))


def expand_inputs(paths: list[Path]) -> list[Path]:
    """Files as given; a directory stands for its ``*.csv`` files, sorted."""
    out: list[Path] = []
    for path in paths:
        out.extend(sorted(path.glob("*.csv")) if path.is_dir() else [path])
    return out


def run_inputs(handler: Handler, args: argparse.Namespace) -> int:
    from processing.compiled import prefer_ahead_of_time

    given: list[Path] = args.input if isinstance(args.input, list) else [args.input]
    prefer_ahead_of_time()
    if len(given) == 1 and not given[0].is_dir():
        args.input = given[0]
        return handler(args)
    failed = 0
    for path in expand_inputs(given):
        out, err = io.StringIO(), io.StringIO()
        one = argparse.Namespace(**{**vars(args), "input": path, "json": True})
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = handler(one)
        if code == 0:
            line = {"input": str(path), "ok": True, "result": json.loads(out.getvalue())}
        else:
            failed += 1
            message = err.getvalue().strip().splitlines()[-1] if err.getvalue().strip() else f"exit {code}"
            line = {"input": str(path), "ok": False, "error": message.removeprefix(f"error: {path}: ")}
        print(json.dumps(line), flush=True)
    return 2 if failed else 0
