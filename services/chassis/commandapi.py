"""HTTP command endpoints, the same for every service: a body that is the command, an
``Idempotency-Key`` header, a bearer token saying who acts, and
``201 {case_id, version, replayed}``.

Who acts comes from the verified token only (``services.chassis.identity``): 401 without one
or with one that is not genuine and current; the acting agency and role then meet the
service's table of who may issue what (403 naming the rule), decided in its pure domain.

(No ``from __future__ import annotations`` here: FastAPI reads the endpoint annotations
built at run time, which must be real types, not strings.)
"""

import hashlib
import json
from collections.abc import Awaitable, Callable, Iterable
from datetime import date
from typing import Annotated, Any, TypeVar
from uuid import UUID

import httpx
import structlog
from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response, status
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials
from pydantic import BaseModel

from contracts.envelope import Agency
from services.chassis.actors import CommandIdentity
from services.chassis.authorization import Acting
from services.chassis.clock import berlin_today
from services.chassis.eventstore import AppendResult, CommandContext
from services.chassis.identity import Principal, TokenError
from services.chassis.ids import uuid7
from services.chassis.metrics import COMMANDS
from services.chassis.oidc import bearer_scheme
from services.chassis.rules import InvalidTransitionError, NotPermittedError
from services.chassis.validation import dates_in_future

log = structlog.get_logger("command")

Command = TypeVar("Command", bound=BaseModel)
Execute = Callable[[Request, UUID, Any, CommandContext], Awaitable[AppendResult]]

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=8,
        max_length=200,
        description="repeat a command safely: the same key applies it once",
    ),
]
_bearer = bearer_scheme  # one bearerAuth scheme for commands, reads and internal calls
UNAUTHENTICATED: dict[int | str, dict[str, Any]] = {
    401: {"description": "no bearer token, or one that is not genuine and current"}
}
FORBIDDEN: dict[int | str, dict[str, Any]] = {
    403: {"description": "this agency and role may not issue the command here; names the rule"}
}


def identity_of(request: Request) -> CommandIdentity:
    """The app's identity, filled by its composition root (``service_http_app``)."""
    identity: CommandIdentity = request.app.state.command_identity
    return identity


async def acting_principal(
    request: Request,
    identity: Annotated[CommandIdentity, Depends(identity_of)],
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The verified principal of the request; 401 (``WWW-Authenticate: Bearer``) otherwise."""
    if identity.verifier is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "no identity provider configured (IP_OIDC_ISSUER)"
        )
    if credentials is None or credentials.scheme.lower() != "bearer":
        reason = "a bearer token is required"
    else:
        try:
            return await identity.verifier.verify(credentials.credentials)
        except TokenError as error:
            reason = str(error)
        except httpx.HTTPError as error:  # the provider is away: no token can be checked
            log.warning("command.provider_unreachable", error=str(error))
            raise HTTPException(
                status.HTTP_503_SERVICE_UNAVAILABLE, "the identity provider cannot be reached"
            ) from error
    route = request.scope.get("route")
    name = getattr(route, "name", request.url.path)
    COMMANDS.labels(name, "unauthenticated").inc()
    log.info("command.unauthenticated", command=name, reason=reason)
    raise HTTPException(
        status.HTTP_401_UNAUTHORIZED,
        detail=reason,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


ActingPrincipal = Annotated[Principal, Depends(acting_principal)]


def acting_agency(principal: Principal) -> Agency:
    """The network agency a principal acts for; 403 for anyone else (a partner reports
    through its own channel, not the command APIs)."""
    agency = Acting.of(principal.agency, principal.role).agency
    if agency is None:
        raise NotPermittedError(
            "command.only_network_agencies",
            f"{principal.agency} is no agency of the network; its staff issue no commands here",
        )
    return agency


class CommandAccepted(BaseModel):
    """The stream version a command produced (or produced earlier, when replayed)."""

    case_id: UUID
    version: int
    replayed: bool


def request_hash(name: str, case_id: UUID | None, command: BaseModel, agency: Agency) -> str:
    """What an idempotency key stands for: the command, its case (None when it opens one:
    the id is minted anew for a repeat), the body in canonical JSON, and the acting agency."""
    canonical = json.dumps(
        [name, str(case_id) if case_id else None, command.model_dump(mode="json"), agency.value],
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _nul_at(value: Any, path: tuple[str | int, ...] = ()) -> tuple[str | int, ...] | None:
    """Where a NUL character hides in the command (PostgreSQL text cannot hold one)."""
    if isinstance(value, str):
        return path if "\x00" in value else None
    if isinstance(value, dict):
        items: Any = value.items()
    elif isinstance(value, list | tuple):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        if (found := _nul_at(item, (*path, key))) is not None:
            return found
    return None


def _refuse_bad_values(command: BaseModel, today: date) -> None:
    """What the command's model cannot check alone: NUL characters (PostgreSQL text cannot
    hold one), and dates of what already happened that lie after today in Germany."""
    problems: list[dict[str, Any]] = []
    if (where := _nul_at(command.model_dump())) is not None:
        problems.append(
            {
                "loc": ("body", *where),
                "msg": "text must not contain NUL characters",
                "type": "value_error",
            }
        )
    problems += [
        {
            "loc": ("body", *where),
            "msg": f"the date lies in the future (today is {today} in Germany)",
            "type": "value_error",
        }
        for where in dates_in_future(command, today)
    ]
    if problems:
        raise RequestValidationError(problems)


async def _accept(
    execute: Execute,
    *,
    request: Request,
    response: Response,
    case_id: UUID,
    command: BaseModel,
    context: CommandContext,
    today: date,
) -> CommandAccepted:
    name = type(command).__name__
    _refuse_bad_values(command, today)
    with structlog.contextvars.bound_contextvars(case_id=str(case_id)):
        try:
            result = await execute(request, case_id, command, context)
        except NotPermittedError as refusal:
            COMMANDS.labels(name, "forbidden").inc()
            # The agency and role are no personal data; the person stays out of the log.
            log.info(
                "command.forbidden",
                command=name,
                rule=refusal.rule,
                agency=context.agency.value,
                role=context.actor.role if context.actor else None,
            )
            raise
        except InvalidTransitionError as refusal:
            COMMANDS.labels(name, "refused").inc()
            log.info("command.refused", command=name, rule=refusal.rule)
            raise
        COMMANDS.labels(name, "replayed" if result.replayed else "accepted").inc()
        log.info("command.handled", command=name, replayed=result.replayed)
    if result.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    return CommandAccepted(
        case_id=result.stream_id, version=result.last_version, replayed=result.replayed
    )


def executor(
    handle: Callable[[UUID, Any, CommandContext, Any], Awaitable[AppendResult]], ports_at: str
) -> Execute:
    """A service's ``execute``: its ``handle``, given the ports its app keeps at
    ``app.state.<ports_at>`` (every service's commands are applied so)."""

    async def execute(
        request: Request, case_id: UUID, command: Any, context: CommandContext
    ) -> AppendResult:
        return await handle(case_id, command, context, getattr(request.app.state, ports_at))

    return execute


def add_case_commands(
    router: APIRouter, execute: Execute, commands: Iterable[tuple[str, type[BaseModel]]]
) -> None:
    """``POST /cases/{case_id}/<path>`` for each ``(path, command type)``: see add_command."""
    for path, command_type in commands:
        add_command(router, f"/cases/{{case_id}}/{path}", command_type, execute)


def _minted_case_id() -> UUID:
    """The id of the case a command opens (the registration)."""
    return uuid7()


def _path_case_id(case_id: UUID) -> UUID:
    """The id of the case a command is on, from the path."""
    return case_id


def add_command(
    router: APIRouter,
    path: str,
    command_type: type[BaseModel],
    execute: Execute,
    *,
    opens_case: bool = False,
) -> None:
    """Register ``POST path`` taking ``command_type`` as its body.

    With ``opens_case`` the case id is minted here (and the path has no ``{case_id}``);
    otherwise it comes from the path. The command's docstring is the endpoint's summary.
    """
    summary = (command_type.__doc__ or command_type.__name__).strip().splitlines()[0]
    responses: dict[int | str, dict[str, Any]] = {
        **UNAUTHENTICATED,
        **FORBIDDEN,
        409: {"description": "the case's state does not allow this command; names the rule"},
        422: {
            "description": "bad input, names each field and the reason; or an Idempotency-Key "
            "used before for another request"
        },
    }
    if not opens_case:
        responses[404] = {"description": "the service has never heard of this case"}

    # The two kinds differ only in where the case id comes from; FastAPI reads that source
    # (a path parameter, or none) from the dependency's signature.
    case_source = _minted_case_id if opens_case else _path_case_id

    async def endpoint(
        command: command_type,  # type: ignore[valid-type]
        *,
        request: Request,
        response: Response,
        case_id: Annotated[UUID, Depends(case_source)],
        today: Annotated[date, Depends(berlin_today)],
        principal: ActingPrincipal,
        identity: Annotated[CommandIdentity, Depends(identity_of)],
        idempotency_key: IdempotencyKey = None,
    ) -> CommandAccepted:
        agency = acting_agency(principal)
        context = CommandContext(
            idempotency_key=idempotency_key or str(uuid7()),
            agency=agency,
            correlation_id=uuid7(),
            actor=identity.actor(principal),
            request_hash=request_hash(
                command_type.__name__, None if opens_case else case_id, command, agency
            ),
        )
        return await _accept(
            execute,
            request=request,
            response=response,
            case_id=case_id,
            command=command,
            context=context,
            today=today,
        )

    router.add_api_route(
        path,
        endpoint,
        methods=["POST"],
        status_code=status.HTTP_201_CREATED,
        response_model=CommandAccepted,
        summary=summary,
        name=command_type.__name__,
        operation_id=command_type.__name__,
        responses=responses,
    )
