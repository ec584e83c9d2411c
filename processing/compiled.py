"""How the Numba kernels are compiled: just in time (the default), or ahead of time for one-shot
commands that must start in well under a second.

Every ``_kernels.py`` decorates its kernels with :func:`njit` from here instead of Numba's. In a
long-running process (the gateway) that is Numba's ``njit``: compiled on first use, cached on
disk. A one-shot ``frailwatch analyze`` cannot afford Numba at all — importing it and loading
even a warm cache costs 2–3 s — so it calls :func:`prefer_ahead_of_time` first: if an
ahead-of-time build of the current kernel sources exists in the cache directory, ``njit``
returns thin wrappers around the functions of that compiled extension module and Numba is never
imported. Without a build, :func:`prefer_ahead_of_time` makes one (once, like Numba's own cache):

1. in a subprocess, import every kernel module under Numba's JIT and run each analysis on small
   synthetic recordings, so every kernel is compiled for the argument types the analyses use;
2. export each kernel called with those signatures (arrays of any layout) with ``numba.pycc``
   into one extension module, and write a manifest mapping ``module.function`` to its exports
   and their argument kinds;
3. keep both under ``<cache>/aot-<key>``, where the key hashes the kernel sources, this file and
   the Python, NumPy and Numba versions, so a changed kernel is never run from a stale build.

The build needs a C compiler and setuptools; if it fails, the command runs under the JIT as
before. ``FRAILWATCH_AOT=0`` turns ahead-of-time use off; ``FRAILWATCH_CACHE_DIR`` moves the
cache (default ``$XDG_CACHE_HOME/frailwatch``, else ``~/.cache/frailwatch``).
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib
import importlib.machinery
import importlib.metadata
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

#: Modules whose kernels are built ahead of time (the analyses of ``frailwatch analyze``).
KERNEL_MODULES = (
    "processing.gait._kernels",
    "processing.balance._kernels",
    "processing.sts._kernels",
    "processing.tug._kernels",
)
EXTENSION = "frailwatch_kernels"
MANIFEST = "manifest.json"

Kernel = TypeVar("Kernel", bound=Callable[..., Any])
_aot: dict[str, list[tuple[Callable[..., Any], list[Any]]]] | None = None  # set when ahead of time


def njit(**options: Any) -> Callable[[Kernel], Kernel]:
    """``numba.njit(**options)`` — or, after :func:`prefer_ahead_of_time` found a build, a
    decorator that returns the ahead-of-time compiled function. Used as
    ``@njit(cache=True, nogil=True)``; the kernel keeps its Python signature for type checkers."""
    if _aot is None:
        import numba

        decorator: Callable[[Kernel], Kernel] = numba.njit(**options)
        return decorator
    return _ahead_of_time  # type: ignore[return-value]


def _ahead_of_time(function: Callable[..., Any]) -> Callable[..., Any]:
    assert _aot is not None
    name = f"{function.__module__}.{function.__qualname__}"
    exports = _aot.get(name, [])

    def compiled(*args: Any) -> Any:
        kinds = [argument_kind(a) for a in args]
        for export, expected in exports:
            if kinds == expected:
                return export(*args)
        raise TypeError(f"{name} has no ahead-of-time build for arguments {kinds}")

    compiled.__name__ = function.__name__
    compiled.__doc__ = function.__doc__
    compiled.__wrapped__ = function  # type: ignore[attr-defined]
    return compiled


def argument_kind(value: Any) -> Any:
    """What an argument is, in the terms the manifest records: ``["array", dtype, ndim]``,
    ``"float"``, ``"int"``, ``"bool"`` (no Numba needed to tell)."""
    if isinstance(value, np.ndarray):
        return ["array", value.dtype.name, value.ndim]
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int | np.integer):
        return "int"
    if isinstance(value, float | np.floating):
        return "float"
    return type(value).__name__


def cache_dir() -> Path:
    if os.environ.get("FRAILWATCH_CACHE_DIR"):
        return Path(os.environ["FRAILWATCH_CACHE_DIR"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "frailwatch"


def build_key() -> str:
    """Hash of everything the compiled code depends on (read without importing Numba)."""
    digest = hashlib.sha256()
    for part in (sys.version, platform.machine(), np.__version__, importlib.metadata.version("numba")):
        digest.update(part.encode())
    root = Path(__file__).parent
    for path in [Path(__file__), *sorted(root.glob("*/_kernels.py"))]:
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def build_dir() -> Path:
    return cache_dir() / f"aot-{build_key()}"


def prefer_ahead_of_time(build: bool = True) -> bool:
    """Use the ahead-of-time build in this process (making it first when ``build``); True if
    in use. Must run before any kernel module is imported; otherwise, or when switched off or
    the build fails, the JIT stays in use."""
    global _aot
    if _aot is not None:
        return True
    if os.environ.get("FRAILWATCH_AOT", "1") == "0" or any(m in sys.modules for m in KERNEL_MODULES):
        return False
    where = build_dir()
    if not (where / MANIFEST).exists():
        if not build:
            return False
        print(f"compiling the analysis kernels ahead of time into {where} (once)", file=sys.stderr)
        done = subprocess.run(
            [sys.executable, "-m", "processing.compiled", str(where)],
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            last = (done.stderr.strip().splitlines() or ["?"])[-1]
            print(f"ahead-of-time build failed, using the JIT: {last}", file=sys.stderr)
            return False
    try:
        _aot = load(where)
    except (OSError, ImportError, ValueError, KeyError) as exc:
        print(f"ahead-of-time build unusable, using the JIT: {exc}", file=sys.stderr)
        return False
    return True


def load(where: Path) -> dict[str, list[tuple[Callable[..., Any], list[Any]]]]:
    """Import the extension in ``where`` and map each kernel to its exports and argument kinds."""
    manifest = json.loads((where / MANIFEST).read_text())
    path = where / manifest["file"]
    loader = importlib.machinery.ExtensionFileLoader(EXTENSION, str(path))
    spec = importlib.util.spec_from_file_location(EXTENSION, path, loader=loader)
    if spec is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return {
        name: [(getattr(module, export), kinds) for export, kinds in entries]
        for name, entries in manifest["kernels"].items()
    }


def _train() -> None:
    """Run every analysis on small synthetic recordings so each kernel compiles for the argument
    types the analyses pass (with and without a gyroscope, and the no-walking path)."""
    from processing.balance import analyze_balance
    from processing.errors import SignalError
    from processing.gait import analyze_gait
    from processing.sts import analyze_sts
    from processing.synthetic.balance import SwayTruth, synthesize_sway
    from processing.synthetic.gait import WalkTruth, simulate_walk
    from processing.synthetic.sts import StsTruth, synthesize_sts
    from processing.synthetic.tug import TugTruth, synthesize_tug
    from processing.tug import analyze_tug

    walk = simulate_walk(WalkTruth(n_steps=16, turn_every_m=4.0), 100.0)
    analyze_gait(walk.acc, 100.0, gyr=walk.gyr)
    analyze_gait(walk.acc, 100.0)
    with contextlib.suppress(SignalError):
        analyze_gait(np.tile([0.0, 0.0, 9.81], (500, 1)), 100.0)
    cop = synthesize_sway(SwayTruth(), 100.0)
    analyze_balance(cop, 100.0)
    analyze_balance(cop, 100.0, lowpass_hz=None)
    acc, gyr = synthesize_sts(StsTruth(), 100.0)
    analyze_sts(acc, gyr, 100.0)
    analyze_sts(acc, None, 100.0)
    acc, gyr = synthesize_tug(TugTruth(), 100.0)
    analyze_tug(acc, gyr, 100.0)
    analyze_tug(acc, None, 100.0)


def _aot_signature(signature: Any) -> tuple[Any, list[Any]]:
    """The export signature (arrays of any layout, so any array converts) and argument kinds."""
    from numba.core import types

    args = []
    kinds: list[Any] = []
    for t in signature.args:
        if isinstance(t, types.Array):
            args.append(types.Array(t.dtype, t.ndim, "A"))
            kinds.append(["array", str(t.dtype) if str(t.dtype) != "bool" else "bool", t.ndim])
        else:
            args.append(t)
            kinds.append(
                "bool"
                if isinstance(t, types.Boolean)
                else "int"
                if isinstance(t, types.Integer)
                else "float"
                if isinstance(t, types.Float)
                else str(t)
            )
    return signature.return_type(*args), kinds


def build(where: Path) -> Path:
    """Compile every kernel the analyses use into ``where`` (an extension module + manifest)."""
    from numba.core.registry import CPUDispatcher
    from numba.pycc import CC

    _train()
    cc = CC(EXTENSION)
    manifest: dict[str, Any] = {"kernels": {}}
    count = 0
    for module_name in KERNEL_MODULES:
        module = importlib.import_module(module_name)
        for attribute, value in vars(module).items():
            if not isinstance(value, CPUDispatcher) or value.py_func.__module__ != module_name:
                continue
            for signature in [value.overloads[key].signature for key in value.overloads]:  # type: ignore[attr-defined]
                export_signature, kinds = _aot_signature(signature)
                export = f"k{count}"
                count += 1
                cc.export(export, export_signature)(value.py_func)
                manifest["kernels"].setdefault(f"{module_name}.{attribute}", []).append([export, kinds])
    where.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="fw-aot-", dir=where.parent) as tmp:
        cc.output_dir = tmp
        cc.compile()
        built = next(Path(tmp).glob(f"{EXTENSION}*"))
        manifest["file"] = built.name
        (Path(tmp) / MANIFEST).write_text(json.dumps(manifest, indent=1))
        staged = where.with_name(where.name + ".partial")
        shutil.rmtree(staged, ignore_errors=True)
        shutil.copytree(tmp, staged)
        shutil.rmtree(where, ignore_errors=True)
        staged.rename(where)
    return where


if __name__ == "__main__":
    build(Path(sys.argv[1]))
