"""An operator's access token from the platform's OpenID Connect provider, for curl and the
like: ``python -m services.chassis.token --user anna.aa [--purpose counselling]``.

It asks the provider's token endpoint (from its discovery document) for a token of the
user by the password grant of a client that allows it (the dev realm's ``ip-cli``), and
prints the access token on standard output. The password is read from ``--password-file``,
else ``IP_TOKEN_PASSWORD``, else prompted for; the dev realm's demo users' password is
``demo``. A purpose asks for the provider's scope ``purpose-<purpose>``, which puts the
purpose into the token (the views log it with every read).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import httpx

from services.chassis.oidc import discovered

DEFAULT_ISSUER = "http://127.0.0.1:18080/realms/integration-points"  # make run's Keycloak


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.chassis.token",
        description="Print an access token of a user from the OpenID Connect provider "
        "(password grant; for operators and the local demo).",
    )
    parser.add_argument("--user", required=True, help="the user name, e.g. anna.aa")
    parser.add_argument(
        "--purpose",
        default=None,
        help="the purpose of the reads (counselling, placement, recognition, steering, ...)",
    )
    parser.add_argument(
        "--issuer",
        default=os.environ.get("IP_OIDC_ISSUER", DEFAULT_ISSUER),
        help=f"the provider's issuer URL (default: IP_OIDC_ISSUER or {DEFAULT_ISSUER})",
    )
    parser.add_argument("--client", default="ip-cli", help="a client allowing password grants")
    parser.add_argument("--password-file", type=Path, help="read the password from this file")
    return parser


def _password(args: argparse.Namespace) -> str:
    if args.password_file is not None:
        return str(args.password_file.read_text(encoding="utf-8").strip())
    return os.environ.get("IP_TOKEN_PASSWORD") or getpass.getpass(f"password of {args.user}: ")


async def fetch_token(
    issuer: str, client: str, user: str, password: str, purpose: str | None
) -> str:
    """The access token the provider issues to ``user`` through ``client``."""
    async with httpx.AsyncClient(timeout=30) as http:
        endpoint = str((await discovered(http, issuer))["token_endpoint"])
        data = {"grant_type": "password", "client_id": client, "username": user}
        data["password"] = password
        if purpose:
            data["scope"] = f"purpose-{purpose}"
        answer = await http.post(endpoint, data=data)
        if answer.status_code != httpx.codes.OK:
            reason = answer.json().get("error_description", answer.text) if answer.text else ""
            raise ValueError(f"the provider refused ({answer.status_code}): {reason}")
        return str(answer.json()["access_token"])


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        token = asyncio.run(
            fetch_token(args.issuer, args.client, args.user, _password(args), args.purpose)
        )
    except (ValueError, httpx.HTTPError) as error:
        sys.stderr.write(f"no token: {error}\n")
        return 1
    sys.stdout.write(token + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
