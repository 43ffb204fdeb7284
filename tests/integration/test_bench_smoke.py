"""The benchmark suite keeps working: ``python -m bench --smoke`` on a stack of its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
STACK_ARGS = [
    "--state-dir",
    os.environ.get("IP_BENCH_SMOKE_STATE_DIR", str(REPO / ".local" / "bench-smoke")),
    "--kafka-port",
    os.environ.get("IP_BENCH_SMOKE_KAFKA_PORT", "59092"),
    "--controller-port",
    os.environ.get("IP_BENCH_SMOKE_CONTROLLER_PORT", "59093"),
    "--pg-port",
    os.environ.get("IP_BENCH_SMOKE_PG_PORT", "55432"),
]


def bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bench", "--smoke", *STACK_ARGS, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def test_smoke_run_reports_a_number_for_every_benchmark() -> None:
    """Every benchmark appears in the table with a measured rate; the run exits 0."""
    listed = bench("--list", timeout=60)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"append.intake.c1", "append.raw.c8", "append.eventsourcing.c1", "rebuild"} <= set(names)

    run = bench(timeout=600)

    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    rates = {}
    for line in run.stdout.splitlines():
        cells = line.split()
        if len(cells) >= 3 and cells[0] in names:
            rates[cells[0]] = cells[2]
    assert set(rates) == set(names), f"missing from the table: {set(names) - set(rates)}"
    for name, rate in rates.items():
        assert re.fullmatch(r"[\d,]+", rate), f"{name} has no number: {rate}"
        assert int(rate.replace(",", "")) > 0, f"{name} measured nothing"
    assert "docs/benchmarks.md" not in run.stderr  # a smoke run writes no report
