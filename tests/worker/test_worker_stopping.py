"""Why the worker notes stop signals instead of raising from its handler: a signal that
arrives while a finaliser runs (as one did in CI, in asyncio's transport ``__del__``)
turns a raised exit into a printed warning, and the process runs on."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Callable, Iterator
from types import FrameType

import pytest

from utilipay.cli.main import _exit_on_sigterm
from utilipay.worker.stopping import STOP_SIGNALS, note_stop_signals


@pytest.fixture(autouse=True)
def restored_handlers() -> Iterator[None]:
    before = {stop: signal.getsignal(stop) for stop in STOP_SIGNALS}
    yield
    for stop, handler in before.items():
        signal.signal(stop, handler)


class SignalledWhileFinalised:
    """Sends this process SIGTERM from its finaliser, where Python runs the handler."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGTERM)


def finalise_one() -> None:
    SignalledWhileFinalised()  # no reference kept: finalised at once
    gc.collect()


def test_an_exit_raised_by_the_handler_inside_a_finaliser_is_lost(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    unraisable: list[sys.UnraisableHookArgs] = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    handler: Callable[[int, FrameType | None], None] = _exit_on_sigterm
    signal.signal(signal.SIGTERM, handler)
    finalise_one()  # no SystemExit reaches here: Python reported it and went on
    assert [u.exc_type for u in unraisable] == [SystemExit]


def test_a_noted_stop_signal_inside_a_finaliser_is_kept() -> None:
    requested = note_stop_signals()
    finalise_one()
    assert requested.is_set()
