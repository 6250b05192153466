"""Label coverage and delay: ground truth joined to its serving events."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from django.db.models import Exists, Subquery

from lifecycle.catalog.kpis import KpiValue
from lifecycle.catalog.models import (
    Label,
)
from lifecycle.catalog.serving.scope import (
    ServingScope,
)
from lifecycle.monitoring.kpis.definitions import (
    LABEL_COVERAGE,
    LABEL_DELAY_P50,
    LABEL_DELAY_P90,
)


@dataclass(frozen=True)
class LabelSummary:
    inferences: int
    delays_hours: np.ndarray

    @property
    def coverage(self) -> float | None:
        return len(self.delays_hours) / self.inferences if self.inferences else None

    def kpis(self) -> list[KpiValue]:
        has = len(self.delays_hours) > 0
        return [
            KpiValue(LABEL_COVERAGE, self.coverage),
            KpiValue(LABEL_DELAY_P50, float(np.percentile(self.delays_hours, 50)) if has else None),
            KpiValue(LABEL_DELAY_P90, float(np.percentile(self.delays_hours, 90)) if has else None),
        ]


def label_summary(scope: ServingScope, *, inferences: int) -> LabelSummary:
    """Coverage and delay of the labels of the scope's inferences (raw events joined to
    their team's labels by event_id: meant for one model's page, not for the whole
    portfolio)."""
    labels = Label.of_outer_event()
    # EXISTS, not a filter on the annotated label time: the database may then walk the
    # labels (thousands) into the events' (event_id, team) index rather than look up a
    # label for each of the scope's millions of events.
    pairs = (
        scope.events.order_by()
        .filter(Exists(labels))
        .annotate(label_time=Subquery(labels.values("timestamp")[:1]))
        .values_list("timestamp", "label_time")
    )
    delays = np.array(
        [(labelled - served).total_seconds() / 3600 for served, labelled in pairs], dtype=float
    )
    return LabelSummary(inferences=inferences, delays_hours=delays)
