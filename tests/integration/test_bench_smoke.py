"""The benchmark suite keeps working: ``python -m bench --smoke`` on a stack of its own.

Nothing here asserts a speed: the smoke run measures everything once on tiny counts, and the
test checks that every benchmark, the end-to-end steps, the CPU per command and the memory
of every platform process came out as numbers, and that the report gets written.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from deploy.local import run
from tests.conftest import REPO, TEST_STACK

pytestmark = [pytest.mark.postgres, pytest.mark.kafka, pytest.mark.slow]

# Beside the test stack's ports, so that each developer's test stack has its own bench stack.
STACK_ARGS = [
    "--state-dir",
    str(TEST_STACK.state_dir / "bench-smoke"),
    "--kafka-port",
    str(TEST_STACK.kafka_port + 100),
    "--controller-port",
    str(TEST_STACK.controller_port + 100),
    "--pg-port",
    str(TEST_STACK.pg_port + 100),
    "--port-base",
    str(TEST_STACK.kafka_port - 8700),  # below the ephemeral range: 20392 for 29092
]
NUMBER = re.compile(r"\d[\d,]*(\.\d+)?")
PLATFORM_PROCESSES = {
    *run.SERVICES,
    *(f"{service}-relay" for service in run.SERVICES),
    *run.VIEWS,
}


def bench(*args: str, timeout: float) -> subprocess.CompletedProcess[str]:
    """Run the bench CLI; past ``timeout`` it gets SIGTERM, so that it stops its stack."""
    command = [sys.executable, "-m", "bench", "--smoke", *STACK_ARGS, *args]
    with subprocess.Popen(
        command, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    ) as child:
        try:
            out, err = child.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            child.terminate()
            out, err = child.communicate(timeout=120)
            pytest.fail(f"the smoke run took over {timeout} s: {err[-3000:]}")
    return subprocess.CompletedProcess(command, child.returncode, out, err)


def table_rows(output: str) -> dict[str, list[str]]:
    """The lines of the printed tables by their first cell (the first such line: the target
    lines after the main table start with a benchmark's name too)."""
    rows: dict[str, list[str]] = {}
    for line in output.splitlines():
        if cells := line.split():
            rows.setdefault(cells[0], cells[1:])
    return rows


def is_number(cell: str) -> bool:
    return NUMBER.fullmatch(cell) is not None


def test_smoke_run_reports_every_row_with_a_number_and_writes_the_report(tmp_path: Path) -> None:
    """Every benchmark (the platform's included) has a rate; every step has latencies and
    CPU per command; every platform process has its RSS idle and under load; the report is
    written where --docs says."""
    listed = bench("--list", timeout=120)
    assert listed.returncode == 0, listed.stderr
    names = [line.split()[0] for line in listed.stdout.splitlines() if line.strip()]
    assert {"append.raw.c1", "append.eventsourcing.c8", "append.intake.c1", "rebuild"} <= set(names)
    assert "platform" in names
    docs = tmp_path / "benchmarks.md"

    done = bench("--docs", str(docs), timeout=900)

    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    rows = table_rows(done.stdout)
    missing = [name for name in names if name not in rows]
    assert not missing, f"missing from the table: {missing}"
    for name in names:
        rate = rows[name][1]  # after the group
        assert is_number(rate), f"{name} has no rate: {rows[name]}"
        # The platform's rate is the highest step it kept up with: 0 on a machine too busy.
        assert name == "platform" or float(rate.replace(",", "")) > 0, f"{name}: nothing"
    steps = {name: cells for name, cells in rows.items() if re.fullmatch(r"e2e\.\d+/s", name)}
    assert steps, "no end-to-end step in the output"
    for name, cells in steps.items():
        runs, sent, visible, p50, p95, p99, cpu = cells[:7]
        assert all(is_number(cell) for cell in (runs, sent, visible, cpu)), f"{name}: {cells}"
        if visible != "0":
            assert all(is_number(cell) for cell in (p50, p95, p99)), f"{name}: {cells}"
    assert {f"cpu.{name}" for name in PLATFORM_PROCESSES} | {"cpu.postgres", "cpu.kafka"} <= set(
        rows
    )
    for name in PLATFORM_PROCESSES:
        idle, under_load = rows[f"rss.{name}"]
        assert is_number(idle), f"{name}: RSS idle {idle}"
        assert is_number(under_load), f"{name}: RSS under load {under_load}"
    assert f"wrote {docs}" in done.stderr
    report = docs.read_text("utf-8")
    for heading in ("## Machine, versions, settings", "## Results", "## End to end, CPU, memory"):
        assert heading in report
    assert "| platform | ours | " in report
    assert "load average (1 / 5 / 15 min) at the end" in report
