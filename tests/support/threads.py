"""Races on purpose: many threads released at the same instant."""

from __future__ import annotations

import threading
from collections.abc import Callable


def in_parallel(count: int, call: Callable[[int], object],
                join_s: float = 120) -> tuple[list, list[BaseException]]:
    """Run ``call(k)`` for each k below ``count`` in threads released together; what they
    returned and what they raised."""
    barrier, results, errors = threading.Barrier(count), [], []

    def work(k: int) -> None:
        barrier.wait()
        try:
            results.append(call(k))
        except BaseException as exc:  # collected and asserted on by the caller
            errors.append(exc)

    workers = [threading.Thread(target=work, args=(k,)) for k in range(count)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(join_s)
    return results, errors
