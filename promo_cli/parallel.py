"""Work done beside the main one in a second process, on a large run.

Most of a settlement is Python and pandas work that holds the GIL, so a second thread does
not make it faster; a second process does. A forked child starts with the parent's memory
(copy-on-write: the ledgers are not copied or serialised), runs one function and sends its
result back pickled through a pipe. Where ``fork`` is missing (Windows) or not safe to rely
on (macOS), the function simply runs in the calling process.
"""

from __future__ import annotations

import gc
import os
import pickle
import sys
import traceback
from contextlib import contextmanager
from typing import Any, Callable

@contextmanager
def collector_paused():
    """Pause Python's cyclic garbage collector for a walk that creates an object or two per
    ledger row (lots, events, records) and no cycles: with a million rows the collector would
    otherwise scan the growing heap again and again (about 45 % of the points walk's time)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


# Below this many ledger rows, work is not worth a second process.
APART_ROWS = 2_000


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform.startswith("linux")


class Apart:
    """``fn(*args)`` running in a forked child (or already run here); :meth:`result` waits for
    it and returns its value or raises what it raised."""

    def __init__(self, fn: Callable[..., Any], *args: Any, fork: bool = True) -> None:
        self.pid: int | None = None
        self.outcome: tuple[bool, Any] | None = None
        if not (fork and can_fork()):
            self.outcome = _run(fn, args, in_child=False)
            return
        read_end, write_end = os.pipe()
        # The child must not copy what it only reads: the collector walking every object would
        # touch (and so copy) their pages, so the objects of now are moved out of its sight.
        gc.freeze()
        try:
            pid = os.fork()
        except OSError:                                 # no process to spare: do it here
            gc.unfreeze()
            os.close(read_end)
            os.close(write_end)
            self.outcome = _run(fn, args, in_child=False)
            return
        if pid == 0:                                    # the child: run, report, leave at once
            try:
                os.close(read_end)
                with os.fdopen(write_end, "wb") as pipe:
                    pipe.write(_pickled(_run(fn, args, in_child=True)))
            finally:
                os._exit(0)                             # no atexit handlers, no parent's buffers
        gc.unfreeze()
        os.close(write_end)
        self.pid, self.read_end = pid, read_end

    def result(self) -> Any:
        if self.outcome is None:
            self.outcome = self._collect()
        ok, value = self.outcome
        if not ok:
            raise value
        return value

    def _collect(self) -> tuple[bool, Any]:
        with os.fdopen(self.read_end, "rb") as pipe:
            data = pipe.read()                          # read before waiting: the pipe is small
        _, status = os.waitpid(self.pid, 0)
        try:
            return pickle.loads(data)
        except Exception:
            return False, RuntimeError(f"a worker process ended without its result "
                                       f"(exit status {os.waitstatus_to_exitcode(status)})")


def _run(fn: Callable[..., Any], args: tuple, in_child: bool) -> tuple[bool, Any]:
    try:
        return True, fn(*args)
    except Exception as exc:                            # raised again where the result is asked for
        if in_child:                                    # the child's traceback would be lost
            exc.add_note("in the worker process:\n" + "".join(traceback.format_exception(exc)).rstrip())
        return False, exc


def _pickled(outcome: tuple[bool, Any]) -> bytes:
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as exc:
        return pickle.dumps((False, RuntimeError(f"a worker's result could not be sent back: {exc}")))
