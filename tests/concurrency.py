"""Run calls at the same moment on real parallel connections (one thread and one database
connection each), for tests of races between committed transactions."""

import threading
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from django.db import connection

Result = TypeVar("Result")
# Every wait in a racing test is bounded: a thread still running after this fails the test.
JOIN_TIMEOUT = 30
_UNFINISHED = object()


def run_at_once(
    calls: Sequence[Callable[[], Result]],
    *,
    expected: type[BaseException] | tuple[type[BaseException], ...] = (),
    tenant: Any = None,
) -> list[Result | BaseException]:
    """Each call's result or the `expected` exception it raised, in call order. A barrier
    releases the threads together (each in `tenant`'s schema when given, on its own
    connection, closed afterwards); they join with a timeout. A thread still running, or one
    that raised anything else, fails the test (the first such error is raised here)."""
    barrier = threading.Barrier(len(calls))
    outcomes: list[Any] = [_UNFINISHED] * len(calls)
    unexpected: list[BaseException] = []

    def run(index: int) -> None:
        try:
            if tenant is not None:
                connection.set_tenant(tenant)
            barrier.wait(timeout=JOIN_TIMEOUT)
            outcomes[index] = calls[index]()
        except expected as error:
            outcomes[index] = error
        except BaseException as error:
            unexpected.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=JOIN_TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a racing call did not finish in time"
    if unexpected:
        raise unexpected[0]
    return outcomes
