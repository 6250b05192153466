"""Ground truth for a share of two models' events, arriving days after the prediction, as
a labelling job pushes it: through `labels_ingest`, the service behind
`POST /api/v1/labels/`. A shadow's copy of a request gets the same truth as the request.

The truth is drawn from the score the champion gave: the model is calibrated, except that
the credit scorer's new applicants default more than it expects as its inputs drift
(concept drift, seen only once their labels arrive)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from demo.events import ScoredEvents
from demo.plan import EPOCH, HOUR, Plan, us
from demo.specs import LABELLED
from ingestion.labels import labels_ingest

_PUSH = 5000  # labels per push, as a labelling job would batch them


@dataclass(frozen=True)
class LabelsSummary:
    by_model: dict[str, int]
    scored_by_model: dict[str, int]


def _truth(
    scored: ScoredEvents, plan: Plan, rng: np.random.Generator, *, drift: float
) -> tuple[np.ndarray, np.ndarray]:
    """Per event: the truth (0 or 1) and the score it was drawn from (nan: no answer)."""
    n = len(scored.ts)
    score = np.array([np.nan if p is None else float(p) for p in scored.prediction])
    odds = np.log(np.clip(score, 1e-4, 1 - 1e-4) / (1 - np.clip(score, 1e-4, 1 - 1e-4)))
    begin, end = us(plan.drift_start), us(plan.now)
    odds += drift * np.clip((scored.ts - begin) / (end - begin), 0, 1)
    label = (rng.random(n) < 1 / (1 + np.exp(-odds))).astype(int)
    return label, score


def labels_write(
    plan: Plan, scored: dict[str, ScoredEvents], *, progress: Callable[[str], None]
) -> LabelsSummary:
    now = us(plan.now)
    by_model: dict[str, int] = {}
    counts: dict[str, int] = {}
    for name, spec in LABELLED.items():
        events = scored.get(name)
        if events is None:
            continue
        rng = np.random.default_rng([plan.seed, 2, *name.encode()])
        n = len(events.ts)
        label, score = _truth(events, plan, rng, drift=spec.concept_drift)
        delay = rng.lognormal(np.log(spec.delay_median_hours), spec.delay_sigma, n) * HOUR
        arrives = events.ts + delay.astype(np.int64)
        known = (rng.random(n) < spec.coverage) & ~np.isnan(score)
        # A copy takes its request's truth: same label, same arrival, labelled or not.
        copy = events.origin >= 0
        label[copy] = label[events.origin[copy]]
        arrives[copy] = arrives[events.origin[copy]]
        known[copy] = known[events.origin[copy]] & ~np.isnan(score[copy])
        known &= arrives <= now
        rows = [
            {
                "event_id": events.event_ids[i],
                "model": name,
                "label": int(label[i]),
                "timestamp": (EPOCH + timedelta(microseconds=int(arrives[i]))).isoformat(),
            }
            for i in np.flatnonzero(known)
        ]
        for start in range(0, len(rows), _PUSH):
            labels_ingest(rows=rows[start : start + _PUSH], principal=None, source="demo")
        by_model[name] = len(rows)
        counts[name] = int((~np.isnan(score)).sum())
    progress("labels: " + ", ".join(f"{m} {k:,}" for m, k in by_model.items()))
    return LabelsSummary(by_model=by_model, scored_by_model=counts)
