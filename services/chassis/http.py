"""What every HTTP API shares: error bodies that name the field or rule, and a server span."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import propagate, trace

from services.chassis.rules import InvalidTransitionError

tracer = trace.get_tracer("services.chassis.http")


def _field_name(location: tuple[int | str, ...]) -> str:
    parts = [str(part) for part in location]
    return ".".join(parts[1:] if parts and parts[0] in {"body", "query", "path"} else parts)


async def _unprocessable(_: Request, error: Exception) -> Response:
    assert isinstance(error, RequestValidationError)
    problems = [
        {"field": _field_name(tuple(item["loc"])), "reason": item["msg"]} for item in error.errors()
    ]
    return JSONResponse(status_code=422, content={"detail": problems})


async def _conflict(_: Request, error: Exception) -> Response:
    assert isinstance(error, InvalidTransitionError)
    return JSONResponse(status_code=409, content={"rule": error.rule, "detail": error.detail})


def install_common_handlers(app: FastAPI) -> None:
    """422 with field and reason for bad input; 409 with the refusing rule; a span per request."""
    app.add_exception_handler(RequestValidationError, _unprocessable)
    app.add_exception_handler(InvalidTransitionError, _conflict)

    @app.middleware("http")
    async def _server_span(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        route = f"{request.method} {request.url.path}"
        with tracer.start_as_current_span(
            route,
            context=propagate.extract(dict(request.headers)),
            kind=trace.SpanKind.SERVER,
            attributes={"http.request.method": request.method, "url.path": request.url.path},
        ) as span:
            response = await call_next(request)
            span.set_attribute("http.response.status_code", response.status_code)
            return response
