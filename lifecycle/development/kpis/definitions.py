"""The model development phase's KPI definitions: what each training-run number means,
in words."""

from __future__ import annotations

from lifecycle.catalog.kpis import Direction, Unit, kpi_define

PHASE = "development"
# Training runs are compared across versions whatever their age (a window narrows them
# only when asked for) and each make-up share is a fact of one run: no KPI here covers a
# period, so none compares with a previous one (compares=False).

TRAINING_RUNS = kpi_define(
    id="training_runs",
    phase=PHASE,
    label="Training runs",
    unit=Unit.COUNT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Distinct training runs (by run id) known for the model versions shown, from "
    "pushed or synced development metrics and pushed run details.",
)
FEATURES_TRANSFORMED = kpi_define(
    id="features_transformed_pct",
    phase=PHASE,
    label="Features transformed",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="100 x features derived by transforming raw columns / all features of the run.",
)
FEATURES_EXTRACTED = kpi_define(
    id="features_extracted_pct",
    phase=PHASE,
    label="Features extracted",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="100 x features extracted from unstructured data (text, images, audio, video) "
    "/ all features of the run.",
)
LABELING_HUMAN = kpi_define(
    id="labeling_human_pct",
    phase=PHASE,
    label="Human-labelled",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Share of the run's training labels made by people, in percent.",
)
LABELING_SEMI = kpi_define(
    id="labeling_semi_supervised_pct",
    phase=PHASE,
    label="Semi-supervised labels",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Share of the run's training labels made by semi-supervised or weak labelling.",
)
LABELING_THIRD = kpi_define(
    id="labeling_third_party_pct",
    phase=PHASE,
    label="Third-party labels",
    unit=Unit.PERCENT,
    direction=Direction.NEUTRAL,
    compares=False,
    formula="Share of the run's training labels bought from or made by a third party.",
)
