"""GitHub's GraphQL API, ``POST /github/graphql``, answered from the world.

Queries run on graphql-core against ``github_schema.graphql``, a subset of GitHub's
schema with the same names and types, so the sandbox accepts only what GitHub
would and rejects the rest with the errors GitHub gives:

* a body that is not JSON: HTTP 400 ``Problems parsing JSON``;
* a query that does not validate: HTTP 200, ``errors`` only, in graphql-ruby's
  wording with its ``path`` (document path) and ``extensions.code``
  (``undefinedField``, ``argumentNotAccepted``, ``missingRequiredArguments``,
  ``selectionMismatch``); rarer validation errors keep graphql-core's message;
* a problem while answering (a missing repository, a connection without
  ``first``/``last``, a bad cursor): HTTP 200 with the rest of ``data`` and an
  error carrying GitHub's ``type`` and the response ``path``. Revision syntax
  the sandbox does not follow (``HEAD~1:Pipfile``) is a ``SANDBOX_UNSUPPORTED``
  error there rather than a null that would read as a missing file.

A resolver failing any other way is a sandbox bug and becomes a 500, not a
quietly wrong answer.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any, TypeVar

from graphql import (
    ASTValidationRule,
    DirectiveNode,
    DocumentNode,
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLError,
    GraphQLInt,
    GraphQLInterfaceType,
    GraphQLNamedType,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLSchema,
    GraphQLSyntaxError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationRule,
    VariableDefinitionNode,
    build_schema,
    execute_sync,
    get_named_type,
    get_operation_ast,
    is_enum_type,
    is_input_type,
    is_leaf_type,
    is_required_argument,
    parse,
    print_ast,
    specified_rules,
    type_from_ast,
    validate,
    value_from_ast,
)
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from pipfleet.sandbox.app import GITHUB
from pipfleet.sandbox.github_shapes import Site, iso
from pipfleet.sandbox.gitstore import Blob, Commit, Tree, TreeEntry
from pipfleet.sandbox.world import BOT_LOGIN, GRAPHQL_LIMIT, Repository, World, node_id

Fields = dict[str, Any]
T = TypeVar("T")

DOCS = "https://docs.github.com/graphql"
MAX_PAGE = 100
TEXT_LIMIT = 1024 * 1024  # Blob.text is null (isTruncated) above this many bytes
BINARY_SNIFF = 8000  # git calls a blob binary if a NUL byte is among its first 8000 bytes
_CURSOR = re.compile(r"cursor:v2:(\d+)")
# Revision syntax git accepts and the sandbox does not follow: ancestry, reflog, peeling.
_UNSUPPORTED_REVISION = re.compile(r"[~^@{}]")


class GitHubGraphQLError(Exception):
    """A field that cannot be answered, reported as GitHub does: ``type`` and message."""

    def __init__(self, type_: str, message: str):
        super().__init__(message)
        self.type = type_
        self.message = message


@cache
def sandbox_schema() -> GraphQLSchema:
    sdl = resources.files(__package__).joinpath("github_schema.graphql").read_text("utf-8")
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
    try:
        document = parse(query)
    except GraphQLSyntaxError as error:
        return {"errors": [_plain_error(error)]}
    invalid = validate(schema, document, _RULES)
    if invalid:
        return {"errors": [_static_error(error) for error in invalid]}
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


# Answers: one dict per GraphQL object, read by graphql-core's default resolver.
# Values that take arguments or cost work are callables, resolved only if selected.


@dataclass(frozen=True)
class _Cost:
    points: int
    node_count: int


@dataclass(frozen=True)
class _Answers:
    world: World
    site: Site
    cost: _Cost

    def query(self) -> Fields:
        return {
            "organization": lambda _info, login: self.organization(login),
            "rateLimit": lambda _info: self.rate_limit(),
            "repository": lambda _info, owner, name: self.repository(self.find(owner, name)),
            "viewer": {"login": BOT_LOGIN},
        }

    def find(self, owner: str, name: str) -> Repository:
        repo = self.world.repository(owner, name)
        if repo is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to a Repository with the name '{owner}/{name}'."
            )
        return repo

    def organization(self, login: str) -> Fields:
        owner = next((key for key in self.world.orgs if key.lower() == login.lower()), None)
        if owner is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to an Organization with the login of '{login}'."
            )
        return {
            "__typename": "Organization",
            "login": owner,
            "repositories": lambda info, **args: self.repositories(owner, info, args),
            "repository": lambda _info, name: self.repository(self.find(owner, name)),
            "url": f"{self.site.html}/{owner}",
        }

    def repositories(self, owner: str, info: GraphQLResolveInfo[Any], args: Fields) -> Fields:
        repos = [
            repo
            for repo in self.world.orgs[owner].values()
            if args.get("isArchived") in (None, repo.archived)
            and args.get("isFork") in (None, repo.fork)
            and args.get("visibility") in (None, repo.visibility.upper())
            and args.get("privacy")
            in (None, "PUBLIC" if repo.visibility == "public" else "PRIVATE")
        ]
        order = args.get("orderBy") or {"field": "CREATED_AT", "direction": "ASC"}
        key = _ORDER_KEYS[order["field"]]
        repos.sort(key=lambda repo: (key(repo), repo.id), reverse=order["direction"] == "DESC")
        return _connection(repos, info, args, self.repository)

    def repository(self, repo: Repository) -> Fields:
        return {
            "createdAt": iso(repo.created_at),
            "databaseId": repo.id,
            "defaultBranchRef": lambda _info: self.ref(repo, f"refs/heads/{repo.default_branch}"),
            "id": node_id("Repository", repo.id),
            "isArchived": repo.archived,
            "isDisabled": repo.disabled,
            "isEmpty": not repo.refs,
            "isFork": repo.fork,
            "isPrivate": repo.visibility != "public",
            "name": repo.name,
            "nameWithOwner": repo.full_name,
            "object": lambda _info, expression=None, oid=None: self.object(repo, expression, oid),
            "owner": lambda _info: self.organization(repo.owner),
            "pullRequest": lambda _info, number: self.pull_request(repo, number),
            "pushedAt": iso(repo.pushed_at) if repo.pushed_at else None,
            "ref": lambda _info, qualifiedName: self.ref(repo, qualifiedName),
            "repositoryTopics": lambda info, **args: _connection(
                repo.topics, info, args, self.topic
            ),
            "url": self.site.repo_html(repo),
            "visibility": repo.visibility.upper(),
        }

    def pull_request(self, repo: Repository, number: int) -> Fields:
        pull = repo.pulls.get(number)
        if pull is None:
            raise GitHubGraphQLError(
                "NOT_FOUND", f"Could not resolve to a PullRequest with the number of {number}."
            )
        state = "MERGED" if pull.merged else pull.state.upper()
        return {
            "headRefName": pull.head,
            "merged": pull.merged,
            "number": pull.number,
            "state": state,
            "url": f"{self.site.repo_html(repo)}/pull/{pull.number}",
        }

    def topic(self, name: str) -> Fields:
        return {"topic": {"name": name}, "url": f"{self.site.html}/topics/{name}"}

    def ref(self, repo: Repository, qualified_name: str) -> Fields | None:
        # A full name matches exactly; a short one is a branch, else a tag, as on GitHub.
        candidates = (
            [qualified_name.removeprefix("refs/")]
            if qualified_name.startswith("refs/")
            else [f"heads/{qualified_name}", f"tags/{qualified_name}"]
        )
        name = next((candidate for candidate in candidates if candidate in repo.refs), None)
        if name is None:
            return None
        kind, _, short = name.partition("/")
        return {
            "name": short,
            "prefix": f"refs/{kind}/",
            "target": lambda _info: self.git_object(repo, repo.refs[name], ""),
        }

    def object(self, repo: Repository, expression: str | None, oid: str | None) -> Fields | None:
        """By ``oid``, or by ``expression`` "<rev>" or "<rev>:<path>" (HEAD: default branch)."""
        if oid is not None:
            return self.git_object(repo, oid, "")
        if expression is None:
            return None
        revision, colon, path = expression.partition(":")
        if _UNSUPPORTED_REVISION.search(revision):
            raise GitHubGraphQLError(
                "SANDBOX_UNSUPPORTED",
                f"The sandbox resolves HEAD, branch and tag names and full commit shas,"
                f" not '{revision}'.",
            )
        sha = repo.head if revision == "HEAD" else self.world.resolve(repo, revision)
        if sha is None or not colon:
            return self.git_object(repo, sha, "") if sha else None
        commit = self.world.store.commit(sha)
        entry = self.world.store.entry_at(commit.tree, path) if commit else None
        return self.git_object(repo, entry.sha, path.strip("/")) if entry else None

    def git_object(self, repo: Repository, sha: str, path: str) -> Fields | None:
        """A commit, tree or blob; ``path`` is where a tree sits, for its entries' paths."""
        found = self.world.store.get(sha)
        if isinstance(found, Commit):
            return self.commit(repo, sha, found)
        if isinstance(found, Tree):
            return self.tree(repo, sha, found, path)
        return _blob(sha, found.data) if isinstance(found, Blob) else None

    def commit(self, repo: Repository, sha: str, commit: Commit) -> Fields:
        return {
            "__typename": "Commit",
            "abbreviatedOid": sha[:7],
            "committedDate": iso(commit.committer.date),
            "message": commit.message,
            "oid": sha,
            "tree": lambda _info: self.git_object(repo, commit.tree, ""),
            "url": f"{self.site.repo_html(repo)}/commit/{sha}",
        }

    def tree(self, repo: Repository, sha: str, tree: Tree, path: str) -> Fields:
        return {
            "__typename": "Tree",
            "abbreviatedOid": sha[:7],
            "entries": lambda _info: [self.tree_entry(repo, entry, path) for entry in tree.entries],
            "oid": sha,
        }

    def tree_entry(self, repo: Repository, entry: TreeEntry, folder: str) -> Fields:
        path = f"{folder}/{entry.name}" if folder else entry.name
        return {
            "mode": int(entry.mode, 8),  # GitHub gives the octal git mode as a number
            "name": entry.name,
            "object": lambda _info: self.git_object(repo, entry.sha, path),
            "oid": entry.sha,
            "path": path,
            "size": self.world.store.size(entry.sha) if entry.type == "blob" else 0,
            "type": entry.type,
        }

    def rate_limit(self) -> Fields:
        # GitHub reports the budget with this query paid for; the middleware adds its
        # first point only once the answer is sent.
        used = self.world.rate_used["graphql"] + 1
        reset = (int(time.time()) // 3600 + 1) * 3600
        return {
            "cost": self.cost.points,
            "limit": GRAPHQL_LIMIT,
            "nodeCount": self.cost.node_count,
            "remaining": max(GRAPHQL_LIMIT - used, 0),
            "resetAt": iso(datetime.fromtimestamp(reset, UTC)),
            "used": used,
        }


# The world keeps one time for pushes and updates, and no stars.
_ORDER_KEYS: dict[str, Callable[[Repository], Any]] = {
    "CREATED_AT": lambda repo: repo.created_at,
    "NAME": lambda repo: repo.name.lower(),
    "PUSHED_AT": lambda repo: repo.pushed_at or repo.created_at,
    "STARGAZERS": lambda repo: 0,
    "UPDATED_AT": lambda repo: repo.pushed_at or repo.created_at,
}


def _blob(sha: str, data: bytes) -> Fields:
    binary = b"\0" in data[:BINARY_SNIFF]
    truncated = len(data) > TEXT_LIMIT
    return {
        "__typename": "Blob",
        "abbreviatedOid": sha[:7],
        "byteSize": len(data),
        "isBinary": binary,
        "isTruncated": truncated,
        "oid": sha,
        "text": None if binary or truncated else lambda _info: data.decode(errors="replace"),
    }


def _cursor(index: int) -> str:
    return base64.b64encode(f"cursor:v2:{index + 1}".encode()).decode()


def _cursor_position(cursor: str) -> int:
    """The 1-based position a cursor names."""
    try:
        match = _CURSOR.fullmatch(base64.b64decode(cursor, validate=True).decode())
    except (binascii.Error, UnicodeDecodeError):
        match = None
    if match is None:
        raise GitHubGraphQLError(
            "INVALID_CURSOR_ARGUMENTS", f"`{cursor}` does not appear to be a valid cursor."
        )
    return int(match.group(1))


def _connection(
    items: Sequence[T], info: GraphQLResolveInfo[Any], args: Fields, node: Callable[[T], Fields]
) -> Fields:
    """A Relay connection over ``items``, paged by first/after/last/before as on GitHub."""
    name = info.field_name
    first, last = args.get("first"), args.get("last")
    # Counting needs no page; listing does.
    if first is None and last is None and {"nodes", "edges"} & _selected(info):
        raise GitHubGraphQLError(
            "MISSING_PAGINATION_BOUNDARIES",
            f"You must provide a `first` or `last` value to properly paginate the `{name}`"
            " connection.",
        )
    for argument, value in (("first", first), ("last", last)):
        if value is not None and value > MAX_PAGE:
            raise GitHubGraphQLError(
                "EXCESSIVE_PAGINATION",
                f"Requesting {value} records on the `{name}` connection exceeds the"
                f" `{argument}` limit of {MAX_PAGE} records.",
            )
    after, before = args.get("after"), args.get("before")
    start = min(_cursor_position(after), len(items)) if after is not None else 0
    end = min(_cursor_position(before) - 1, len(items)) if before is not None else len(items)
    end = max(end, start)
    if first is not None:
        end = min(end, start + max(first, 0))
    if last is not None:
        start = max(start, end - max(last, 0))
    window = range(start, end)
    return {
        "edges": lambda _info: [{"cursor": _cursor(i), "node": node(items[i])} for i in window],
        "nodes": lambda _info: [node(items[i]) for i in window],
        "pageInfo": {
            "endCursor": _cursor(end - 1) if window else None,
            "hasNextPage": end < len(items),
            "hasPreviousPage": start > 0,
            "startCursor": _cursor(start) if window else None,
        },
        "totalCount": len(items),
    }


def _selected(info: GraphQLResolveInfo[Any]) -> set[str]:
    """The names of the fields selected under the field being resolved."""
    names: set[str] = set()

    def visit(selection_set: SelectionSetNode | None) -> None:
        for selection in selection_set.selections if selection_set else ():
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                visit(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                visit(info.fragments[selection.name.value].selection_set)

    for field_node in info.field_nodes:
        visit(field_node.selection_set)
    return names


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
