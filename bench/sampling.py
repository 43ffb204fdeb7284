"""Where a running platform process spends its CPU: py-spy samples it from outside.

The platform's processes are separate interpreters, so the in-process profiler of the other
benchmarks cannot see them; ``py-spy record`` samples their stacks (100 per second, without
pausing them) while a step of the end-to-end run goes on. Only samples holding the GIL are
kept, so waiting (in ``select``, on a socket) is left out and the samples are where the
interpreter's CPU went. The summary groups them by package (the frame that was on the CPU),
by function, and over our own code with its callees.
"""

from __future__ import annotations

import asyncio
import shutil
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

TOP = 12
OURS = ("services/", "contracts/")
ENTRY = 0.9  # our frames under nearly every sample are the entry point (main): left out


def py_spy() -> str | None:
    """The py-spy executable of this environment (a dev dependency), if installed."""
    beside = Path(sys.executable).with_name("py-spy")
    return str(beside) if beside.exists() else shutil.which("py-spy")


@dataclass(frozen=True)
class Stacks:
    """Collapsed stacks: ``(frames from the outermost, samples)``."""

    samples: tuple[tuple[tuple[str, ...], int], ...]

    @classmethod
    def parse(cls, lines: Iterable[str]) -> Stacks:
        parsed = []
        for line in lines:
            stack, _, count = line.rstrip().rpartition(" ")
            if stack and count.isdigit():
                parsed.append((tuple(stack.split(";")), int(count)))
        return cls(tuple(parsed))

    @property
    def total(self) -> int:
        return sum(count for _, count in self.samples)


def _file(frame: str) -> str:
    """``"function (path/file.py:12)"`` -> ``"path/file.py"``."""
    return frame.rpartition(" (")[2].rstrip(")").rpartition(":")[0]


def _function(frame: str) -> str:
    """The frame without its line number: one row per function."""
    name, _, where = frame.rpartition(" (")
    return f"{name} ({where.rstrip(')').rpartition(':')[0]})"


def package(frame: str) -> str:
    """The package a frame's code belongs to, by its path as py-spy shows it (relative to
    ``sys.path``): ``asyncpg``, ``services/chassis``, ``asyncio``, ..."""
    parts = Path(_file(frame)).parts
    if not parts:
        return "?"
    if parts[0] in {"services", "contracts"} and len(parts) > 2:
        return "/".join(parts[:2])
    return parts[0].removesuffix(".py")


def summary(stacks: Stacks) -> list[str]:
    """Lines for the report: shares of the samples by package and by function."""
    total = stacks.total
    if not total:
        return ["no samples (the process ran no Python code while sampled)"]
    by_package: Counter[str] = Counter()
    by_function: Counter[str] = Counter()
    ours: Counter[str] = Counter()
    for frames, count in stacks.samples:
        by_package[package(frames[-1])] += count
        by_function[_function(frames[-1])] += count
        for name in {_function(f) for f in frames if _file(f).startswith(OURS)}:
            ours[name] += count

    def table(title: str, counts: Counter[str]) -> list[str]:
        rows = [f"  {count / total:6.1%}  {name}" for name, count in counts.most_common(TOP)]
        return [title, *rows]

    return [
        f"{total:,} samples holding the GIL",
        *table("on the CPU, by package:", by_package),
        *table("on the CPU, by function:", by_function),
        *table(
            "in our code (with what it calls; the entry point left out):",
            Counter({name: n for name, n in ours.items() if n < ENTRY * total}),
        ),
    ]


async def record(pid: int, seconds: float, out: Path) -> Stacks:
    """Sample ``pid`` for ``seconds`` (RuntimeError when py-spy is missing or fails)."""
    exe = py_spy()
    if exe is None:
        raise RuntimeError("py-spy is not installed (make venv installs it)")
    process = await asyncio.create_subprocess_exec(
        exe,
        "record",
        "--pid",
        str(pid),
        "--duration",
        str(max(1, round(seconds))),
        "--format",
        "raw",
        "--nonblocking",
        "--gil",
        "--output",
        str(out),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, errors = await process.communicate()
    if process.returncode != 0:
        raise RuntimeError(f"py-spy failed ({process.returncode}): {errors.decode()[-300:]}")
    text = await asyncio.to_thread(out.read_text, "utf-8")
    return Stacks.parse(text.splitlines())
