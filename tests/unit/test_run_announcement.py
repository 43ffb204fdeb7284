"""What ``make run`` prints when it is ready: commands that work pasted into any shell."""

from __future__ import annotations

import re
import sys
from pathlib import Path

from deploy.local import devstack
from deploy.local.identity_provider import Provider
from deploy.local.run import RunConfig, announcement

INFO = devstack.StackInfo(
    "127.0.0.1:19092",
    "postgresql://admin:x@127.0.0.1:15432/postgres",
    identity=Provider("http://127.0.0.1:18080", "admin-secret", {}),
)


def test_printed_commands_name_the_venvs_interpreter_by_its_path() -> None:
    """No command runs a bare ``python`` (outside the venv that is another interpreter or
    none): each names the running interpreter by its path, and each script by its path."""
    text = announcement(RunConfig(), INFO)
    invocations = re.findall(r"([^\s(]+) (-m \S+|\S+\.py)", text)
    assert invocations
    for interpreter, target in invocations:
        if interpreter == "python3":  # the stdlib-only JSON one-liner after curl
            assert target.startswith("-c") or target == "-m json.tool", target
            continue
        assert interpreter == sys.executable, (interpreter, target)
        if target.endswith(".py"):
            assert Path(target).is_file(), target
    assert not re.search(r"(^|[\s($])python -m", text)
    assert Path(sys.executable).is_absolute()
