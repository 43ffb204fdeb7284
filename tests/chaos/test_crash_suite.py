"""The crash suite, bounded: the whole platform under load while its processes are killed
and the broker restarts; afterwards nothing is lost or applied twice, and every view is
compared with the fold of the event stores. (``make chaos`` runs it at full size.)"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.chaos, pytest.mark.postgres, pytest.mark.kafka]

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def crash_run(tmp_path_factory: pytest.TempPathFactory) -> subprocess.CompletedProcess[str]:
    """One bounded run: 1,200 events, 10 SIGKILLs, 1 broker restart (its output is kept
    next to its state, as ``chaos.out``). ``make chaos`` restarts the broker three times, and
    tests/integration/test_broker_outage.py covers a runner that starts while it is away."""
    state = tmp_path_factory.mktemp("chaos") / "state"
    result = subprocess.run(
        [
            sys.executable, "-m", "deploy.local.chaos",
            "--events", "1200", "--kills", "10", "--broker-restarts", "1",
            "--max-seconds", "600", "--state-dir", str(state),
            # Ports of its own, below the ephemeral range (a restarted broker finds its port).
            "--kafka-port", "24192", "--controller-port", "24193", "--pg-port", "24532",
            "--keycloak-port", "24180",
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=1200,
        check=False,
    )  # fmt: skip
    (state.parent / "chaos.out").write_text(result.stdout + result.stderr)
    print(result.stdout[-8000:])  # noqa: T201  # the figures, in the report of the run
    return result


def figure(output: str, name: str) -> str:
    found = re.search(rf"^  {name}\s+(.*)$", output, re.MULTILINE)
    assert found, f"no figure {name!r} in the output"
    return found.group(1)


def test_a_bounded_crash_run_loses_nothing_and_applies_nothing_twice(
    crash_run: subprocess.CompletedProcess[str],
) -> None:
    """After the SIGKILLs everything catches up: 0 acknowledged
    commands missing, 0 stored events missing on their topic or in a view, 0 effects twice,
    and every view was compared with the fold of the stores."""
    output = crash_run.stdout

    assert crash_run.returncode in {0, 2}, output[-3000:] + crash_run.stderr[-3000:]
    assert int(figure(output, "events in the stores").split()[0]) >= 1200
    assert int(figure(output, "SIGKILLs").split()[0]) == 10
    assert figure(output, "broker restarts").startswith("1 ")
    assert figure(output, "time to catch up") != "never"
    assert figure(output, "lost").startswith("0 ")
    assert figure(output, "duplicated").startswith("0 ")
    assert re.fullmatch(r"\d+ of 11", figure(output, "views equal to the fold"))


def test_every_view_equals_the_fold_of_the_event_stores(
    crash_run: subprocess.CompletedProcess[str],
) -> None:
    """Every view, table by table, equals the fold of the stores (checksums)."""
    assert re.fullmatch(r"(\d+) of \1", figure(crash_run.stdout, "views equal to the fold"))
    assert crash_run.returncode == 0
