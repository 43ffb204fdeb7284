"""Signed tokens for the read APIs: who reads (agency, role, user), and for which purpose.

A token is a minimal JWT (RFC 7519) signed with HMAC-SHA256 ("HS256"): three base64url parts,
``header.payload.signature``, the payload a compact JSON object::

    {"agency": "JC-MG", "role": "case_worker", "user": "anna", "purpose": "counselling",
     "iat": 1467000000, "exp": 1467028800}

``agency`` is a ``contracts.envelope.Agency`` value (``JC-MG``) or a partner's name
(``iq_counselling``); which one a view accepts is the view's business, not this module's.
Only ``HS256`` is accepted (never ``none``), the signature is compared in constant time, and
the times are whole seconds since the epoch, as in a JWT.

The secret is shared by the issuer and every API that verifies (``IP_TOKEN_SECRET``); a
holder of it can mint any token, so it is a credential like a password. For ``make run`` the
dev issuer is this module's CLI::

    python -m services.chassis.auth issue --agency JC-MG --role case_worker --user anna \\
        --purpose counselling [--hours 8]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import structlog
from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

log = structlog.get_logger("auth")

ALGORITHM: Final = "HS256"
HEADER: Final = {"alg": ALGORITHM, "typ": "JWT"}
CLOCK_SKEW: Final = timedelta(seconds=60)  # an issuer's clock may run this far ahead
MAX_TOKEN_CHARS: Final = 4096


class TokenError(Exception):
    """A token that does not prove who reads: the reason is safe to tell the client."""


class MalformedTokenError(TokenError):
    """Not three base64url parts of JSON with every claim, or not an HS256 token."""


class BadSignatureError(TokenError):
    """The signature does not match: tampered with, or signed with another secret."""


class ExpiredTokenError(TokenError):
    """Past its ``exp``."""


@dataclass(frozen=True)
class Claims:
    """Who reads, in which role, for which purpose, and from when until when."""

    agency: str
    role: str
    user: str
    purpose: str
    issued_at: datetime
    expires_at: datetime

    def payload(self) -> dict[str, Any]:
        return {
            "agency": self.agency,
            "role": self.role,
            "user": self.user,
            "purpose": self.purpose,
            "iat": int(self.issued_at.timestamp()),
            "exp": int(self.expires_at.timestamp()),
        }


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(part: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))
    except (binascii.Error, ValueError) as error:
        raise MalformedTokenError("a part of the token is not base64url") from error


def _json(value: dict[str, Any]) -> bytes:
    return json.dumps(value, separators=(",", ":"), sort_keys=True).encode()


def _sign(secret: str, signing_input: str) -> bytes:
    if not secret:
        raise ValueError("the token secret is empty")
    return hmac.new(secret.encode(), signing_input.encode("ascii"), hashlib.sha256).digest()


def issue(secret: str, claims: Claims) -> str:
    """The signed token carrying ``claims``."""
    if claims.expires_at <= claims.issued_at:
        raise ValueError("a token must expire after it is issued")
    for name in ("agency", "role", "user", "purpose"):
        if not getattr(claims, name):
            raise ValueError(f"the claim {name} is empty")
    signing_input = f"{_b64encode(_json(HEADER))}.{_b64encode(_json(claims.payload()))}"
    return f"{signing_input}.{_b64encode(_sign(secret, signing_input))}"


def _text_claim(payload: dict[str, Any], name: str) -> str:
    value = payload.get(name)
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise MalformedTokenError(f"the claim {name} is missing or not a short text")
    return value


def _time_claim(payload: dict[str, Any], name: str) -> datetime:
    value = payload.get(name)
    if isinstance(value, bool) or not isinstance(value, int):
        raise MalformedTokenError(f"the claim {name} is missing or not whole seconds")
    try:
        return datetime.fromtimestamp(value, UTC)
    except (OverflowError, OSError, ValueError) as error:
        raise MalformedTokenError(f"the claim {name} is out of range") from error


def verify(secret: str, token: str, now: datetime) -> Claims:
    """The claims of a genuine, current token; a ``TokenError`` saying why not otherwise."""
    if len(token) > MAX_TOKEN_CHARS:
        raise MalformedTokenError("the token is too long")
    parts = token.split(".")
    if len(parts) != 3 or not all(parts):
        raise MalformedTokenError("a token has three parts separated by dots")
    try:
        header = json.loads(_b64decode(parts[0]))
    except ValueError as error:
        raise MalformedTokenError("the token's header is not JSON") from error
    if not isinstance(header, dict) or header.get("alg") != ALGORITHM:
        raise MalformedTokenError(f"only {ALGORITHM} tokens are accepted")
    expected = _sign(secret, f"{parts[0]}.{parts[1]}")
    if not hmac.compare_digest(expected, _b64decode(parts[2])):
        raise BadSignatureError("the token's signature does not match")
    try:
        payload = json.loads(_b64decode(parts[1]))
    except ValueError as error:
        raise MalformedTokenError("the token's payload is not JSON") from error
    if not isinstance(payload, dict):
        raise MalformedTokenError("the token's payload is not a JSON object")
    claims = Claims(
        agency=_text_claim(payload, "agency"),
        role=_text_claim(payload, "role"),
        user=_text_claim(payload, "user"),
        purpose=_text_claim(payload, "purpose"),
        issued_at=_time_claim(payload, "iat"),
        expires_at=_time_claim(payload, "exp"),
    )
    if claims.issued_at > now + CLOCK_SKEW:
        raise MalformedTokenError("the token was issued in the future")
    if now >= claims.expires_at:
        raise ExpiredTokenError(f"the token expired at {claims.expires_at.isoformat()}")
    return claims


MIN_SECRET_CHARS: Final = 16


def checked_secret(value: SecretStr) -> SecretStr:
    """A settings validator: refuse to start with a secret too short to sign with."""
    if len(value.get_secret_value().strip()) < MIN_SECRET_CHARS:
        raise ValueError(
            f"IP_TOKEN_SECRET is empty or shorter than {MIN_SECRET_CHARS} characters: a"
            " process refuses to serve reads it cannot authenticate (make run generates one)"
        )
    return value


# --- FastAPI ---------------------------------------------------------------------------------

_bearer = HTTPBearer(
    auto_error=False,
    description="A signed token (HS256) of agency, role, user and purpose: "
    "`python -m services.chassis.auth issue --help`.",
)


def _utcnow() -> datetime:
    return datetime.now(UTC)


# A reader's own secret (intake's key readers, the network partners), not a signed token:
# named bearerAuth in OpenAPI, where a client generator finds it.
_reader_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="bearerAuth",
    description="The reader's own secret: `Authorization: Bearer <token>`.",
)


class Refusal(BaseModel):
    """Why a request was refused (401, 403, 404)."""

    detail: str


def reader_responses(not_found: str) -> dict[int | str, dict[str, Any]]:
    """The refusals of an endpoint behind ``reader_secret``, for its OpenAPI."""
    return {
        401: {"model": Refusal, "description": "no bearer token (WWW-Authenticate: Bearer)"},
        403: {"model": Refusal, "description": "a token that may not read this"},
        404: {"model": Refusal, "description": not_found},
    }


def reader_secret(
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_reader_bearer)],
) -> str:
    """The token of an ``Authorization: Bearer`` header (a reader's own secret, not a signed
    token); 401 with ``WWW-Authenticate: Bearer`` without one."""
    if credentials is None or not credentials.credentials:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "a bearer token is required",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return credentials.credentials


ReaderSecret = Annotated[str, Depends(reader_secret)]


def require_token(
    secret_getter: Callable[[Request], str], *, clock: Callable[[], datetime] = _utcnow
) -> Callable[..., Claims]:
    """A dependency giving the verified claims of the request's ``Authorization: Bearer``
    token, or answering 401 with ``WWW-Authenticate: Bearer`` (RFC 6750) when it is missing
    or not genuine and current. ``secret_getter`` finds the secret (e.g. on ``app.state``)."""

    def claims(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> Claims:
        if credentials is None:
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                "a bearer token is required (Authorization: Bearer <token>)",
                headers={"WWW-Authenticate": "Bearer"},
            )
        try:
            return verify(secret_getter(request), credentials.credentials, clock())
        except TokenError as error:
            log.warning("auth.refused", path=request.url.path, reason=str(error))
            raise HTTPException(
                status.HTTP_401_UNAUTHORIZED,
                str(error),
                headers={
                    "WWW-Authenticate": f'Bearer error="invalid_token", error_description="{error}"'
                },
            ) from error

    return claims


# --- the dev issuer --------------------------------------------------------------------------


class TokenSecretSettings(BaseSettings):
    """The dev issuer's secret: the one the views verify with."""

    model_config = SettingsConfigDict(env_prefix="IP_", extra="ignore", frozen=True)

    token_secret: SecretStr = Field(default=SecretStr(""), description="IP_TOKEN_SECRET")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services.chassis.auth",
        description="Issue (or check) a signed token for the agencies' read APIs, with the "
        "secret of IP_TOKEN_SECRET (or --secret-file). A dev issuer for `make run`; "
        "it prints the token on stdout.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    issue_cmd = commands.add_parser("issue", help="print a new token")
    issue_cmd.add_argument(
        "--agency",
        required=True,
        help="an agency (AA-MG, JC-MG, JC-RKN, STADT-MG, RKN) "
        "or a partner (iq_counselling, jugendberufsagentur, course_provider)",
    )
    issue_cmd.add_argument(
        "--role",
        required=True,
        help="e.g. case_worker, abh_case_worker, "
        "sozialamt_case_worker, data_protection (services/projections/agency_api.py)",
    )
    issue_cmd.add_argument("--user", required=True, help="who reads (a user name)")
    issue_cmd.add_argument(
        "--purpose", required=True, help="why (counselling, placement, recognition, ...)"
    )
    issue_cmd.add_argument(
        "--hours", type=float, default=8.0, help="lifetime in hours (default 8, at most 24)"
    )
    check_cmd = commands.add_parser("verify", help="print a token's claims, or why it fails")
    check_cmd.add_argument("token")
    for sub in (issue_cmd, check_cmd):
        sub.add_argument("--secret-file", type=Path, help="read the secret from this file")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.secret_file is not None:
        secret = args.secret_file.read_text().strip()
    else:
        secret = TokenSecretSettings().token_secret.get_secret_value()
    if not secret:
        sys.stderr.write("no secret: set IP_TOKEN_SECRET or pass --secret-file\n")
        return 2
    now = _utcnow().replace(microsecond=0)
    if args.command == "verify":
        try:
            claims = verify(secret, args.token, now)
        except TokenError as error:
            sys.stderr.write(f"refused: {error}\n")
            return 1
        shown = {**claims.payload(), "iat": claims.issued_at.isoformat()}
        shown["exp"] = claims.expires_at.isoformat()
        sys.stdout.write(json.dumps(shown, indent=2) + "\n")
        return 0
    if not 0 < args.hours <= 24:
        sys.stderr.write("--hours must be more than 0 and at most 24\n")
        return 2
    claims = Claims(
        agency=args.agency,
        role=args.role,
        user=args.user,
        purpose=args.purpose,
        issued_at=now,
        expires_at=now + timedelta(hours=args.hours),
    )
    sys.stdout.write(issue(secret, claims) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
