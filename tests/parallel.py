"""Run calls at the same moment on real parallel connections (one thread and one database
connection each), for tests of races between committed transactions."""

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

from django.db import connection

Result = TypeVar("Result")
JOIN_TIMEOUT = 30
_UNFINISHED = object()


def run_at_once(calls: Sequence[Callable[[], Result]], *, expected: type[Exception]) -> list[Result | Exception]:
    """Each call's result or `expected` exception, in order. A barrier releases the threads
    together; they join with a timeout, and a thread still running fails the test."""
    barrier = threading.Barrier(len(calls))
    outcomes: list = [_UNFINISHED] * len(calls)

    def run(index: int) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes[index] = calls[index]()
        except expected as error:
            outcomes[index] = error
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racing call did not finish"
    assert _UNFINISHED not in outcomes, "a racing call raised an unexpected error"
    return outcomes
