"""How a worker process stops: SIGTERM, SIGINT or SIGHUP, at any moment of its life.

Raising from a signal handler (the CLI's default, so exit handlers run) is not safe in a
process that is starting an event loop: the exception can land in a finaliser
(``__del__``), where Python prints it and carries on, and the worker runs on as if never
asked to stop. So the worker notes a stop signal in an event until its loop is up, and
from then on the loop turns each signal into cancelling the worker's task, which is
procrastinate's graceful stop (finish the running passes, then return).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def note_stop_signals() -> threading.Event:
    """From now until the loop takes over, a stop signal only sets the returned event."""
    requested = threading.Event()
    for stop in STOP_SIGNALS:
        signal.signal(stop, lambda _signum, _frame: requested.set())
    return requested


def cancel_on_stop_signals(task: asyncio.Future[Any]) -> None:
    """From now on, a stop signal cancels ``task``; a second one cancels its graceful wait."""
    loop = asyncio.get_running_loop()
    for stop in STOP_SIGNALS:
        loop.add_signal_handler(stop, task.cancel)
