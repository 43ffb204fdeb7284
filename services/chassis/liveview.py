"""A view process's projection and read pool, following the active generation."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from contextlib import suppress

import asyncpg
import structlog

from services.chassis import generations
from services.chassis.projection import ProjectionRunner

log = structlog.get_logger("liveview")

# A swap is announced by NOTIFY (generations.swap), so an idle view reads nothing; the pointer
# is still read at every (re)connect of the listening connection and this often, in case a
# notice was lost with a connection.
POINTER_CHECK = 30.0  # seconds
RECONNECT = 1.0  # seconds between tries while the database is unreachable
LISTENER_NAME = "ip.view.generation"  # the listening connection, in pg_stat_activity
DRAIN = 2.0  # seconds the old pool stays open for reads already under way


class LiveView:
    """Runs the projection into the active generation and serves reads from it; when a
    rebuild swaps the pointer, moves both to the new generation without a gap in reads."""

    def __init__(
        self,
        dsn: str,
        install: Callable[[asyncpg.Pool], Awaitable[None]],
        make_runner: Callable[[asyncpg.Pool], ProjectionRunner] | None,
    ) -> None:
        self._dsn = dsn
        self._install = install
        self._make_runner = make_runner
        self.generation = generations.DEFAULT
        self._pool: asyncpg.Pool | None = None
        self._runner: tuple[asyncio.Event, asyncio.Task[None]] | None = None
        self._watch: asyncio.Task[None] | None = None

    @property
    def pool(self) -> asyncpg.Pool:
        """The pool of the active generation; read it per request, it changes on a swap."""
        assert self._pool is not None, "the view has not started"
        return self._pool

    @property
    def consuming(self) -> bool:
        return self._make_runner is None or (
            self._runner is not None and not self._runner[1].done()
        )

    async def start(self) -> None:
        conn = await asyncpg.connect(self._dsn)
        try:
            generation = await generations.active(conn)
        finally:
            await conn.close()
        await self._move_to(generation)
        self._watch = asyncio.create_task(self._follow_pointer(), name="view.generation")

    async def stop(self) -> None:
        if self._watch is not None:
            self._watch.cancel()
            with suppress(asyncio.CancelledError):
                await self._watch
        await self._stop_runner()
        if self._pool is not None:
            await self._pool.close()

    async def _move_to(self, generation: str) -> None:
        pool = await generations.open_pool(self._dsn, generation)
        await self._install(pool)
        await self._stop_runner()  # the old generation stops taking events first
        old, self._pool, self.generation = self._pool, pool, generation
        if self._make_runner is not None:
            stop = asyncio.Event()
            task = asyncio.create_task(self._make_runner(pool).run(stop), name="view.projection")
            task.add_done_callback(_report_end)
            self._runner = (stop, task)
        log.info("view.generation_active", generation=generation)
        if old is not None:
            await asyncio.sleep(DRAIN)
            await old.close()

    async def _stop_runner(self) -> None:
        if self._runner is not None:
            stop, task = self._runner
            stop.set()
            with suppress(Exception):
                await task
            self._runner = None

    async def _follow_pointer(self) -> None:
        """Move to the generation the pointer names whenever a swap is announced (or the
        listening connection comes back); no polling while nothing happens."""
        announced = asyncio.Event()
        while True:
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(
                    self._dsn, server_settings={"application_name": LISTENER_NAME}
                )
                await conn.add_listener(generations.CHANNEL, lambda *_: announced.set())
                conn.add_termination_listener(lambda _: announced.set())
                while not conn.is_closed():
                    announced.clear()  # before the read: a swap after it wakes the wait
                    generation = await generations.active(conn)
                    if generation != self.generation:
                        await self._move_to(generation)
                    with suppress(TimeoutError):
                        await asyncio.wait_for(announced.wait(), POINTER_CHECK)
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError) as error:
                log.warning("view.pointer_unreadable", error=repr(error))
                await asyncio.sleep(RECONNECT)
            finally:
                if conn is not None and not conn.is_closed():
                    await conn.close()


def _report_end(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("projection.crashed", exc_info=task.exception())
