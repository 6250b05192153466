"""The API's pagination: limit and offset, with the limit capped."""

from __future__ import annotations

from rest_framework.pagination import LimitOffsetPagination


class CappedLimitOffsetPagination(LimitOffsetPagination):
    """`?limit=` past `max_limit` is clamped to it: unbounded, one request could ask for
    the whole table, and a limit past 2**63 makes the database's OFFSET/LIMIT overflow
    (a 500). A huge `?offset=` is harmless: past the count the page is empty unqueried."""

    max_limit = 1000
