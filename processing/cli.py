"""``frailwatch analyze <test>`` and ``frailwatch score``: each test's ``cli.py`` adds its own.

Sub-modules expose ``register(subparsers)``; they must import Numba-heavy code only inside their
handlers. A sub-module not yet present is skipped, so the analyses can land one at a time.
"""

from __future__ import annotations

import argparse
import importlib

ANALYSES = ("processing.gait.cli", "processing.balance.cli", "processing.sts.cli", "processing.tug.cli")
TOP_LEVEL = ("processing.scoring.cli",)


def _import(name: str) -> object | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name == name or (exc.name and name.startswith(exc.name + ".")):
            return None
        raise


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    analyze = subparsers.add_parser("analyze", help="analyse one recording (gait, balance, sts, tug)")
    analyses = analyze.add_subparsers(dest="analysis", required=True, metavar="TEST")
    for name in ANALYSES:
        module = _import(name)
        if module is not None:
            module.register(analyses)  # type: ignore[attr-defined]
    for name in TOP_LEVEL:
        module = _import(name)
        if module is not None:
            module.register(subparsers)  # type: ignore[attr-defined]
