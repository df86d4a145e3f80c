"""Errors as GitHub reports them, and an execution result shaped into GitHub's JSON."""

from __future__ import annotations

from typing import Any

from graphql import ExecutionResult, GraphQLError, VariableDefinitionNode, print_ast

Fields = dict[str, Any]


class GitHubGraphQLError(Exception):
    """A field that cannot be answered, reported as GitHub does: ``type`` and message."""

    def __init__(self, type_: str, message: str):
        super().__init__(message)
        self.type = type_
        self.message = message


# Errors to JSON.


def _locations(error: GraphQLError) -> list[dict[str, int]]:
    return [{"line": loc.line, "column": loc.column} for loc in error.locations or ()]


def _plain_error(error: GraphQLError) -> Fields:
    return {"message": error.message, "locations": _locations(error)}


def _static_error(error: GraphQLError) -> Fields:
    if error.extensions and "code" in error.extensions:
        return {
            "path": error.path,
            "extensions": error.extensions,
            "locations": _locations(error),
            "message": error.message,
        }
    return _plain_error(error)


def _variable_error(error: GraphQLError, variables: Fields) -> Fields:
    node = error.nodes[0] if error.nodes else None
    if not isinstance(node, VariableDefinitionNode):
        return _plain_error(error)
    name = node.variable.name.value
    return {
        "extensions": {
            "value": variables.get(name),
            "problems": [{"path": [], "explanation": error.message}],
        },
        "locations": _locations(error),
        "message": f"Variable ${name} of type {print_ast(node.type)} was provided invalid value",
    }


def _field_error(error: GraphQLError) -> Fields:
    original = error.original_error
    if not isinstance(original, GitHubGraphQLError):
        raise original or RuntimeError(f"sandbox GraphQL answer broke: {error.message}")
    return {
        "type": original.type,
        "path": error.path,
        "locations": _locations(error),
        "message": original.message,
    }


def _response(result: ExecutionResult, variables: Fields) -> Fields:
    errors = result.errors or []
    # Errors without a path are about the request's variables: nothing ran.
    if any(error.path is None for error in errors):
        return {"errors": [_variable_error(error, variables) for error in errors]}
    answer: Fields = {"data": result.data}
    if errors:
        answer["errors"] = [_field_error(error) for error in errors]
    return answer
