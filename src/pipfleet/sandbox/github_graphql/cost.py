"""A query's cost in rate-limit points and its node count, computed before it runs."""

from __future__ import annotations

import math
from dataclasses import dataclass

from graphql import (
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    get_named_type,
    is_input_type,
    type_from_ast,
    value_from_ast,
)

from pipfleet.sandbox.github_graphql.connections import MAX_PAGE
from pipfleet.sandbox.github_graphql.errors import Fields


@dataclass(frozen=True)
class _Cost:
    points: int
    node_count: int


# Cost, by GitHub's published rule: every connection costs one request per parent
# node it may be fetched for (the product of the page sizes above it); the query
# costs the sum of those requests / 100, rounded, at least 1. ``nodeCount`` is the
# sum of each connection's page size times its requests. Page sizes are taken as
# asked (first or last, at most 100), not as answered, as GitHub does before running.


def _cost(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation: OperationDefinitionNode,
    variables: Fields,
) -> _Cost:
    fragments = {
        definition.name.value: definition
        for definition in document.definitions
        if isinstance(definition, FragmentDefinitionNode)
    }
    values = dict(variables)
    for definition in operation.variable_definitions or ():
        name = definition.variable.name.value
        var_type = type_from_ast(schema, definition.type)
        if name not in values and definition.default_value and is_input_type(var_type):
            values[name] = value_from_ast(definition.default_value, var_type)
    requests = nodes = 0

    def walk(selection_set: SelectionSetNode, parent: GraphQLNamedType | None, times: int) -> None:
        nonlocal requests, nodes
        for selection in selection_set.selections:
            if isinstance(selection, FieldNode):
                fields = (
                    parent.fields
                    if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType)
                    else {}
                )
                field = fields.get(selection.name.value)
                if field is None or selection.selection_set is None:
                    continue
                child = get_named_type(field.type)
                if child.name.endswith("Connection"):
                    size = _page_size(selection, values)
                    requests += times
                    nodes += times * size
                    walk(selection.selection_set, child, times * size)
                else:
                    walk(selection.selection_set, child, times)
            elif isinstance(selection, FragmentSpreadNode):
                fragment = fragments[selection.name.value]
                walk(
                    fragment.selection_set,
                    schema.get_type(fragment.type_condition.name.value),
                    times,
                )
            elif isinstance(selection, InlineFragmentNode):
                condition = selection.type_condition
                walk(
                    selection.selection_set,
                    schema.get_type(condition.name.value) if condition else parent,
                    times,
                )

    walk(operation.selection_set, schema.query_type, 1)
    return _Cost(max(1, math.floor(requests / 100 + 0.5)), nodes)


def _page_size(field: FieldNode, variables: Fields) -> int:
    for argument in field.arguments or ():
        if argument.name.value in ("first", "last"):
            value = value_from_ast(argument.value, GraphQLInt, variables)
            if isinstance(value, int):
                return min(max(value, 0), MAX_PAGE)
    return 0
