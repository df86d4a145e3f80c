"""Run the real pipenv (and pipfleet) of this virtualenv, isolated from this machine.

``isolated_env`` keeps the caller's pip, pipenv and virtualenv settings, caches
and config out; ``run`` runs a command with a timeout and captured output;
``output`` and ``folded`` make that output readable in an assertion message.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TOKEN_VAR = "CODEARTIFACT_AUTH_TOKEN"
BIN = Path(sys.executable).parent
PIPENV = str(BIN / "pipenv")
PIPFLEET = str(BIN / "pipfleet")
PIPENV_TIMEOUT = 60
# For a Pipfile's [requires]: the interpreter PIPENV_PYTHON points pipenv at.
PYTHON_VERSION = f"{sys.version_info.major}.{sys.version_info.minor}"


def isolated_env(home: Path, token: str | None) -> dict[str, str]:
    """The caller's environment minus everything that could point pip or
    pipenv at another index, another virtualenv, or config and caches outside
    the temporary HOME (XDG_* would); with ``token`` exported as
    CODEARTIFACT_AUTH_TOKEN (None leaves it unset)."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("PIP_", "PIPENV_", "VIRTUALENV_", "XDG_"))
        and key not in {"VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME", TOKEN_VAR}
    }
    env.update(
        {
            # /dev/null makes pip skip the global (/etc/xdg/pip) and user
            # config files too, not just the one named here.
            "PIP_CONFIG_FILE": os.devnull,
            "PIP_DISABLE_PIP_VERSION_CHECK": "1",
            "PIPENV_VENV_IN_PROJECT": "1",
            "PIPENV_IGNORE_VIRTUALENVS": "1",
            "PIPENV_PYTHON": sys.executable,
            "PIPENV_YES": "1",
            "PIPENV_NOSPIN": "1",
            "CI": "1",
            "HOME": str(home),
        }
    )
    if token is not None:
        env[TOKEN_VAR] = token
    return env


def run(
    cmd: list[str], cwd: Path, env: dict[str, str], timeout: float = PIPENV_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run ``cmd`` to completion; a non-zero exit is returned, not raised.

    stdin is /dev/null so that nothing, pip asking for a password after a 401
    included, can wait for a keyboard: it reads end of file and gives up.
    """
    return subprocess.run(
        cmd,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def output(proc: subprocess.CompletedProcess[str]) -> str:
    """Exit status, stdout and stderr, for an assertion message."""
    return f"exit {proc.returncode}\n--- stdout\n{proc.stdout}\n--- stderr\n{proc.stderr}"


def folded(proc: subprocess.CompletedProcess[str]) -> str:
    """stdout and stderr with every run of whitespace folded to one space.

    pipenv prints through rich, which wraps long lines (pip's resolver log
    included) at the terminal width, so a message may be split anywhere.
    """
    return " ".join((proc.stdout + proc.stderr).split())
