"""The server's prompts: two workflows an engineer starts from an assistant. Pure.

They tell the assistant which tools to call and in what order, so that its answer rests
on pipfleet's findings and the organisation's guide rather than on what it remembers. A
pasted Pipfile comes back with the secrets of its URLs masked, like every other answer.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from pipfleet.safetext import mask_credentials

FIX_PIPFILE = "Fix a pasted Pipfile so that its private packages resolve from CodeArtifact."
UPDATE_PACKAGE = "Update a CodeArtifact package to a new version in this project, safely."


def fix_pipfile(
    pipfile: Annotated[str, Field(description="The Pipfile's text.")],
) -> str:
    return f"""\
Fix this Pipfile so that every private package resolves from our CodeArtifact index.

1. Call the pipfleet tool `check_pipfile` with the Pipfile below (and its Pipfile.lock, if I
   paste one later). Do not judge the entries yourself: pipfleet knows which packages are
   private.
2. For each finding that needs action, tell me in one or two sentences what is wrong and
   why it matters, from the finding's `why`, then what to do, from its `what_to_do`.
3. If the answer has a `fixed_pipfile`, show its `diff` and the whole fixed Pipfile. Keep
   every other line as it is. Never write a token into a source URL: it reads
   `${{CODEARTIFACT_AUTH_TOKEN}}`.
4. End with the commands to finish: export the token, `pipenv lock`, `pipfleet check`, and
   commit Pipfile and Pipfile.lock together. The resource
   pipfleet://guides/codeartifact-pipenv has the details.

Pipfile:

```toml
{mask_credentials(pipfile)}
```
"""


def update_package(
    package: Annotated[str, Field(description="The private package, e.g. orb-common.")],
    version: Annotated[str, Field(description="The version to move to, e.g. 2.2.0.")],
) -> str:
    return f"""\
Walk me through updating the private package {package} to version {version} in my pipenv
project, following our standards (pipfleet://guides/project-standards and
pipfleet://guides/codeartifact-pipenv).

1. Call `package_usage` for {package}: check that CodeArtifact has {version} (if not, stop
   and say so: it must be published first) and tell me which repositories use which version.
2. The steps, in this order:
   - export the token: `export CODEARTIFACT_AUTH_TOKEN=$(aws codeartifact
     get-authorization-token --domain <domain> --domain-owner <owner> --query
     authorizationToken --output text)`;
   - `pipenv install --index codeartifact "{package}=={version}"` (always with
     `--index codeartifact`: without it pipenv drops the entry's index and looks on PyPI),
     or edit the pin keeping `index = "codeartifact"` and run `pipenv lock`;
   - `pipfleet check` (or the pre-commit hook) to confirm nothing needs action; if it names a
     private package that arrives as a dependency (private-transitive), list it too with
     `index = "codeartifact"`;
   - commit Pipfile and Pipfile.lock together; CI installs with `pipenv sync`.
3. If I paste my Pipfile, run `check_pipfile` on it before and after the change.
"""
