"""Keep the threads of one export on one CPU core while it runs.

An export's thread and its read-ahead threads take turns on one interpreter lock. Left to the
scheduler they run on different cores, and every handover then moves the interpreter's working
set from one core's caches to another's: on a two-core machine that cost a third of an export's
CPU time (`make bench`). On one core the handovers are cheap, and the other cores stay free for
the rest of the machine. Only the export's own threads are pinned, and only while it runs; the
worker's other threads are untouched.

Linux only (`sched_setaffinity` with a thread id); elsewhere, or if the kernel refuses, nothing
changes: pinning is an optimisation, never a requirement.
"""

import contextlib
import logging
import os
import threading
from collections.abc import Iterator

log = logging.getLogger(__name__)


def _current_cpu() -> int | None:
    """The core the calling thread runs on now (field 39 of /proc/thread-self/stat)."""
    try:
        with open("/proc/thread-self/stat") as stat:
            return int(stat.read().rsplit(")", 1)[1].split()[36])
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def one_core() -> Iterator[None]:
    """Pin the calling thread, and the threads it starts inside the block, to the core it runs
    on; restore the thread's cores on exit, whichever thread exits the block."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    thread = threading.get_native_id()
    try:
        cores = os.sched_getaffinity(thread)
        cpu = _current_cpu()
        if cpu is None or cpu not in cores or len(cores) < 2:
            yield
            return
        os.sched_setaffinity(thread, {cpu})
    except OSError:
        yield
        return
    try:
        yield
    finally:
        try:
            os.sched_setaffinity(thread, cores)
        except OSError:
            # The thread has ended (a generator closed elsewhere): nothing left to restore.
            log.debug("affinity of thread %d not restored", thread)
