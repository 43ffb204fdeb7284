"""The crash suite, bounded: the whole platform under load while its processes are killed
and the broker restarts; afterwards every view equals the fold of the event stores, and no
event is lost or applied twice. (``make chaos`` runs it at full size.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.postgres, pytest.mark.kafka]

REPO = Path(__file__).resolve().parents[2]


def figure(output: str, name: str) -> str:
    found = re.search(rf"^  {name}\s+(.*)$", output, re.MULTILINE)
    assert found, f"no figure {name!r} in the output"
    return found.group(1)


def test_a_bounded_crash_run_loses_nothing_and_applies_nothing_twice(tmp_path: Path) -> None:
    """3,000 events, 10 SIGKILLs, 1 broker restart: all caught up, every view equal to the
    fold, 0 lost, 0 duplicated."""
    result = subprocess.run(
        [
            sys.executable, "-m", "deploy.local.chaos",
            "--events", "3000", "--kills", "10", "--broker-restarts", "1",
            "--max-seconds", "480", "--state-dir", str(tmp_path / "chaos"),
            # Ports of its own, below the ephemeral range (a restarted broker finds its port).
            "--kafka-port", "24192", "--controller-port", "24193", "--pg-port", "24532",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )  # fmt: skip
    output = result.stdout
    print(output[-6000:])  # noqa: T201  # the figures, in the report of the run

    assert result.returncode == 0, output[-3000:] + result.stderr[-3000:]
    assert int(figure(output, "events in the stores").split()[0]) >= 3000
    assert int(figure(output, "SIGKILLs").split()[0]) == 10
    assert figure(output, "broker restarts").startswith("1 ")
    assert figure(output, "lost").startswith("0 ")
    assert figure(output, "duplicated").startswith("0 ")
    assert figure(output, "views equal to the fold") == "10 of 10"
    assert figure(output, "verdict") == "PASSED"
