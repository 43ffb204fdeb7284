"""Reproduce Kafka 4.1.1's lost SCRAM credentials after a restart (docs/reliability.md).

``python -m deploy.local.scram_restart --kafka-port 25192 --controller-port 25193 [--user U]``:
on a fresh broker in a temporary state dir, the administrator creates a SCRAM credential for
``U`` and deletes it again (no topics, no ACLs, nothing else), the broker is stopped cleanly
and started again. With ``--user ip-partner-x`` (the default) no SCRAM login works after the
restart; with ``--user ip-partner-a`` it does. The difference is only where the name falls in a Java
``HashMap`` (see :func:`bucket`): the broker replays the metadata log into one delta at start,
and ``ScramDelta.apply()`` drops the whole mechanism when the first entry it walks is a
removal. Prints what happened and exits 1 when the administrator was locked out.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from deploy.local import devstack
from deploy.local.devstack import KAFKA_ADMIN, KAFKA_BROKER, DevStackError, StackConfig
from services.chassis.kafka_admin import KafkaAdmin, new_password


def bucket(name: str, capacity: int = 16) -> int:
    """Where ``name`` lands in a Java ``HashMap`` of ``capacity`` buckets (the iteration order
    of ``ScramDelta``'s changes): ``String.hashCode`` spread as ``HashMap.hash`` does."""
    code = 0
    for char in name:
        code = (31 * code + ord(char)) & 0xFFFFFFFF
    return (code ^ (code >> 16)) & (capacity - 1)


async def _add_and_delete(cfg: StackConfig, user: str) -> None:
    async with KafkaAdmin(devstack.admin_access(cfg)) as admin:
        await admin.set_passwords({user: new_password()})
        await admin.delete_password(user)


def reproduce(cfg: StackConfig, user: str) -> bool:
    """Add and delete ``user``'s credential, restart; True if the administrator can log in."""
    devstack.start_kafka(cfg)
    try:
        asyncio.run(_add_and_delete(cfg, user))
    finally:
        devstack.stop_kafka(cfg)
    try:
        devstack.start_kafka(cfg, repair=False)
    except DevStackError as exc:
        print(f"restart failed: {exc}", flush=True)
        return False
    finally:
        devstack.stop_kafka(cfg)
    return True


def main(argv: Sequence[str] | None = None) -> int:
    cli = argparse.ArgumentParser(prog="python -m deploy.local.scram_restart")
    cli.add_argument("--kafka-port", type=int, required=True)
    cli.add_argument("--controller-port", type=int, required=True)
    cli.add_argument("--user", default="ip-partner-x")
    args = cli.parse_args(argv)
    order = sorted((KAFKA_BROKER, KAFKA_ADMIN, args.user), key=bucket)
    print(f"HashMap order of the changes at restart: {order}", flush=True)
    with tempfile.TemporaryDirectory(prefix="scram-restart-") as state:
        cfg = StackConfig(
            Path(state), kafka_port=args.kafka_port, controller_port=args.controller_port
        )
        works = reproduce(cfg, args.user)
    print("admin can log in after the restart" if works else "admin locked out", flush=True)
    return 0 if works else 1


if __name__ == "__main__":
    sys.exit(main())
