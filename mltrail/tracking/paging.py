"""MLflow's paged search results: a list plus the token of the next page."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Generic, TypeVar

from mltrail.errors import InvalidParameterValue

T = TypeVar("T")


class PagedList(list[T], Generic[T]):
    """A list with MLflow's ``token`` for the next page (None: no more)."""

    def __init__(self, items: Iterable[T], token: str | None) -> None:
        super().__init__(items)
        self.token = token


def page(items: list[T], max_results: int | None, page_token: str | None) -> PagedList[T]:
    """The page of ``items`` that starts at ``page_token`` (an offset) and holds ``max_results``."""
    start = 0
    if page_token:
        try:
            start = int(page_token)
        except ValueError:
            raise InvalidParameterValue(f"Invalid page token {page_token!r}.") from None
    if max_results is None:
        return PagedList(items[start:], None)
    if max_results <= 0:
        raise InvalidParameterValue(f"Invalid max_results {max_results}: use a positive number.")
    end = start + max_results
    return PagedList(items[start:end], str(end) if end < len(items) else None)
