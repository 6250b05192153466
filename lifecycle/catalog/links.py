"""Where a name links: the one place that builds the URL of a model, version, endpoint,
dataset, team or industry, for table cells (`lifecycle.catalog.tables`) and
templates (`link_tags`).

A link keeps the time filters of the page it is on (`window`, or `start`/`end`, and
`compare`) where the target page takes them, so a drill-down looks at the same period. A
model links to its page (`/models/<name>/`, the hub of kpiboard), a version and an
endpoint to theirs. A caller has no page, nor a filter on any page, yet: its name is not
linked.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

from django.urls import reverse

# The parameters that say which period a page shows (and whether it is compared).
TIME_KEYS = ("window", "start", "end", "compare")
Query = Mapping[str, str] | None


def _time_params(query: Query) -> dict[str, str]:
    if not query:
        return {}
    return {key: query[key] for key in TIME_KEYS if query.get(key)}


def _with_query(path: str, params: Mapping[str, str]) -> str:
    return f"{path}?{urlencode(params)}" if params else path


def model_url(model_name: str, query: Query = None) -> str:
    return _with_query(reverse("model", args=[model_name]), _time_params(query))


def version_url(model_name: str, version_name: str, query: Query = None) -> str:
    return _with_query(
        reverse("model-version", args=[model_name, version_name]), _time_params(query)
    )


def endpoint_url(model_name: str, endpoint_name: str, query: Query = None) -> str:
    return _with_query(
        reverse("model-endpoint", args=[model_name, endpoint_name]), _time_params(query)
    )


def dataset_url(dataset_name: str) -> str:
    # A dataset's versions have no window to narrow.
    return reverse("dataprep:dataset", args=[dataset_name])


def dataset_version_url(dataset_name: str, version_name: str) -> str:
    return reverse("dataprep:version", args=[dataset_name, version_name])


def team_url(team_name: str, query: Query = None) -> str:
    return _with_query(reverse("portfolio"), {"team": team_name, **_time_params(query)})


def industry_url(industry_name: str, query: Query = None) -> str:
    return _with_query(reverse("portfolio"), {"industry": industry_name, **_time_params(query)})
