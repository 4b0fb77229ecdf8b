"""Matching coordinates by name: states and inputs travel with names, never by position alone."""

from __future__ import annotations

from collections.abc import Sequence


def name_indices(available: Sequence[str], wanted: Sequence[str]) -> list[int]:
    """Positions of the `wanted` names in `available`, in the order of `wanted`.

    Raises KeyError naming every missing name.
    """
    index = {name: i for i, name in enumerate(available)}
    missing = [name for name in wanted if name not in index]
    if missing:
        raise KeyError(f"names {missing} not among {list(available)}")
    return [index[name] for name in wanted]
