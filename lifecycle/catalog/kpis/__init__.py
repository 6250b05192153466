"""The KPI engine: definitions, units and their formatter, the request a KPI is asked
for, and `kpi_compute` / `kpi_series` / `kpi_values`, which answer any registered KPI.

definitions: the registry and the value type · units: the unit vocabulary and the one
formatter · request: `KpiRequest` · engine: providers and computation · serializers: the
one KPI serializer. Import from this package.
"""

from lifecycle.catalog.kpis.definitions import (
    KPI_DEFINITIONS,
    Direction,
    KpiDefinition,
    KpiValue,
    TargetMiss,
    kpi_define,
)
from lifecycle.catalog.kpis.engine import (
    KPI_PROVIDERS,
    KpiProvider,
    kpi_compute,
    kpi_provide,
    kpi_series,
    kpi_values,
    previous_attach,
    series_buckets,
)
from lifecycle.catalog.kpis.request import (
    COMPARE_PREVIOUS,
    KpiRequest,
    KpiRequestError,
    comparison_read,
    kpi_request_build,
    period_words,
)
from lifecycle.catalog.kpis.units import Unit, kpi_format, unit_d3_format, unit_hover, unit_suffix

__all__ = [
    "COMPARE_PREVIOUS",
    "KPI_DEFINITIONS",
    "KPI_PROVIDERS",
    "Direction",
    "KpiDefinition",
    "KpiProvider",
    "KpiRequest",
    "KpiRequestError",
    "KpiValue",
    "TargetMiss",
    "Unit",
    "comparison_read",
    "kpi_compute",
    "kpi_define",
    "kpi_format",
    "kpi_provide",
    "kpi_request_build",
    "kpi_series",
    "kpi_values",
    "period_words",
    "previous_attach",
    "series_buckets",
    "unit_d3_format",
    "unit_hover",
    "unit_suffix",
]
