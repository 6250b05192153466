"""Development's tables: the model versions as registered, and a model's training runs,
as the pages show them and as their CSV exports answer them."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse
from django.utils.html import format_html
from django.utils.text import Truncator

from lifecycle.catalog.kpis import KpiDefinition
from lifecycle.catalog.kpis.units import moment_format
from lifecycle.catalog.links import dataset_version_url, version_url
from lifecycle.catalog.models import ModelVersion, RegisteredModel
from lifecycle.catalog.seen import name_with_badge, registered_column
from lifecycle.catalog.tables import Column, Table, linked_list, model_column, number_text
from lifecycle.development.kpis.runs import RunRow


def model_versions_table(versions: Sequence[ModelVersion]) -> Table:
    """Every version the filters select, with its runs (linked to the model's development
    tab, where they compare across versions), datasets and deployments."""
    return Table(
        name="versions",
        rows=versions,
        empty="No model version matches these filters.",
        columns=[
            model_column(lambda v: v.model.name, {}),
            Column(
                key="version",
                label="Version",
                value=lambda v: v.version,
                display=lambda v: name_with_badge(v.version, v.seen_in_serving_only),
                link=lambda v: version_url(v.model.name, v.version),
            ),
            registered_column(lambda v: v),
            Column.time(
                "seen_in_serving_at",
                "First seen in serving",
                lambda v: v.seen_in_serving_at,
                missing="",
                on_page=False,
            ),
            Column(
                key="run_id",
                label="Run",
                value=lambda v: v.run_id,
                display=lambda v: format_html("<code>{}</code>", v.run_id),
            ),
            Column(
                key="runs",
                label="Runs recorded",
                value=lambda v: v.n_runs,
                unit="count",
                link=lambda v: reverse("development:model", args=[v.model.name]),
            ),
            Column(
                key="datasets",
                label="Trained on",
                value=lambda v: ", ".join(str(d) for d in v.datasets.all()),
                display=lambda v: linked_list(
                    (
                        (str(d), dataset_version_url(d.dataset.name, d.version))
                        for d in v.datasets.all()
                    ),
                    empty="none recorded",
                ),
            ),
            Column(
                key="deployments",
                label="Deployments",
                value=lambda v: v.n_deployments,
                unit="count",
            ),
        ],
    )


def _make_up_column(definition: KpiDefinition) -> Column:
    def value(row: RunRow) -> float | None:
        return next(k.value for k in row.kpis if k.definition is definition)

    return Column.kpi(definition, value, title=lambda row: definition.tooltip)


def training_runs_table(
    model: RegisteredModel,
    rows: Sequence[RunRow],
    *,
    metric_names: Sequence[str],
    make_up: Sequence[KpiDefinition],
) -> Table:
    """A model's runs: a column per metric recorded on any of them, then the make-up of
    their training data."""

    def dataset_version_link(row: RunRow) -> str | None:
        d = row.dataset_version
        return dataset_version_url(d.dataset.name, d.version) if d else None

    return Table(
        name="runs",
        html_id="runs-table",
        css_class="wrap-heads",
        rows=rows,
        empty="No training run recorded for this model.",
        row_attrs=lambda row: {"data-run": row.run_id},
        columns=[
            Column(
                key="version",
                label="Version",
                value=lambda row: row.model_version.version,
                display=lambda row: name_with_badge(
                    row.model_version.version, row.model_version.seen_in_serving_only
                ),
                link=lambda row: version_url(model.name, row.model_version.version),
            ),
            Column(
                key="run_id",
                label="Run",
                value=lambda row: row.run_id,
                display=lambda row: format_html(
                    '<code title="{}">{}</code>', row.run_id, Truncator(row.run_id).chars(11)
                ),
            ),
            Column(
                key="started_at",
                label="Started",
                value=lambda row: row.started_at,
                # The day fits the column; the minute is in the title.
                display=lambda row: f"{row.started_at:%Y-%m-%d}" if row.started_at else "unknown",
                title=lambda row: moment_format(row.started_at),
            ),
            Column(
                key="dataset_version",
                label="Dataset version",
                value=lambda row: str(row.dataset_version) if row.dataset_version else None,
                link=dataset_version_link,
            ),
            *(
                Column(
                    key=f"metric:{name}",
                    label=name,
                    value=lambda row, name=name: row.metrics.get(name),
                    display=lambda row, name=name: number_text(row.metrics.get(name)),
                    numeric=True,
                )
                for name in metric_names
            ),
            *(_make_up_column(definition) for definition in make_up),
        ],
    )
