"""What every HTTP API shares: error bodies that name the field or rule.

Server spans come from FastAPI's native OpenTelemetry support, which extracts the W3C
context from the request headers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import AbstractAsyncContextManager
from typing import Any

from fastapi import APIRouter, FastAPI, Request, Response, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from starlette.exceptions import HTTPException as StarletteHTTPException

from services.chassis.eventstore import IdempotencyKeyReusedError
from services.chassis.metrics import COMMANDS
from services.chassis.rules import InvalidTransitionError, NotPermittedError, UnknownCaseError
from services.chassis.validation import FieldsError


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    return ".".join(parts[1:] if parts and parts[0] in {"body", "query", "path"} else parts)


def _problems(item: Mapping[str, Any]) -> list[dict[str, str]]:
    """One error as ``{field, reason}`` entries: a rule over several fields of a model
    (``FieldsError``) is listed under each field it names, never under the model."""
    if item["type"] == "json_invalid":
        # A body that is not JSON is located by its character offset: name the body.
        return [{"field": "body", "reason": item["msg"]}]
    location = tuple(item["loc"])
    cause = item.get("ctx", {}).get("error")
    named = cause.fields if isinstance(cause, FieldsError) else ()
    fields = [_field_name((*location, name)) for name in named] or [_field_name(location)]
    # Whatever still speaks of the whole body (a rule of a contract's model) names the body.
    return [{"field": field or "body", "reason": item["msg"]} for field in fields]


async def _unprocessable(request: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    route = request.scope.get("route")
    COMMANDS.labels(getattr(route, "name", request.url.path), "invalid").inc()
    problems = [problem for item in error.errors() for problem in _problems(item)]
    return JSONResponse(status_code=422, content={"detail": problems})


async def _conflict(_: Request, error: Exception) -> Response:
    assert isinstance(error, InvalidTransitionError)
    code = 409
    if isinstance(error, NotPermittedError):
        code = 403
    elif isinstance(error, UnknownCaseError):
        code = 404
    return JSONResponse(status_code=code, content={"rule": error.rule, "detail": error.detail})


async def _key_reused(request: Request, error: Exception) -> Response:
    assert isinstance(error, IdempotencyKeyReusedError)
    route = request.scope.get("route")
    COMMANDS.labels(getattr(route, "name", request.url.path), "invalid").inc()
    problem = {"field": "Idempotency-Key", "reason": str(error)}
    return JSONResponse(status_code=422, content={"detail": [problem]})


async def _unreadable_body(request: Request, error: Exception) -> Response:
    """A body that is not JSON at all is bad input like any other: 422 naming the body."""
    assert isinstance(error, StarletteHTTPException)
    if error.status_code != status.HTTP_400_BAD_REQUEST:
        return await http_exception_handler(request, error)
    route = request.scope.get("route")
    COMMANDS.labels(getattr(route, "name", request.url.path), "invalid").inc()
    problem = {"field": "body", "reason": f"the body could not be read as JSON ({error.detail})"}
    return JSONResponse(status_code=422, content={"detail": [problem]})


def install_common_handlers(app: FastAPI) -> None:
    """422 with field and reason for bad input (and a reused idempotency key); 409 with the
    rule that refused (403 when it is who may issue it, 404 for an unknown case)."""
    app.add_exception_handler(RequestValidationError, _unprocessable)
    app.add_exception_handler(InvalidTransitionError, _conflict)
    app.add_exception_handler(IdempotencyKeyReusedError, _key_reused)
    app.add_exception_handler(StarletteHTTPException, _unreadable_body)


def service_app(
    *,
    title: str,
    description: str,
    lifespan: Callable[[FastAPI], AbstractAsyncContextManager[None]],
    router: APIRouter,
) -> FastAPI:
    """A platform HTTP app: OpenAPI metadata, the shared error bodies, the service's routes."""
    app = FastAPI(title=title, description=description, version="1", lifespan=lifespan)
    install_common_handlers(app)
    app.include_router(router)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)

    return app
