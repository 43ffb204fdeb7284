"""A bearer secret of the caller's own (a partner's key token), and the refusals of the
endpoints behind a bearer token as OpenAPI shows them: the ``bearerAuth`` security scheme,
401, 403 and 404 with a ``Refusal`` body. (Access tokens of the identity provider are
verified by ``services.chassis.oidc``.)"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

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
