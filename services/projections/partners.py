"""Onboarding network partners: ``python -m services.projections.partners add|list|revoke``.

``add`` creates the partner's principal and secret, its ACLs (read its own topic, in its own
consumer groups; nothing else) and its topic, and registers its subscription, which the
partner feed process picks up; it prints the connection settings, with the token the partner
fetches the keys of its messages with. ``revoke`` voids the secret (replaced by one nobody
knows), removes the ACLs, deletes the topic, and the feed stops. Run as the broker's
administrator (``make run``: ``set -a; . .local/dev/stack.env; set +a`` first).
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

import asyncpg

from contracts.intake import DataCategory, Partner, Purpose
from contracts.topics import partner_topic
from services.chassis.kafka import KafkaAccess
from services.chassis.kafka_admin import Acl, KafkaAdmin, in_groups, new_password, reads
from services.chassis.projection import DbConnection
from services.projections import partner_credentials as credentials
from services.projections.forwarding import Subscription
from services.projections.partner_keys import new_token
from services.projections.partner_settings import PartnerFeedSettings

REGISTRY_SQL: Final = """
CREATE TABLE IF NOT EXISTS public.partners (
    name          text PRIMARY KEY,  -- the partner, an employer as employer_<Betriebsnummer>
    purpose       text        NOT NULL,
    categories    text[]      NOT NULL,
    pseudonym_key bytea       NOT NULL,  -- a new one on every add: new pseudonyms
    generation    integer     NOT NULL,  -- the feed's schema is partner_<name>_<generation>
    added_at      timestamptz NOT NULL DEFAULT now(),
    revoked_at    timestamptz,
    key_token_hash bytea,  -- sha256 of the partner's token for its keys (new on every add)
    organisation  text  -- an employer's Betriebsnummer (one subscription per organisation)
);
-- Columns added since the first registries, each added once: key_token_hash (NULL: that
-- partner's token fetches nothing until it is added again) and organisation (an employer's
-- Betriebsnummer; NULL for every other partner). Checked first, as this runs on every look at
-- the registry and ALTER TABLE would lock the table each time.
DO $$ DECLARE added record; BEGIN
    FOR added IN SELECT * FROM (VALUES ('key_token_hash', 'bytea'), ('organisation', 'text'))
        AS wanted (name, type)
    LOOP
        IF NOT EXISTS (
            SELECT 1 FROM information_schema.columns WHERE table_schema = 'public'
            AND table_name = 'partners' AND column_name = added.name
        ) THEN
            EXECUTE format('ALTER TABLE public.partners ADD COLUMN %I %s', added.name, added.type);
        END IF;
    END LOOP;
END $$
"""


def principal(name: str) -> str:
    """The subscriber's user on the broker (Kubernetes-style name, no ``_``), e.g.
    ``ip-partner-iq-counselling``, ``ip-partner-employer-12345678``."""
    return f"ip-partner-{name.replace('_', '-')}"


def group_prefix(name: str) -> str:
    """The subscriber's consumer groups start with this."""
    return f"partner.{name}."


def partner_acls(name: str) -> tuple[Acl, ...]:
    """Read its own topic, in its own groups: nothing else, and never write."""
    return (*reads(partner_topic(name)), *in_groups(group_prefix(name)))


@dataclass(frozen=True)
class Registered:
    """A partner's subscription as the registry holds it."""

    subscription: Subscription
    pseudonym_key: bytes
    generation: int
    added_at: datetime
    revoked_at: datetime | None
    key_token_hash: bytes | None = None

    @property
    def partner(self) -> Partner:
        return self.subscription.partner

    @property
    def name(self) -> str:
        return self.subscription.name

    @property
    def schema(self) -> str:
        """Where its feed keeps positions, facts and outbox (safe as an identifier)."""
        return f"partner_{self.name}_{self.generation}"


async def registered(conn: DbConnection) -> list[Registered]:
    """Every partner ever added, revoked ones too, by name."""
    await conn.execute(REGISTRY_SQL)
    rows = await conn.fetch("SELECT * FROM public.partners ORDER BY name")
    return [
        Registered(
            Subscription(
                Partner.EMPLOYER if r["organisation"] else Partner(r["name"]),
                Purpose(r["purpose"]),
                frozenset(DataCategory(c) for c in r["categories"]),
                r["organisation"],
            ),
            bytes(r["pseudonym_key"]),
            r["generation"],
            r["added_at"],
            r["revoked_at"],
            None if r["key_token_hash"] is None else bytes(r["key_token_hash"]),
        )
        for r in rows
    ]


def connection_settings(
    kafka: KafkaAccess, name: str, password: str, keys_url: str, keys_token: str
) -> dict[str, str]:
    """What the partner's consumer needs (Kafka client property names, and where it fetches
    the keys of what it receives)."""
    return {
        "bootstrap.servers": kafka.bootstrap,
        "security.protocol": "SASL_SSL" if kafka.cafile else "SASL_PLAINTEXT",
        "sasl.mechanism": "SCRAM-SHA-512",
        "sasl.username": principal(name),
        "sasl.password": password,
        "topic": partner_topic(name),
        "group.id.prefix": group_prefix(name),
        "keys.url": keys_url,
        "keys.token": keys_token,
    }


async def add(settings: PartnerFeedSettings, subscription: Subscription) -> dict[str, str]:
    """Create (or renew) the partner's principal, ACLs and topic; register its feed."""
    name = subscription.name
    password = new_password()
    keys_token, keys_token_hash = new_token()
    async with KafkaAdmin(settings.kafka) as admin:
        await admin.set_passwords({principal(name): password})
        await admin.align(f"User:{principal(name)}", partner_acls(name))
        await admin.ensure_topics({partner_topic(name): settings.topic_partitions})
    conn = await asyncpg.connect(settings.partners_database_url)
    try:
        await conn.execute(REGISTRY_SQL)
        await conn.execute(
            "INSERT INTO public.partners"
            " (name, purpose, categories, pseudonym_key, key_token_hash, organisation, generation)"
            " VALUES ($1, $2, $3, $4, $5, $6, 1) ON CONFLICT (name) DO UPDATE SET"
            " purpose = excluded.purpose, categories = excluded.categories,"
            " pseudonym_key = excluded.pseudonym_key, key_token_hash = excluded.key_token_hash,"
            " added_at = now(), revoked_at = NULL, generation = public.partners.generation + 1",
            name,
            subscription.purpose.value,
            sorted(c.value for c in subscription.categories),
            secrets.token_bytes(32),
            keys_token_hash,
            subscription.organisation,
        )
    finally:
        await conn.close()
    settings_out = connection_settings(
        settings.kafka, name, password, settings.partners_public_url, keys_token
    )
    if settings.partners_credentials_dir is not None:
        credentials.write(
            settings.partners_credentials_dir, name, settings_out, settings.kafka.cafile
        )
    return settings_out


async def revoke(settings: PartnerFeedSettings, name: str) -> bool:
    """Void the secret, remove the ACLs, delete the topic; the feed stops. False if unknown.
    ``name``: the subscription's (``Subscription.name``)."""
    conn = await asyncpg.connect(settings.partners_database_url)
    try:
        await conn.execute(REGISTRY_SQL)
        found = await conn.fetchval(
            "UPDATE public.partners SET revoked_at = now() WHERE name = $1 RETURNING 1",
            name,
        )
    finally:
        await conn.close()
    async with KafkaAdmin(settings.kafka) as admin:
        # A secret nobody knows rather than none: deleting SCRAM credentials can lock
        # everybody out of Kafka 4.1.1 at its next restart (docs/reliability.md, "Findings").
        await admin.lock_out(principal(name))
        await admin.revoke_all(f"User:{principal(name)}")
        # Nothing the partner was sent stays on the broker (an unknown topic: already gone).
        await admin.client.delete_topics([partner_topic(name)])
    if settings.partners_credentials_dir is not None:
        credentials.remove(settings.partners_credentials_dir, name)
    return bool(found)


async def _main(args: argparse.Namespace, settings: PartnerFeedSettings) -> int:
    if args.command == "add":
        subscription: Subscription = args.subscription
        connection = await add(settings, subscription)
        print(f"partner {subscription.name} added; its connection settings:")
        for key, value in connection.items():
            print(f"  {key}={value}")
        if settings.partners_credentials_dir is not None:
            folder, stem = settings.partners_credentials_dir, subscription.name
            print(f"written (0600): {folder / stem}.json (all of it),")
            print(f"  {folder / stem}.librdkafka.conf (librdkafka >= 2.6.1: kcat -F),")
            print(f"  {folder / stem}.properties (the Java client: --consumer.config)")
        return 0
    if args.command == "revoke":
        name = _name(args.name, args.organisation)
        if not await revoke(settings, name):
            print(f"no partner {name}", file=sys.stderr)
            return 1
        print(f"partner {name} revoked: secret voided, ACLs dropped, topic deleted")
        return 0
    conn = await asyncpg.connect(settings.partners_database_url)
    try:
        partners = await registered(conn)
    finally:
        await conn.close()
    print(f"{'partner':<24} {'purpose':<18} {'categories':<32} {'since':<20} state")
    for item in partners:
        cats = ",".join(sorted(c.value for c in item.subscription.categories))
        state = f"revoked {item.revoked_at:%Y-%m-%d %H:%M}" if item.revoked_at else "active"
        print(
            f"{item.name:<24} {item.subscription.purpose.value:<18} {cats:<32}"
            f" {item.added_at:%Y-%m-%d %H:%M}     {state}"
        )
    return 0


def parser() -> argparse.ArgumentParser:
    """The command line (``--help`` on each subcommand)."""
    cli = argparse.ArgumentParser(
        prog="python -m services.projections.partners",
        description="Subscribe network partners to their own Kafka topic, fed only with what a "
        "valid consent allows, under a pseudonym. Configured like the partner feed: "
        "IP_KAFKA_* as the broker's administrator, IP_DB_PROJ_PARTNERS, and optionally "
        "IP_PARTNERS_CREDENTIALS_DIR.",
    )
    sub = cli.add_subparsers(dest="command", required=True, metavar="{add,list,revoke}")
    new = sub.add_parser(
        "add",
        help="create the partner's principal, secret, ACLs and topic; start its feed",
        description="Create (or renew, with a new secret and new pseudonyms) the partner's "
        "principal, its ACLs and its topic ip.partner.<name>.v1, and register its "
        "subscription; prints the connection settings.",
    )
    new.add_argument(
        "name", choices=[p.value for p in Partner], help="the partner, as consents name it"
    )
    new.add_argument(*_ORGANISATION, **_ORGANISATION_OPTIONS)
    new.add_argument(
        "--purpose",
        required=True,
        choices=[p.value for p in Purpose],
        help="the purpose the partner pursues; a consent must name it",
    )
    new.add_argument(
        "--categories",
        required=True,
        nargs="+",
        type=DataCategory,
        metavar="C",
        help="data categories to pass on (a consent must name them too): "
        + ", ".join(c.value for c in DataCategory),
    )
    sub.add_parser("list", help="every partner: purpose, categories, since when, state")
    gone = sub.add_parser(
        "revoke",
        help="void the secret, remove the ACLs, delete the topic, stop the feed",
        description="The partner can no longer connect; its feed stops and its topic goes.",
    )
    gone.add_argument("name", choices=[p.value for p in Partner])
    gone.add_argument(*_ORGANISATION, **_ORGANISATION_OPTIONS)
    return cli


_ORGANISATION: Final = ("--organisation",)
_ORGANISATION_OPTIONS: Final[dict[str, Any]] = {
    "metavar": "BETRIEBSNUMMER",
    "help": "an employer: the one organisation subscribed (its eight-digit Betriebsnummer, "
    "as consents name it); its topic is ip.partner.employer_<Betriebsnummer>.v1",
}


def _name(partner: str, organisation: str | None) -> str:
    return partner if organisation is None else f"{partner}_{organisation}"


def main(argv: Sequence[str] | None = None) -> int:
    cli = parser()
    args = cli.parse_args(argv)
    if args.command in {"add", "revoke"}:
        employer = args.name == Partner.EMPLOYER.value
        if employer != (args.organisation is not None):
            cli.error("--organisation is required for an employer and only for one")
    if args.command == "add":
        try:
            args.subscription = Subscription(
                Partner(args.name),
                Purpose(args.purpose),
                frozenset(args.categories),
                args.organisation,
            )
        except ValueError as refused:  # an employer without its Betriebsnummer, and the like
            cli.error(str(refused))
    return asyncio.run(_main(args, PartnerFeedSettings()))


if __name__ == "__main__":
    sys.exit(main())
