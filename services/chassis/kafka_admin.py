"""The administrator's side of broker security: SCRAM credentials and ACLs.

aiokafka's admin client speaks neither AlterUserScramCredentials nor the ACL requests Kafka
4 still accepts (its ACL structs are the versions 4.0 removed), so the four requests are
declared here on aiokafka's own protocol types and sent through its admin connection. Only
the administrator (a super user) may send them; every other principal is refused.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from services.chassis.kafka import KafkaAccess

SCRAM_SHA_512 = 2  # the mechanism's id in AlterUserScramCredentials
SCRAM_ITERATIONS = 8192


class Resource(IntEnum):
    TOPIC = 2
    GROUP = 3
    CLUSTER = 4


class Pattern(IntEnum):
    ANY = 1
    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    ANY = 1
    READ = 3
    WRITE = 4
    CREATE = 5
    DESCRIBE = 8


_ANY_RESOURCE = 1
_ALLOW = 3
_ANY_PERMISSION = 1


@dataclass(frozen=True, order=True)
class Acl:
    """One allowed operation of one principal on a topic or group (by name or prefix)."""

    resource: Resource
    name: str
    operation: Operation
    pattern: Pattern = Pattern.LITERAL


def reads(topic: str) -> tuple[Acl, ...]:
    """Consume a topic (fetch and its metadata)."""
    return (
        Acl(Resource.TOPIC, topic, Operation.READ),
        Acl(Resource.TOPIC, topic, Operation.DESCRIBE),
    )


def writes(topic: str, pattern: Pattern = Pattern.LITERAL) -> tuple[Acl, ...]:
    """Produce to a topic (idempotently: Write implies IdempotentWrite since Kafka 2.8)."""
    return (
        Acl(Resource.TOPIC, topic, Operation.WRITE, pattern),
        Acl(Resource.TOPIC, topic, Operation.DESCRIBE, pattern),
    )


def in_groups(prefix: str) -> tuple[Acl, ...]:
    """Join and commit in consumer groups whose names start with ``prefix``."""
    return (Acl(Resource.GROUP, prefix, Operation.READ, Pattern.PREFIXED),)


def new_password() -> str:
    """A generated secret for a new principal."""
    return secrets.token_urlsafe(24)


# --- the four requests (flexible versions: compact strings, tagged fields) ------------------

_STR = CompactString("utf-8")
_TAGS = ("tags", TaggedFields)
_ERROR = (("error_code", Int16), ("error_message", _STR))
_ACL_RESOURCE = (("resource_type", Int8), ("resource_name", _STR), ("pattern_type", Int8))
_ACL_ENTRY = (("principal", _STR), ("host", _STR), ("operation", Int8), ("permission_type", Int8))
_ACL_ROW = (*_ACL_RESOURCE, *_ACL_ENTRY)
_Field = tuple[str, Any]


def _array(*fields: _Field) -> Any:
    """An array of structs; in a flexible version each struct ends with its tagged fields."""
    return CompactArray(*fields, _TAGS)


def _flexible_request(
    name: str, key: int, version: int, request: Iterable[_Field], response: Iterable[_Field]
) -> Any:
    """The request struct of API ``key`` v``version`` and its response type: both end with
    tagged fields, and the response starts with the throttle time, as every flexible one does.
    (Declared by a call, not a class statement: the four differ only in key and fields.)"""
    api = {"API_KEY": key, "API_VERSION": version}
    response_type = type(
        f"{name}Response",
        (Response,),
        {**api, "SCHEMA": Schema(("throttle_time_ms", Int32), *response, _TAGS)},
    )
    return type(
        name,
        (RequestStruct,),
        {
            **api,
            "FLEXIBLE_VERSION": True,
            "RESPONSE_TYPE": response_type,
            "SCHEMA": Schema(*request, _TAGS),
        },
    )


_ScramChange = _flexible_request(
    "AlterUserScramCredentials", 51, 0,
    request=[
        ("deletions", _array(("name", _STR), ("mechanism", Int8))),
        ("upsertions", _array(("name", _STR), ("mechanism", Int8), ("iterations", Int32),
                              ("salt", CompactBytes), ("salted_password", CompactBytes))),
    ],
    response=[("results", _array(("user", _STR), *_ERROR))],
)  # fmt: skip
_CreateAcls = _flexible_request(
    "CreateAcls", 30, 3,
    request=[("creations", _array(*_ACL_ROW))],
    response=[("results", _array(*_ERROR))],
)  # fmt: skip
_DeleteAcls = _flexible_request(
    "DeleteAcls", 31, 3,
    request=[("filters", _array(*_ACL_ROW))],
    response=[("filter_results", _array(*_ERROR, ("matching", _array(*_ERROR, *_ACL_ROW))))],
)  # fmt: skip
_DescribeAcls = _flexible_request(
    "DescribeAcls", 29, 3,
    request=_ACL_ROW,
    response=[*_ERROR, ("resources", _array(*_ACL_RESOURCE, ("acls", _array(*_ACL_ENTRY))))],
)  # fmt: skip


class _Send(Request[Any]):  # type: ignore[misc]  # aiokafka is untyped
    """Sends one prepared struct, whatever versions the broker advertises beside it."""

    API_KEY = 0
    ALLOW_UNKNOWN_API_VERSION = True

    def __init__(self, struct: RequestStruct) -> None:
        self._struct = struct

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        low, high = versions.get(self._struct.API_KEY, (0, -1))
        if not low <= self._struct.API_VERSION <= high:
            raise RuntimeError(
                f"the broker does not speak API {self._struct.API_KEY} v{self._struct.API_VERSION}"
            )
        return self._struct

    def build(self, request_struct_class: Any) -> Any:  # noqa: ARG002  # prepare decides
        return self._struct  # pragma: no cover


class KafkaAdminError(RuntimeError):
    """The broker refused an administrative change."""


def _check(errors: Iterable[tuple[int, str | None]]) -> None:
    failed = [f"{for_code(code).__name__}: {message}" for code, message in errors if code]
    if failed:
        raise KafkaAdminError("; ".join(failed))


def _acl_rows(principal: str, acls: Iterable[Acl]) -> list[tuple[Any, ...]]:
    """``principal``'s ACLs as the requests' rows: allowed, from any host, each once, sorted."""
    return [
        (a.resource, a.name, a.pattern, principal, "*", a.operation, _ALLOW, {})
        for a in sorted(set(acls))
    ]


def _all_acls_of(principal: str) -> tuple[Any, ...]:
    """The filter row that matches every ACL naming ``principal``."""
    return (_ANY_RESOURCE, None, Pattern.ANY, principal, None, Operation.ANY, _ANY_PERMISSION, {})


class KafkaAdmin:
    """The administrator's connection: credentials and ACLs, ``async with`` to use."""

    def __init__(self, access: KafkaAccess) -> None:
        self._client = AIOKafkaAdminClient(
            **access.client_kwargs(), request_timeout_ms=15_000, client_id="ip-admin"
        )

    async def __aenter__(self) -> KafkaAdmin:
        await self._client.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._client.close()

    @property
    def client(self) -> AIOKafkaAdminClient:
        """The underlying admin client (topics)."""
        return self._client

    async def ensure_topics(
        self, partitions: dict[str, int], *, retention_ms: int = -1
    ) -> list[str]:
        """Create the topics that do not exist yet (replication 1, kept for ever unless
        ``retention_ms``); returns the names created. Existing topics are left as they are."""
        existing = set(await self._client.list_topics())
        missing = [name for name in partitions if name not in existing]
        if not missing:
            return []
        configs = {"retention.ms": str(retention_ms), "retention.bytes": "-1"}
        response = await self._client.create_topics(
            [NewTopic(name, partitions[name], 1, topic_configs=configs) for name in missing]
        )
        # 36: TOPIC_ALREADY_EXISTS (created concurrently): as good as created here
        _check(
            (code, f"{topic}: {message}")
            for topic, code, message in response.topic_errors
            if code != 36
        )
        return missing

    async def _send(self, struct: RequestStruct) -> Any:
        return await self._client._send_request(_Send(struct))  # its one sender

    async def set_passwords(self, passwords: dict[str, str]) -> None:
        """Create or replace the SCRAM-SHA-512 credential of each user."""
        upserts: list[tuple[Any, ...]] = []
        for user, password in passwords.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, SCRAM_ITERATIONS)
            upserts.append((user, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, salted, {}))
        if upserts:
            response = await self._send(_ScramChange([], upserts, {}))
            _check((r[1], r[2]) for r in response.results)

    async def lock_out(self, user: str) -> None:
        """Replace the user's credential with one nobody knows: it can no longer authenticate.
        Preferred to :meth:`delete_password`: on Kafka 4.1.1 a removed credential in the
        metadata log can cost the broker every SCRAM credential at its next restart
        (docs/reliability.md, "Findings")."""
        await self.set_passwords({user: new_password()})

    async def delete_password(self, user: str) -> None:
        """Remove the user's credential: it can no longer authenticate. Beware: see
        :meth:`lock_out`."""
        response = await self._send(_ScramChange([(user, SCRAM_SHA_512, {})], [], {}))
        _check((r[1], r[2]) for r in response.results if r[1] != 91)  # 91: no such credential

    async def grant(self, principal: str, acls: Iterable[Acl]) -> None:
        """Allow ``principal`` the given operations (from any host); existing ones stay."""
        if rows := _acl_rows(principal, acls):
            response = await self._send(_CreateAcls(rows, {}))
            _check((r[0], r[1]) for r in response.results)

    async def revoke(self, principal: str, acls: Iterable[Acl]) -> None:
        """Drop exactly these ACLs of ``principal``."""
        if rows := _acl_rows(principal, acls):
            response = await self._send(_DeleteAcls(rows, {}))
            _check((r[0], r[1]) for r in response.filter_results)

    async def align(self, principal: str, acls: Iterable[Acl]) -> None:
        """Make ``acls`` exactly what ``principal`` may do: grant the missing, drop the rest."""
        wanted = set(acls)
        held = await self.acls_of(principal)
        await self.grant(principal, wanted - held)
        await self.revoke(principal, held - wanted)

    async def revoke_all(self, principal: str) -> int:
        """Drop every ACL that names ``principal``; returns how many went."""
        response = await self._send(_DeleteAcls([_all_acls_of(principal)], {}))
        _check((r[0], r[1]) for r in response.filter_results)
        return sum(len(r[2]) for r in response.filter_results)

    async def acls_of(self, principal: str) -> set[Acl]:
        """The operations the broker allows ``principal``."""
        response = await self._send(_DescribeAcls(*_all_acls_of(principal)))
        _check([(response.error_code, response.error_message)])
        return {
            Acl(Resource(kind), name, Operation(acl[2]), Pattern(pattern))
            for kind, name, pattern, acls, _ in response.resources
            for acl in acls
        }


def acl_rows(principals: dict[str, Sequence[Acl]]) -> list[tuple[str, Acl]]:
    """(principal, acl) of a whole table, sorted: for reports and comparisons."""
    return sorted((name, acl) for name, acls in principals.items() for acl in acls)
