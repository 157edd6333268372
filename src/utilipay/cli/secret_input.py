"""Secrets for commands, kept off the command line (``ps`` and shell history show it).

Every secret option (``--secret``, ``--key``) is given one of these ways:

- ``--secret-file PATH``: the file's first line;
- ``--secret -``: standard input's first line (a prompt without echo on a terminal);
- an environment variable, for the commands that need a secret to start at all (adding a
  channel or a remote biller, the simulators). A rotation (``update``, ``head-end set``)
  never takes one from the environment: a variable left set must not rotate a secret when
  someone only meant to change a URL;
- ``--generate-secret``: a new random one, printed once;
- ``--secret VALUE`` still works, with a warning on stderr.
"""

from __future__ import annotations

import getpass
import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from utilipay.cli.runtime import console, err_console

GENERATED_BYTES = 32  # 43 URL-safe characters, well above every minimum length


def secret_option(name: str, what: str, envvar: str | None = None) -> Any:
    """The ``--NAME`` option: ``-`` reads standard input; ``envvar`` where a secret is needed
    to start (see the module's docstring)."""
    environment = f" [env var: {envvar}]" if envvar else ""
    return typer.Option(
        f"--{name}",
        help=f"{what}: '-' reads it from standard input; a value here is accepted with a "
        f"warning (ps and shell history show it): prefer --{name}-file{environment}",
    )


def file_option(name: str) -> Any:
    return typer.Option(f"--{name}-file", help=f"read the {name} from this file's first line")


def generate_option(name: str) -> Any:
    return typer.Option(f"--generate-{name}", help=f"make a new random {name} and print it once")


def read_secret(
    name: str, value: str | None, file: Path | None, generate: bool, envvar: str | None = None
) -> str | None:
    """The secret the command was given for its ``--NAME`` option (``None``: none was);
    ``envvar`` is read when no option gives it."""
    given = [f"--{name}" if value is not None else "", f"--{name}-file" if file else "",
             f"--generate-{name}" if generate else ""]  # fmt: skip
    if len([g for g in given if g]) > 1:
        raise typer.BadParameter(f"give one of {', '.join(g for g in given if g)}")
    if generate:
        made = secrets.token_urlsafe(GENERATED_BYTES)
        console.print(f"generated {name} (shown only now, keep it safe): {made}", highlight=False,
                      soft_wrap=True)  # fmt: skip
        return made
    if file is not None:
        return _from_file(name, file)
    if value == "-":
        return _from_stdin(name)
    if value is not None:
        err_console.print(
            f"[yellow]warning:[/yellow] --{name} on the command line shows in ps and shell "
            f"history; use --{name}-file, --{name} - (standard input) or --generate-{name}",
            highlight=False,
        )
        return value
    return os.environ.get(envvar) or None if envvar else None


def required_secret(
    name: str, value: str | None, file: Path | None, generate: bool, envvar: str
) -> str:
    found = read_secret(name, value, file, generate, envvar)
    if found is None:
        raise typer.BadParameter(
            f"give the {name}: --{name}-file PATH, --{name} - (standard input), ${envvar} "
            f"or --generate-{name}",
            param_hint=f"--{name}",
        )
    return found


def _first_line(text: str, name: str, where: str) -> str:
    line = text.splitlines()[0].strip() if text.strip() else ""
    if not line:
        raise typer.BadParameter(f"{where} holds no {name}", param_hint=f"--{name}")
    return line


def _from_file(name: str, path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
        loose = path.stat().st_mode & 0o077
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        hint = f"--{name}-file"
        raise typer.BadParameter(f"cannot read {path}: {reason}", param_hint=hint) from None
    if loose:
        err_console.print(
            f"[yellow]warning:[/yellow] {path} can be read by other users (chmod 600 it)",
            highlight=False,
        )
    return _first_line(text, name, str(path))


def _from_stdin(name: str) -> str:
    text = getpass.getpass(f"{name}: ") if sys.stdin.isatty() else sys.stdin.readline()
    return _first_line(text, name, "standard input")


SecretFile = Annotated[Path | None, file_option("secret")]
GenerateSecret = Annotated[bool, generate_option("secret")]
KeyFile = Annotated[Path | None, file_option("key")]
GenerateKey = Annotated[bool, generate_option("key")]
