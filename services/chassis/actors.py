"""Who issued a command, as the command APIs know it: the verified token's principal, and the
pseudonymous reference every event records (``Envelope.actor``).

The reference is a keyed hash (HMAC-SHA256) of the agency and the provider's subject, not the
subject itself: events travel to every view and to Kafka, and a raw ``sub`` would let anyone
with read access to the provider's user list name the case worker. With the key (a setting,
``IP_ACTOR_REFERENCE_KEY``, held by the operators) an agency's operator can still tell whom a
reference names, for accountability (``python -m services.chassis.actors reference``); the
agency is part of the input, so one person's references at two agencies cannot be linked.

The provider is the one ``IP_OIDC_*`` names (``services.chassis.oidc``); without an issuer a
command API answers every command 503 (it cannot tell who acts).
"""

from __future__ import annotations

import argparse
import hashlib
import hmac
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx

from contracts.envelope import Actor
from services.chassis.identity import Principal
from services.chassis.oidc import OidcSettings, verifier
from services.chassis.settings import ProcessSettings

REFERENCE_HEX_CHARS = 32  # 128 bits: no collision among any agency's staff


class TokenVerifier(Protocol):
    """What the command APIs need of a verifier (``JwksVerifier`` in a deployment)."""

    async def verify(self, token: str) -> Principal: ...


def actor_reference(key: bytes, agency: str, subject: str) -> str:
    """The pseudonymous reference of ``subject`` (the provider's ``sub``) acting for ``agency``."""
    digest = hmac.new(key, f"{agency}\x00{subject}".encode(), hashlib.sha256).hexdigest()
    return digest[:REFERENCE_HEX_CHARS]


@dataclass(frozen=True)
class CommandIdentity:
    """How a service's command API learns who acts: its verifier and the reference key."""

    verifier: TokenVerifier | None  # None: no provider configured
    reference_key: bytes

    def actor(self, principal: Principal) -> Actor:
        reference = actor_reference(self.reference_key, principal.agency, principal.subject)
        return Actor(role=principal.role, reference=reference)


def command_identity(
    settings: ProcessSettings, verifying: TokenVerifier | None = None
) -> CommandIdentity:
    """The identity of a deployment: ``verifying`` (a verifier the app shares), else one of
    the provider the settings name (``IP_OIDC_*``), fetching its keys over a client that
    lives as long as the process; none without an issuer."""
    if verifying is None and isinstance(settings, OidcSettings) and settings.oidc_issuer:
        verifying = verifier(settings, httpx.AsyncClient(timeout=10.0))
    return CommandIdentity(verifying, settings.actor_reference_key.get_secret_value().encode())


def main(argv: Sequence[str] | None = None) -> None:
    """``reference --agency A --subject S``: the reference events record for that person."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    commands = parser.add_subparsers(dest="command", required=True)
    reference = commands.add_parser("reference", help="the actor reference of a subject")
    reference.add_argument("--agency", required=True)
    reference.add_argument("--subject", required=True, help="the provider's sub of the person")
    args = parser.parse_args(argv)
    key = ProcessSettings().actor_reference_key.get_secret_value().encode()
    sys.stdout.write(actor_reference(key, args.agency, args.subject) + "\n")


if __name__ == "__main__":
    main()
