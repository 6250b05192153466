"""Model development KPIs: training runs and their metrics in, per-run values out. The
only place the model development phase's KPI maths lives.

A run is identified by (model version, run_id). Its metrics are the catalog's
LifecycleMetric rows of phase "development" whose dimensions carry that run_id (the
latest value per name wins when a metric was logged several times, as MLflow shows it);
its make-up (dataset version, features, labeling) is the TrainingRun row, when pushed.

definitions: every KPI, declared once · runs: training runs joined from their two sources
and the run KPIs · engine: the phase's provider for the catalog's KPI engine (registered
by the app's `ready()`). Import from this package.
"""

from lifecycle.development.kpis.definitions import (
    FEATURES_EXTRACTED,
    FEATURES_TRANSFORMED,
    LABELING_HUMAN,
    LABELING_SEMI,
    LABELING_THIRD,
    PHASE,
    TRAINING_RUNS,
)
from lifecycle.development.kpis.runs import (
    RunRow,
    metric_names,
    runs_by_version,
    runs_summary,
    training_runs,
)

__all__ = [
    "FEATURES_EXTRACTED",
    "FEATURES_TRANSFORMED",
    "LABELING_HUMAN",
    "LABELING_SEMI",
    "LABELING_THIRD",
    "PHASE",
    "TRAINING_RUNS",
    "RunRow",
    "metric_names",
    "runs_by_version",
    "runs_summary",
    "training_runs",
]
