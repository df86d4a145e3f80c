"""The HTTP endpoint: parse, validate, cost and execute one GraphQL request body."""

from __future__ import annotations

import copy
import json
from functools import cache, lru_cache
from importlib import resources

from graphql import (
    DocumentNode,
    GraphQLSchema,
    GraphQLSyntaxError,
    build_schema,
    execute_sync,
    get_operation_ast,
    parse,
    validate,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox.app import GITHUB
from pipfleet.sandbox.github_graphql.answers import _Answers
from pipfleet.sandbox.github_graphql.cost import _cost
from pipfleet.sandbox.github_graphql.errors import Fields, _plain_error, _response, _static_error
from pipfleet.sandbox.github_graphql.validation import _RULES
from pipfleet.sandbox.github_shapes import Site
from pipfleet.sandbox.world import World

DOCS = "https://docs.github.com/graphql"


@cache
def sandbox_schema() -> GraphQLSchema:
    # The SDL ships beside this package, as package data of pipfleet.sandbox.
    sdl = resources.files("pipfleet.sandbox").joinpath("github_schema.graphql").read_text("utf-8")
    return build_schema(sdl)


def routes(world: World) -> list[BaseRoute]:
    schema = sandbox_schema()

    async def graphql_endpoint(request: Request) -> Response:
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            body = None
        if not isinstance(body, dict):
            return JSONResponse(
                {"message": "Problems parsing JSON", "documentation_url": DOCS}, status_code=400
            )
        answer = await run_in_threadpool(execute_request, world, schema, Site.of(request), body)
        return JSONResponse(answer)

    return [Route(f"{GITHUB}/graphql", graphql_endpoint, methods=["POST"])]


@lru_cache(maxsize=32)
def _checked(schema: GraphQLSchema, query: str) -> tuple[DocumentNode | None, tuple[Fields, ...]]:
    """The parsed query, or the errors that refuse it. Cached: parsing and validating are
    pure in (schema, query) and cost far more than running, and a scan sends the same
    batch query text again and again with other variables. Nothing mutates a document."""
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        return None, (_plain_error(error),)
    invalid = validate(schema, document, _RULES)
    if invalid:
        return None, tuple(_static_error(error) for error in invalid)
    return document, ()


def execute_request(world: World, schema: GraphQLSchema, site: Site, body: Fields) -> Fields:
    """The JSON answer to one GraphQL request body, charging its cost to the world."""
    query, variables = body.get("query"), body.get("variables") or {}
    operation_name = body.get("operationName")
    if not isinstance(query, str) or not query.strip():
        return {
            "errors": [{"message": "A query attribute must be specified and must be a string."}]
        }
    if not isinstance(variables, dict):
        return {"errors": [{"message": "Variables are invalid JSON."}]}
    if not isinstance(operation_name, str | None):
        return {"errors": [{"message": "An operationName must be a string."}]}
    document, refused = _checked(schema, query)
    if document is None:  # copies: an answer must not share the cached errors
        return {"errors": copy.deepcopy(list(refused))}
    operation = get_operation_ast(document, operation_name)
    if operation is None:
        message = (
            f'No operation named "{operation_name}"'
            if operation_name
            else "An operation name is required"
        )
        return {"errors": [{"message": message}]}
    cost = _cost(schema, document, operation, variables)
    with world.lock:
        world.rate_used["graphql"] += cost.points - 1  # the middleware charges the first point
        result = execute_sync(
            schema,
            document,
            root_value=_Answers(world, site, cost).query(),
            variable_values=variables,
            operation_name=operation_name,
        )
    return _response(result, variables)
