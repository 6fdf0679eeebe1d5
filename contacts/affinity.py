"""Keep the threads of one export on one CPU core while it runs.

An export's thread and its read-ahead threads take turns on one interpreter lock. Left to the
scheduler they run on different cores, and every handover then moves the interpreter's working
set from one core's caches to another's: on a two-core machine that cost a third of an export's
CPU time (`make bench`). On one core the handovers are cheap, and the other cores stay free for
the rest of the machine. Only the export's own threads are pinned, and only while it runs; the
worker's other threads are untouched.

The core follows from the process id, so that the workers of one gunicorn, forked one after
another, export on different cores rather than two exports sharing one while another idles.

Linux only (`sched_setaffinity` with a thread id); elsewhere, or if the kernel refuses, nothing
changes: pinning is an optimisation, never a requirement.
"""

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)


def core_for(pid: int, cores: set[int]) -> int:
    """The core of `cores` that process `pid` exports on."""
    return sorted(cores)[pid % len(cores)]


def _pin(thread: int) -> set[int] | None:
    """Pin `thread` to one of its cores; its cores before, or None if it was left alone."""
    if not hasattr(os, "sched_setaffinity"):
        return None
    try:
        cores = os.sched_getaffinity(thread)
        if len(cores) < 2:
            return None
        os.sched_setaffinity(thread, {core_for(os.getpid(), cores)})
    except OSError:
        return None
    return cores


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Pin the calling thread, and the threads it starts inside the block, to one of its cores;
    restore the thread's cores on exit, whichever thread exits the block."""
    thread = threading.get_native_id()
    cores = _pin(thread)
    try:
        yield
    finally:
        if cores is not None:
            try:
                os.sched_setaffinity(thread, cores)
            except OSError:
                # The thread has ended (a generator closed elsewhere): nothing to restore.
                log.debug("affinity of thread %d not restored", thread)
