"""Byte streams whose close() always reaches what they wrap, started or not.

A generator that was never started ignores close(): its `finally` never runs. A download the
browser drops before its first byte would then leave the scan under it (and its threads)
running until garbage collection. `primed` starts a generator up to a first, empty `yield`, so
that from then on closing it runs its clean-up.
"""

import functools
from collections.abc import Callable, Generator


def primed[**P, T](
    generator_function: Callable[P, Generator[T | None, None, None]],
) -> Callable[P, Generator[T | None, None, None]]:
    """Decorate a generator function whose body starts with a bare `yield` inside its `try`."""

    @functools.wraps(generator_function)
    def start(*args: P.args, **kwargs: P.kwargs) -> Generator[T | None, None, None]:
        generator = generator_function(*args, **kwargs)
        next(generator)  # the bare `yield`: its clean-up now runs on close
        return generator

    return start
