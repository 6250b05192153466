"""The tests' own classification of shadow copies, in pandas from the raw rows: an event
is a copy when a shadow deployment of its version on its endpoint covered its time."""

from __future__ import annotations

import pandas as pd

from lifecycle.catalog.models import Deployment, ServingEvent

EVENT_COLUMNS = ("pk", "model_id", "model_version_id", "endpoint_id", "timestamp", "caller")


def events_frame(columns: tuple[str, ...] = EVENT_COLUMNS) -> pd.DataFrame:
    """Every stored serving event, with `shadow` (bool) from the shadow deployments."""
    events = pd.DataFrame(list(ServingEvent.objects.values(*columns)), columns=list(columns))
    spans = pd.DataFrame(
        list(
            Deployment.objects.filter(role="shadow").values(
                "model_version_id", "endpoint_id", "started_at", "ended_at"
            )
        ),
        columns=["model_version_id", "endpoint_id", "started_at", "ended_at"],
    )
    shadow = pd.Series(False, index=events.index)
    for span in spans.itertuples(index=False):
        covered = (
            (events["model_version_id"] == span.model_version_id)
            & (events["endpoint_id"] == span.endpoint_id)
            & (events["timestamp"] >= span.started_at)
        )
        if not pd.isna(span.ended_at):
            covered &= events["timestamp"] < span.ended_at
        shadow |= covered
    return events.assign(shadow=shadow)
