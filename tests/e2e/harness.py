"""Running the real processes for end-to-end tests: in this process (for spans) or as
child processes (to kill them)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from aiokafka import AIOKafkaConsumer
from fastapi import FastAPI

from deploy.local.devstack import StackInfo
from deploy.local.principals import relay_principal, service_principal, view_principal
from services.chassis.kafka import KafkaAccess
from services.projections.purpose import ViewId

REPO = Path(__file__).resolve().parents[2]

# The principal each child process speaks to the broker as (the relays here are intake's).
PRINCIPALS = {
    "services.intake": service_principal("intake"),
    "services.language": service_principal("language"),
    "services.recognition": service_principal("recognition"),
    "services.placement": service_principal("placement"),
    "services.chassis.relay": relay_principal("intake"),
}


def platform_child(
    stack: StackInfo, module: str, env: dict[str, str], log_dir: Path
) -> ChildProcess:
    """``python -m module`` with ``env`` and the credentials of its own principal (a view's
    is the one of the view ``IP_AGENCY_VIEW`` names)."""
    if module == "services.projections.agency_main":
        principal = view_principal(ViewId(env["IP_AGENCY_VIEW"]))
    else:
        principal = PRINCIPALS[module]
    return ChildProcess(module, {**env, **stack.kafka_env(principal)}, log_dir)


@asynccontextmanager
async def serving(app: FastAPI, port: int) -> AsyncIterator[str]:
    """Serve ``app`` with uvicorn on loopback inside this event loop."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    try:
        while not server.started:
            if task.done():
                task.result()
            await asyncio.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


async def wait_for(url: str, *, within: float = 30.0) -> None:
    """Until ``url`` answers 200."""
    deadline = time.monotonic() + within
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                if (await client.get(url)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise TimeoutError(f"{url} did not answer within {within} s")


class ChildProcess:
    """A platform process (``python -m MODULE``) started for a test and killed by PID."""

    def __init__(self, module: str, env: dict[str, str], log_dir: Path) -> None:
        self.module = module
        self._env = {**os.environ, **env, "IP_LOG_JSON": "true"}
        self._log = log_dir / f"{module.replace('.', '_')}.log"
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self._log.open("ab") as log:
            self._process = subprocess.Popen(
                [sys.executable, "-m", self.module], env=self._env, cwd=REPO, stdout=log, stderr=log
            )

    def kill(self) -> None:
        """SIGKILL: no shutdown code runs, as in a crash."""
        if self._process is not None and self._process.poll() is None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)

    def stop(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.kill()

    def log_text(self) -> str:
        return self._log.read_text(errors="replace") if self._log.exists() else ""


def registration(timeline: dict[str, Any]) -> dict[str, Any] | None:
    """The registration's data in a view's case timeline (GET /cases/{id}), if it holds it."""
    found: dict[str, Any] | None = next(
        (e["data"] for e in timeline["events"] if e["type"] == "intake.person_registered"), None
    )
    return found


async def receive_until(
    access: KafkaAccess,
    topic: str,
    group_id: str,
    enough: Callable[[list[bytes]], Awaitable[bool]],
) -> list[bytes]:
    """Every value on ``topic`` from its beginning, read as ``access`` (e.g. a partner) in
    ``group_id`` until ``enough`` of what arrived so far; about five minutes at most, as a
    feed may first read every earlier test's events."""
    consumer = AIOKafkaConsumer(
        topic,
        **access.client_kwargs(),
        group_id=group_id,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    try:
        received: list[bytes] = []
        for _ in range(1000):
            batch = await consumer.getmany(timeout_ms=300)
            received += [r.value or b"" for part in batch.values() for r in part]
            if await enough(received):
                return received
    finally:
        await consumer.stop()
    raise AssertionError(f"{topic} never carried what was expected")
