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

from pipfleet.sandbox.github_graphql.endpoint import execute_request, routes, sandbox_schema
from pipfleet.sandbox.github_graphql.errors import GitHubGraphQLError

__all__ = ["GitHubGraphQLError", "execute_request", "routes", "sandbox_schema"]
