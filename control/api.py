"""Routes declared once, with their models: the same declarations make the aiohttp routes and `/openapi.json`.

A handler receives a `Call` (the parsed path values, query and body, and who is calling) and returns a model, a
list of models or None; `serve` parses and validates the request (a problem JSON with status 400, 404, 415 or 422
naming the field when it is wrong) and writes the answer through the declared response model. Errors raised on
purpose (`ApiError`, the store's errors, a ConfigError) become a problem JSON by `problem_middleware`."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import BaseModel, Field, TypeAdapter, ValidationError
from pydantic.json_schema import models_json_schema

from actors.runtime.logs import get_logger
from config.base import ConfigError
from persistence.control.errors import ConflictError, DatabaseUnavailableError, NotFoundError, SessionStartError

_log = get_logger(component="control-api")

ACTOR_KEY = web.RequestKey("actor", str)
"""Who is calling (set by the auth middleware): "token" or "ui"."""


class FieldProblem(BaseModel):
    field: str
    reason: str


class Problem(BaseModel):
    """Every error answer: what went wrong (`error`, a short code), a sentence, and the fields at fault."""

    error: str
    detail: str
    problems: list[FieldProblem] = Field(default_factory=list)


class ApiError(Exception):
    def __init__(self, status: int, error: str, detail: str, problems: list[tuple[str, str]] | None = None) -> None:
        super().__init__(detail)
        self.status, self.error, self.detail, self.problems = status, error, detail, problems or []


def problem_response(status: int, error: str, detail: str, problems: list[tuple[str, str]] | None = None,
                     headers: dict[str, str] | None = None) -> web.Response:
    body = Problem(error=error, detail=detail, problems=[FieldProblem(field=f, reason=r) for f, r in problems or []])
    return web.json_response(body.model_dump(mode="json"), status=status, headers=headers)


@dataclass
class Call:
    request: web.Request
    path: dict[str, Any]
    query: Any
    body: Any
    actor: str


Handler = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    response: Any = None
    """A model, `list[Model]`, or None (204)."""
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_ints: tuple[str, ...] = ()
    """Path parameters that are positive integers (a row id)."""
    status: int = 200
    errors: tuple[int, ...] = ()
    auth: bool = True
    description: str = ""
    extra_responses: dict[int, str] = field(default_factory=dict)
    """Statuses answered with something other than JSON (the docs page): status -> content type."""


_STATUS_TEXT = {200: "OK", 201: "Created", 202: "Accepted", 204: "No content", 400: "Malformed request",
                401: "Not authenticated", 403: "Forbidden", 404: "Not found", 405: "Method not allowed",
                409: "Conflict with the current state", 413: "Body too large", 415: "Not JSON",
                422: "Invalid fields", 429: "Too many requests",
                503: "Unavailable (the database or the engine cannot be reached)"}


def serve(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    adapter = TypeAdapter(route.response) if route.response is not None else None

    async def handle(request: web.Request) -> web.StreamResponse:
        path = _path_values(route, request)
        query = _parse(route.query, json.dumps(dict(request.query))) if route.query else None
        body = _parse(route.body, await _json_text(request)) if route.body else None
        result = await route.handler(Call(request, path, query, body, request.get(ACTOR_KEY, "anonymous")))
        if isinstance(result, web.StreamResponse):
            return result
        if adapter is None:
            return web.Response(status=204)
        return web.json_response(adapter.dump_python(result, mode="json"), status=route.status)

    return handle


def _path_values(route: Route, request: web.Request) -> dict[str, Any]:
    values: dict[str, Any] = dict(request.match_info)
    for name in route.path_ints:
        text = values[name]
        if not (text.isascii() and text.isdigit()) or not 0 < int(text) < 2**31:
            raise ApiError(404, "not_found", f"{name} {text!r} is not a row id (a whole number from 1)")
        values[name] = int(text)
    return values


async def _json_text(request: web.Request) -> str:
    if request.content_type != "application/json":
        raise ApiError(415, "unsupported_media_type", f"send JSON (Content-Type: application/json), not "
                       f"{request.content_type!r}")
    charset = (request.charset or "utf-8").lower()
    if charset not in ("utf-8", "utf8"):
        raise ApiError(415, "unsupported_media_type", f"send the JSON as UTF-8, not {charset!r}")
    raw = await request.read()
    try:
        text = raw.decode("utf-8")
        json.loads(text)
    except UnicodeDecodeError as err:
        raise ApiError(400, "malformed", f"the body is not UTF-8 ({err.reason} at byte {err.start})") from None
    except ValueError as err:
        raise ApiError(400, "malformed", f"the body is not JSON: {err}") from None
    return text


def _parse(model: type[BaseModel], text: str) -> BaseModel:
    try:
        return model.model_validate_json(text)
    except ValidationError as err:
        problems = ConfigError.from_validation(err).problems
        raise ApiError(422, "invalid", "; ".join(f"{f}: {r}" for f, r in problems), problems) from None


@web.middleware
async def problem_middleware(request: web.Request, handler: Callable) -> web.StreamResponse:
    """Errors raised on purpose -> a problem JSON; aiohttp's own HTTP errors (404 of an unknown path, 405, 413)
    as a problem JSON too, so every /api answer is JSON."""
    try:
        return await handler(request)
    except ApiError as err:
        return problem_response(err.status, err.error, err.detail, err.problems)
    except ConfigError as err:
        return problem_response(422, "invalid", str(err).splitlines()[0].rstrip(":"), err.problems)
    except NotFoundError as err:
        return problem_response(404, "not_found", str(err))
    except ConflictError as err:
        return problem_response(409, "conflict", str(err))
    except DatabaseUnavailableError as err:
        return problem_response(503, "database_unavailable", str(err), headers={"Retry-After": "5"})
    except SessionStartError as err:
        return problem_response(503, "session_not_started", str(err))
    except web.HTTPException as err:
        if err.status < 400 or not request.path.startswith("/api/"):
            raise
        return problem_response(err.status, err.reason.lower().replace(" ", "_"), err.text or err.reason,
                                headers={k: v for k, v in err.headers.items() if k in ("Allow",)})
    except Exception:  # noqa: BLE001 - answered as JSON and logged with its traceback, never shown to the client
        _log.exception("request_failed", method=request.method, path=request.path)
        return problem_response(500, "internal", "the server failed on this request; its log has the details")


def openapi_document(routes: list[Route], title: str, version: str, description: str) -> dict[str, Any]:
    """OpenAPI 3.1 from the routes and their pydantic models (JSON Schema by pydantic itself)."""
    inputs = {m for r in routes for m in (r.body, r.query) if m is not None}
    outputs = {_item_model(r.response) for r in routes if r.response is not None} | {Problem}
    keys = [(m, "validation") for m in sorted(inputs, key=lambda m: m.__name__)]
    keys += [(m, "serialization") for m in sorted(outputs, key=lambda m: m.__name__)]
    refs, schemas = models_json_schema(keys, ref_template="#/components/schemas/{model}")
    paths: dict[str, dict[str, Any]] = {}
    for route in routes:
        paths.setdefault(route.path, {})[route.method.lower()] = _operation(route, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version, "description": description},
        "paths": paths,
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearerAuth": {"type": "http", "scheme": "bearer",
                               "description": "the control token (printed by `spreadwright serve`, kept in its "
                                              "token file)"},
                "cookieAuth": {"type": "apiKey", "in": "cookie", "name": "sw_session",
                               "description": "set by POST /api/auth/login; a request that changes anything also "
                                              "sends the X-CSRF-Token header login returned"},
            },
        },
    }


def _item_model(response: Any) -> type[BaseModel]:
    args = getattr(response, "__args__", None)
    return args[0] if args else response


def _operation(route: Route, refs: dict) -> dict[str, Any]:
    operation: dict[str, Any] = {"summary": route.summary, "tags": [route.tag],
                                 "operationId": route.handler.__name__.lstrip("_")}
    if route.description:
        operation["description"] = route.description
    parameters = [{"name": name, "in": "path", "required": True,
                   "schema": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}} for name in route.path_ints]
    if route.query is not None:
        schema = route.query.model_json_schema()
        for name, prop in schema.get("properties", {}).items():
            parameters.append({"name": name, "in": "query", "required": name in schema.get("required", ()),
                               "schema": prop})
    if parameters:
        operation["parameters"] = parameters
    if route.body is not None:
        operation["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[(route.body, "validation")]}}}
    operation["responses"] = _responses(route, refs)
    operation["security"] = [{"bearerAuth": []}, {"cookieAuth": []}] if route.auth else []
    return operation


def _responses(route: Route, refs: dict) -> dict[str, Any]:
    problem = {"application/json": {"schema": refs[(Problem, "serialization")]}}
    responses: dict[str, Any] = {}
    if route.response is None:
        responses[str(route.status)] = {"description": _STATUS_TEXT.get(route.status, "OK")}
    else:
        item = refs[(_item_model(route.response), "serialization")]
        schema = {"type": "array", "items": item} if _item_model(route.response) is not route.response else item
        responses[str(route.status)] = {"description": _STATUS_TEXT.get(route.status, "OK"),
                                        "content": {"application/json": {"schema": schema}}}
    for status, content_type in route.extra_responses.items():
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "OK"),
                                  "content": {content_type: {"schema": {"type": "string"}}}}
    errors = set(route.errors) | {405, 500, 503}
    if route.auth:
        errors |= {401, 403}
    if route.body is not None:
        errors |= {400, 413, 415, 422}
    if route.query is not None:
        errors.add(422)
    if route.path_ints:
        errors.add(404)
    for status in sorted(errors):
        responses[str(status)] = {"description": _STATUS_TEXT.get(status, "Error"), "content": problem}
    return responses
