"""The GitHub-style validation rule: field and argument errors in graphql-ruby's words."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    FieldNode,
    FragmentDefinitionNode,
    GraphQLArgument,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    ValidationRule,
    get_named_type,
    is_enum_type,
    is_leaf_type,
    is_required_argument,
    specified_rules,
)

from pipfleet.sandbox.github_graphql.errors import Fields

# Validation errors in GitHub's (graphql-ruby's) words.


def _document_path(nodes: Sequence[Any]) -> list[str]:
    """graphql-ruby's path to a node: operation or fragment, then fields by response key."""
    path: list[str] = []
    for node in nodes:
        if isinstance(node, OperationDefinitionNode):
            named = f" {node.name.value}" if node.name else ""
            path.append(node.operation.value + named)
        elif isinstance(node, FragmentDefinitionNode):
            path.append(f"fragment {node.name.value}")
        elif isinstance(node, InlineFragmentNode):
            condition = node.type_condition
            path.append(f"... on {condition.name.value}" if condition else "...")
        elif isinstance(node, FieldNode):
            path.append((node.alias or node.name).value)
    return path


class _GitHubFieldRule(ValidationRule):
    """The field and argument checks clients meet most, worded and coded as GitHub does."""

    def enter_field(
        self, node: FieldNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]
    ) -> None:
        parent_type = self.context.get_parent_type()
        if parent_type is None:  # under an unknown field or type, reported already
            return
        path = _document_path([*ancestors, node])
        name = node.name.value
        field = self.context.get_field_def()
        if field is None:
            self._report(
                f"Field '{name}' doesn't exist on type '{parent_type.name}'",
                node,
                path,
                {"code": "undefinedField", "typeName": parent_type.name, "fieldName": name},
            )
            return
        self._check_arguments(node, "Field", field.args, path)
        named = get_named_type(field.type)
        selections = node.selection_set.selections if node.selection_set else ()
        node_name = f"field '{name}'"
        extensions = {"code": "selectionMismatch", "nodeName": node_name, "typeName": named.name}
        if is_leaf_type(named) and selections:
            shown = ", ".join(_selection_label(selection) for selection in selections)
            kind = "enums" if is_enum_type(named) else "scalars"
            self._report(
                f"Selections can't be made on {kind} ({node_name} returns {named.name}"
                f" but has selections [{shown}])",
                node,
                path,
                extensions,
            )
        elif not is_leaf_type(named) and not selections:
            self._report(
                f"Field must have selections ({node_name} returns {named.name} but has no"
                f" selections. Did you mean '{name} {{ ... }}'?)",
                node,
                path,
                extensions,
            )

    def enter_directive(
        self, node: DirectiveNode, _key: Any, _parent: Any, _path: Any, ancestors: list[Any]
    ) -> None:
        directive = self.context.get_directive()
        if directive is not None:  # an unknown directive is KnownDirectivesRule's to report
            self._check_arguments(node, "Directive", directive.args, _document_path(ancestors))

    def _check_arguments(
        self,
        node: FieldNode | DirectiveNode,
        kind: str,
        defined: dict[str, GraphQLArgument],
        path: list[str],
    ) -> None:
        name = node.name.value
        given = {argument.name.value: argument for argument in node.arguments or ()}
        for argument_name, argument in given.items():
            if argument_name not in defined:
                self._report(
                    f"{kind} '{name}' doesn't accept argument '{argument_name}'",
                    argument,
                    path,
                    {
                        "code": "argumentNotAccepted",
                        "name": name,
                        "typeName": kind,
                        "argumentName": argument_name,
                    },
                )
        missing = [
            argument_name
            for argument_name, argument in defined.items()
            if is_required_argument(argument) and argument_name not in given
        ]
        if missing:
            self._report(
                f"{kind} '{name}' is missing required arguments: {', '.join(missing)}",
                node,
                path,
                {
                    "code": "missingRequiredArguments",
                    "className": kind,
                    "name": name,
                    "arguments": ", ".join(missing),
                },
            )

    def _report(self, message: str, node: Any, path: list[str], extensions: Fields) -> None:
        self.report_error(GraphQLError(message, node, path=path, extensions=extensions))


def _selection_label(selection: Any) -> str:
    if isinstance(selection, InlineFragmentNode) and selection.type_condition:
        return f'"... on {selection.type_condition.name.value} {{ ... }}"'
    return f'"{selection.name.value}"' if hasattr(selection, "name") else '"..."'


_REPLACED = {
    "FieldsOnCorrectTypeRule",
    "KnownArgumentNamesRule",
    "ProvidedRequiredArgumentsRule",
    "ScalarLeafsRule",
}
_RULES: list[type[ASTValidationRule]] = [
    _GitHubFieldRule,
    *(rule for rule in specified_rules if rule.__name__ not in _REPLACED),
]
