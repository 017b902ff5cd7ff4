"""What files can be attached to. The apps that own those rows register them in their
`ready()` (files is the bottom layer and imports none of them): a check that raises NotFound
unless the caller may see the row. Staff see every customer, appointment, document and text
of their business today; when roles narrow that, the owning app's check narrows with it."""

from collections.abc import Callable

from shared_apps.errors import NotFound

# Raises NotFound; what it answers (the row) is not used.
ParentCheck = Callable[[int], object]

_PARENTS: dict[str, ParentCheck] = {}


def register_parent(kind: str, check: ParentCheck) -> None:
    """Let files be attached to rows of `kind`; `check(row_id)` raises NotFound for a row
    that is not there (or not visible)."""
    _PARENTS[kind] = check


def require_parent(*, kind: str, parent_id: int) -> None:
    check = _PARENTS.get(kind)
    if check is None:
        raise NotFound(f"Files cannot be attached to a {kind}.")
    check(parent_id)
