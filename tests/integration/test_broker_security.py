"""The broker's security: every principal x every topic x (read, write) on the real test
broker; only what the principal table grants succeeds, the rest fails with an authorisation
error. Nobody but the administrator creates topics; a wrong secret or none is refused."""

from __future__ import annotations

from typing import Final
from uuid import uuid4

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAuthorizationFailedError

from contracts.topics import ALL_TOPICS, DEAD_LETTER_TOPIC, DOMAIN_TOPICS
from deploy.local.devstack import StackInfo
from deploy.local.principals import platform_principals
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import KafkaAdmin, Operation, Resource
from tests.kafka_probes import can_read, can_write

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

INTAKE, LANGUAGE, RECOGNITION, PLACEMENT = DOMAIN_TOPICS
VIEWS = ("jc-mg", "jc-rkn", "abh-mg", "abh-rkn", "sozialamt-mg", "sozialamt-rkn")
PARTNER_VIEWS = ("partner-iq", "partner-jba", "partner-course-provider")

# Written out by hand from what each process does, not computed from the principal table:
# a second statement of the rules that the table (and the broker) must agree with.
READS: Final[dict[str, set[str]]] = {
    "ip-intake": {LANGUAGE, RECOGNITION, PLACEMENT},  # the hand-over package's milestones
    "ip-language": {INTAKE},  # an entitlement's issuer follows hand-overs
    "ip-recognition": {INTAKE},  # the cases it knows and who is responsible for them
    "ip-placement": {INTAKE},  # its own copy of the residence facts
    "ip-view-aa-mg": set(DOMAIN_TOPICS),  # every view reads the four domain topics
    **{f"ip-view-{view}": set(DOMAIN_TOPICS) for view in (*VIEWS, *PARTNER_VIEWS)},
    "ip-view-steering": set(DOMAIN_TOPICS),  # figures only, but from every topic
    "ip-partners-feed": set(DOMAIN_TOPICS),
    **{
        f"ip-{service}-relay": set()
        for service in ("intake", "language", "recognition", "placement")
    },
}
WRITES: Final[dict[str, set[str]]] = {
    "ip-intake-relay": {INTAKE},
    "ip-language-relay": {LANGUAGE},
    "ip-recognition-relay": {RECOGNITION},
    "ip-placement-relay": {PLACEMENT},
    # everyone who consumes parks what it cannot handle
    **{name: {DEAD_LETTER_TOPIC} for name in READS if not name.endswith("-relay")},
}


def test_the_principal_table_grants_what_the_processes_do() -> None:
    """The table derived from the code grants exactly the hand-written reads and writes."""
    table = platform_principals()
    assert set(table) == set(READS)
    for name, acls in table.items():
        topics = {a.name: a for a in acls if a.resource is Resource.TOPIC}
        read = {
            a.name for a in acls if a.resource is Resource.TOPIC and a.operation is Operation.READ
        }
        written = {
            a.name for a in acls if a.resource is Resource.TOPIC and a.operation is Operation.WRITE
        }
        assert read == READS[name], name
        assert written - {"ip.partner."} == WRITES.get(name, set()), name
        assert not any(a.operation is Operation.CREATE for a in acls), name
        assert set(topics) <= {*ALL_TOPICS, "ip.partner."}, name


async def test_every_principal_on_every_topic(stack: StackInfo) -> None:
    """Each principal reads and writes exactly the topics granted to it; every other
    combination fails with an authorisation error from the broker."""
    outcomes: dict[tuple[str, str, str], bool] = {}
    for name in sorted(READS):
        access = stack.kafka_as(name)
        for topic in ALL_TOPICS:
            outcomes[name, topic, "read"] = await can_read(access, topic)
            outcomes[name, topic, "write"] = await can_write(access, topic)
    expected = {
        (name, topic, op): topic in (READS if op == "read" else WRITES).get(name, set())
        for name, topic, op in outcomes
    }
    wrong = {key: got for key, got in outcomes.items() if got != expected[key]}
    assert wrong == {}
    assert 0 < sum(expected.values()) < len(expected)  # the matrix holds both verdicts


async def test_only_the_administrator_creates_topics(stack: StackInfo) -> None:
    """Every platform principal is refused CreateTopics; the administrator may."""
    for name in sorted(READS):
        async with KafkaAdmin(stack.kafka_as(name)) as admin:
            response = await admin.client.create_topics([NewTopic(f"test.acl.{uuid4().hex}", 1, 1)])
        [(_, code, _)] = response.topic_errors
        assert code == TopicAuthorizationFailedError.errno, name
    async with KafkaAdmin(stack.kafka) as admin:
        response = await admin.client.create_topics([NewTopic(f"test.acl.{uuid4().hex}", 1, 1)])
    [(_, code, _)] = response.topic_errors
    assert code == 0


@pytest.mark.parametrize("who", ["ip-intake", "nobody"])
async def test_a_wrong_secret_cannot_connect(stack: StackInfo, who: str) -> None:
    """A known principal with a wrong secret, or an unknown one, is not let in."""
    access = stack.kafka.as_user(who, "not-the-secret")
    with pytest.raises(KafkaConnectionError):
        async with KafkaAdmin(access):
            pass


async def test_a_client_without_credentials_cannot_connect(stack: StackInfo) -> None:
    """The broker's listener speaks SASL only: a plaintext client gets no answer."""
    admin = AIOKafkaAdminClient(
        **KafkaAccess(stack.kafka_bootstrap).client_kwargs(), request_timeout_ms=3000
    )
    with pytest.raises(KafkaConnectionError):
        await admin.start()
    await admin.close()
