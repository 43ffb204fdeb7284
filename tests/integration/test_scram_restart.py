"""The local broker comes back after a restart that Kafka 4.1.1 would leave without any SCRAM
credential (a deleted credential replayed first, docs/reliability.md "Findings"): devstack
restores them through the administrator's PLAIN login.

Runs its own broker in a temp dir on ports of its own (kafka 25292/25293; no PostgreSQL).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.local import devstack
from deploy.local.devstack import StackConfig, admin_access, kafka_passwords
from deploy.local.scram_restart import bucket
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import KafkaAdmin, new_password

pytestmark = [pytest.mark.kafka]

INTAKE = "ip-intake"
GONE = "ip-partner-x"  # first in the broker's HashMap at the restart: the trigger


@pytest.fixture
def cfg(tmp_path: Path) -> Iterator[StackConfig]:
    stack = StackConfig(tmp_path / "stack", kafka_port=25292, controller_port=25293, pg_port=25294)
    try:
        yield stack
    finally:
        devstack.stop_kafka(stack)


async def _lists_topics(access: KafkaAccess) -> bool:
    admin = KafkaAdmin(access)
    try:
        await asyncio.wait_for(admin.__aenter__(), timeout=20)
        await asyncio.wait_for(admin.client.list_topics(), timeout=20)
    except Exception:  # noqa: BLE001 - any failure to log in and answer counts as "no"
        return False
    finally:
        await admin.__aexit__()
    return True


async def _add_then_delete(cfg: StackConfig, service_password: str) -> None:
    async with KafkaAdmin(admin_access(cfg)) as admin:
        await admin.set_passwords({INTAKE: service_password, GONE: new_password()})
        await admin.delete_password(GONE)


def test_the_trigger_is_first_in_the_replayed_changes() -> None:
    """The deleted user sorts before admin and broker in a 16-bucket Java HashMap."""
    assert bucket(GONE) < min(bucket(devstack.KAFKA_ADMIN), bucket(devstack.KAFKA_BROKER))


def test_a_restart_after_a_deleted_credential_lets_everyone_in(cfg: StackConfig) -> None:
    """After a SCRAM credential was deleted, the restarted broker takes the administrator's
    and a service's SCRAM logins again."""
    devstack.start_kafka(cfg)
    service_password = kafka_passwords(cfg, [INTAKE])[INTAKE]
    asyncio.run(_add_then_delete(cfg, service_password))
    devstack.stop_kafka(cfg)

    devstack.start_kafka(cfg)

    assert asyncio.run(_lists_topics(admin_access(cfg)))
    service = KafkaAccess(f"127.0.0.1:{cfg.kafka_port}", INTAKE, service_password)
    assert asyncio.run(_lists_topics(service))
