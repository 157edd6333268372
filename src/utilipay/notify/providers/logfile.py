"""The provider when no gateway is configured: one JSON line per message, appended to a
file, so an operator (and the demo) sees what would have been sent.

Each line is one ``write`` on a file opened ``O_APPEND``: lines from several
workers never interleave.
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import ClassVar

import orjson

from utilipay.clock import to_shanghai_iso
from utilipay.notify.providers.base import Outcome
from utilipay.notify.schemas import Notification


def _append(path: Path, line: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line)
    finally:
        os.close(fd)


@dataclass(frozen=True, slots=True)
class LogFileProvider:
    path: Path
    name: ClassVar[str] = "log-file"

    def destination(self, notification: Notification) -> str:
        return str(self.path)

    async def send(self, notification: Notification, now: datetime) -> Outcome:
        line = {
            "id": notification.id,
            "at": to_shanghai_iso(now),
            "kind": notification.recipient_kind,
            "to": notification.address,
            "template": notification.template,
            "language": notification.language,
            "subject": notification.own_subject,
            "text": notification.own_text,
        }
        await asyncio.to_thread(_append, self.path, orjson.dumps(line) + b"\n")
        return Outcome(acknowledged=True)
