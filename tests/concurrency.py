"""Running one call from several real threads at once, each on its own database connection."""

import threading
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def race(calls: list[Callable[[], T]], *, timeout: float = 30) -> tuple[list[T], list[BaseException]]:
    """Run each of `calls` in its own thread, all released at once by a barrier; returns the
    results and the errors. Each thread closes its connection; joins are bounded by `timeout`."""
    from django.db import connection

    barrier = threading.Barrier(len(calls))
    results: list[T] = []
    errors: list[BaseException] = []

    def run(call: Callable[[], T]) -> None:
        try:
            barrier.wait(timeout=timeout)
            results.append(call())
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(call,)) for call in calls]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    assert not any(thread.is_alive() for thread in threads), "a racer did not finish in time"
    return results, errors
