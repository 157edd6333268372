"""What runs the README's commands as an operator does (``test_readme_commands``): the
installed ``utilipay`` in a subprocess, on the embedded PostgreSQL (no URL set), in a home
of its own; the long-running ones started, checked to answer and stopped."""

from __future__ import annotations

import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import typer

from utilipay.cli.main import app
from utilipay.db import embedded

UTILIPAY = str(Path(sys.executable).with_name("utilipay"))
README = Path(__file__).resolve().parents[1] / "README.md"
TRACEBACK = re.compile(r"Traceback \(most recent call last\)|╭─+ Traceback")
CommandPath = tuple[str, ...]


@dataclass(frozen=True)
class Run:
    """A command run to its end: ``args`` after ``utilipay``, with ``{placeholders}``."""

    args: str
    exit_code: int = 0  # another code only where the README documents it
    expect: str = ""  # what its output says
    capture: dict[str, str] = field(default_factory=dict)  # placeholder: regex on its output
    stdin: str | None = None


@dataclass(frozen=True)
class Start:
    """A long-running command: started, checked to listen on ``{port}`` (or, without one, to
    stay up), stopped with SIGTERM when the scenario ends."""

    args: str
    port: str = ""
    expect: str = ""
    capture: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Do:
    """Not a command: what a channel, a utility or a day does between commands."""

    action: Callable[[Scenario], None]


Step = Run | Start | Do


def command_path(step: Step) -> CommandPath | None:
    if isinstance(step, Do):
        return None
    return _resolve(_tree(), [a for a in step.args.split() if not a.startswith("{")])[0]


def readme_commands() -> dict[CommandPath, str]:
    """Every command the README's ``sh`` blocks list, with the line that lists it."""
    found: dict[CommandPath, str] = {}
    for block in re.findall(r"```sh\n(.*?)```", README.read_text(), flags=re.S):
        for raw in block.replace("\\\n", " ").splitlines():
            line = raw.strip()
            if not line.startswith("utilipay "):
                continue
            words = line.split(" #")[0].replace(" | ", "|").split()[1:]
            for path in _resolve(_tree(), words):
                found[path] = line
    return found


def all_commands(node: Any = None, prefix: CommandPath = ()) -> set[CommandPath]:
    node = node or _tree()
    if not _is_group(node):
        return {prefix}
    return {p for name, sub in node.commands.items() for p in all_commands(sub, (*prefix, name))}


@cache
def _tree() -> Any:
    return typer.main.get_command(app)


def _is_group(node: Any) -> bool:
    return hasattr(node, "commands")  # typer's own click: no common base class to test


def _resolve(node: Any, words: list[str], prefix: CommandPath = ()) -> list[CommandPath]:
    """The commands ``words`` name: ``a|b`` names both; what follows a command is its
    arguments."""
    if not _is_group(node) or not words:
        return [prefix]
    names = words[0].split("|")
    if not all(name in node.commands for name in names):
        return [prefix]
    return [p for n in names for p in _resolve(node.commands[n], words[1:], (*prefix, n))]


class Scenario:
    """Runs steps in one home; ``values`` fill the placeholders (and grow by captures)."""

    def __init__(self, home: Path, values: dict[str, str]) -> None:
        self.home = home
        self.values = values
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("UTILIPAY_")}
        self.env.update(UTILIPAY_HOME=str(home), UTILIPAY_ACTOR="ops-test", COLUMNS="200")
        self.started: list[tuple[Start, subprocess.Popen[bytes], Path]] = []
        self.ran: list[tuple[CommandPath | None, str, float]] = []

    def args(self, text: str) -> list[str]:
        return [word.format(**self.values) for word in shlex.split(text)]

    def run_all(self, steps: list[Step]) -> None:
        try:
            for step in steps:
                began = time.monotonic()
                if isinstance(step, Do):
                    step.action(self)
                elif isinstance(step, Run):
                    self._run(step)
                else:
                    self._start(step)
                self.ran.append((command_path(step), getattr(step, "args", ""),
                                 time.monotonic() - began))  # fmt: skip
        finally:
            self.stop_all()

    def _run(self, step: Run) -> None:
        args = self.args(step.args)
        done = subprocess.run(  # noqa: S603 (our own entry point)
            [UTILIPAY, *args], env=self.env, input=step.stdin, capture_output=True, text=True,
            timeout=300, check=False,
        )  # fmt: skip
        said = f"$ utilipay {shlex.join(args)}\n{done.stdout}\n{done.stderr}"
        assert not TRACEBACK.search(done.stdout + done.stderr), said
        assert done.returncode == step.exit_code, said
        assert step.expect in " ".join((done.stdout + done.stderr).split()), said
        self._capture(step.capture, done.stdout + done.stderr, said)

    def _capture(self, patterns: dict[str, str], output: str, said: str) -> None:
        for name, pattern in patterns.items():
            found = re.search(pattern, output)
            assert found is not None, f"no {pattern!r} in\n{said}"
            self.values[name] = found[1]

    def _start(self, step: Start) -> None:
        args = self.args(step.args)
        log = self.home.parent / f"{args[0]}-{len(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(  # noqa: S603 (our own entry point)
                [UTILIPAY, *args], env=self.env, stdout=out, stderr=subprocess.STDOUT
            )
        self.started.append((step, process, log))
        deadline = time.monotonic() + 90
        port = int(self.values[step.port]) if step.port else 0
        while not (_answers(port) if port else time.monotonic() > deadline - 87):
            said = f"$ utilipay {shlex.join(args)}\n{log.read_text()}"
            assert process.poll() is None, said
            assert time.monotonic() < deadline, f"not answering after 90 s\n{said}"
            time.sleep(0.2)
        output = log.read_text()
        assert process.poll() is None and not TRACEBACK.search(output), output
        assert step.expect in " ".join(output.split()), output
        self._capture(step.capture, output, output)

    def stop_all(self) -> None:
        for step, process, log in reversed(self.started):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
            try:
                code = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                process.kill()
                raise
            output = log.read_text()
            assert not TRACEBACK.search(output), output
            assert code in (0, 128 + signal.SIGTERM, -signal.SIGTERM), (step.args, code, output)
        self.started.clear()

    def database(self) -> dict[str, Any]:
        """psycopg connection arguments for the hub's database: read from the running server,
        without joining it (which would keep it running after the hub's processes)."""
        found = embedded.status(self.home)
        assert found.socket_dir is not None, "the embedded server is not running"
        return {"host": str(found.socket_dir), "dbname": "utilipay", "user": "postgres"}


def _answers(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(0.5)
        return probe.connect_ex(("127.0.0.1", port)) == 0
