"""Map a whylogs profile (`.bin`, as `DatasetProfileView.write` saves it) onto the
kpiboard profile. What a sketch cannot tell is left unknown (None), never zero: exact
outlier counts, rows needing imputation, dates, time series and row-level shares."""

from __future__ import annotations

import json
import math
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from ingestion.profiling.columns import HISTOGRAM_BINS, QUANTILES
from ingestion.profiling.errors import EmptyFile, ProfileError, TooLarge, Unreadable, WrongType
from lifecycle.dataprep import profiles as fmt

MAX_PROFILE_BYTES = 64 * 1024 * 1024
# Reading a real profile takes a second or two (most of it importing whylogs).
READ_TIMEOUT_SECONDS = 60
_PROJECT_DIR = Path(__file__).resolve().parents[2]
_CHILD = (
    "import sys; from ingestion.profiling.whylogs_map import _child_main; _child_main(sys.argv)"
)
_ERRORS: dict[str, type[ProfileError]] = {
    cls.code: cls for cls in (EmptyFile, TooLarge, WrongType, Unreadable)
}


def _finite(value: Any) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _kind(types: dict[str, int]) -> str:
    numeric = types.get("integral", 0) + types.get("fractional", 0)
    ranked = {
        fmt.NUMERIC: numeric,
        fmt.BOOLEAN: types.get("boolean", 0),
        fmt.CATEGORICAL: types.get("string", 0),
        fmt.OTHER: types.get("object", 0) + types.get("tensor", 0),
    }
    kind, count = max(ranked.items(), key=lambda kv: kv[1])
    return kind if count else fmt.OTHER


def _numeric(metric: Any, summary: dict[str, Any]) -> dict[str, Any] | None:
    if not summary.get("n"):
        return None
    sketch = metric.kll.value
    low, high = _finite(summary.get("min")), _finite(summary.get("max"))
    histogram = None
    if low is not None and high is not None and high > low:
        width = (high - low) / HISTOGRAM_BINS
        edges = [low + i * width for i in range(HISTOGRAM_BINS + 1)]
        pmf = sketch.get_pmf(edges[1:-1])
        histogram = {
            "edges": edges,
            "counts": [round(p * summary["n"]) for p in pmf],
            "approx": True,
        }
    return {
        "min": low,
        "max": high,
        "mean": _finite(summary.get("mean")),
        "std": _finite(summary.get("stddev")),
        "integral": None,
        "quantiles": {
            str(q): _finite(v)
            for q, v in zip(QUANTILES, sketch.get_quantiles(list(QUANTILES)), strict=True)
        },
        "quantiles_approx": True,
        "cdf": [_finite(v) for v in sketch.get_quantiles([i / 100 for i in range(101)])],
        "histogram": histogram,
        "outliers": None,  # a quantile sketch cannot count values beyond the fences exactly
    }


def whylogs_profile(*, path: Path, name: str) -> dict[str, Any]:
    """The kpiboard profile of a whylogs `.bin` profile. Raises ProfileError.

    whylogs hands the sketches' bytes to native code (Apache DataSketches) that crashes
    the process on a damaged sketch, so the profile is read in a child process: a crash
    there is a refused file, not a dead web worker."""
    size = path.stat().st_size
    if size == 0:
        raise EmptyFile(f"{name} is empty (0 bytes).")
    if size > MAX_PROFILE_BYTES:
        raise TooLarge(f"{name} is over the {MAX_PROFILE_BYTES // 1024**2} MiB profile limit.")
    try:
        child = subprocess.run(
            [sys.executable, "-c", _CHILD, str(path), name],
            cwd=_PROJECT_DIR,
            env={**os.environ, "WHYLOGS_NO_ANALYTICS": "True"},
            capture_output=True,
            timeout=READ_TIMEOUT_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise Unreadable(
            f"{name} took over {READ_TIMEOUT_SECONDS} s to read as a whylogs profile."
        ) from exc
    if child.returncode < 0:
        cause = signal.Signals(-child.returncode).name
        raise WrongType(f"{name} is not a whylogs profile: it crashed the reader ({cause}).")
    lines = child.stdout.decode("utf-8", "replace").strip().splitlines()
    try:
        answer = json.loads(lines[-1])
    except (IndexError, ValueError) as exc:
        raise WrongType(f"{name} is not a whylogs profile: the reader failed.") from exc
    if "error" in answer:
        raise _ERRORS.get(answer["error"], Unreadable)(answer["message"])
    return answer["profile"]


def _profile_read(*, path: Path, name: str) -> dict[str, Any]:
    """The mapping itself (in the child process)."""
    size = path.stat().st_size
    # whylogs phones home with usage statistics unless told not to; kpiboard runs offline.
    os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")
    from whylogs.core import DatasetProfileView  # slow to import; only pushes need it

    try:
        view = DatasetProfileView.read(str(path))
    except Exception as exc:  # whylogs raises assorted errors for foreign bytes
        raise WrongType(f"{name} is not a whylogs profile: {exc}") from exc
    columns = []
    rows = 0
    for column in view.get_columns().values():
        counts = column.get_metric("counts").to_summary_dict()
        rows = max(rows, int(counts.get("n", 0)))
    if not rows:
        raise EmptyFile(f"{name} profiles no rows.")
    for column_name, column in view.get_columns().items():
        counts = column.get_metric("counts").to_summary_dict()
        types = column.get_metric("types").to_summary_dict() if column.get_metric("types") else {}
        kind = _kind(types)
        out = fmt.column_profile_blank(name=column_name, kind=kind)
        missing = int(counts.get("null", 0))
        out.update(count=rows, missing=missing, missing_pct=100.0 * missing / rows)
        cardinality = column.get_metric("cardinality")
        if cardinality is not None:
            out["distinct"] = round(cardinality.to_summary_dict()["est"])
            out["distinct_approx"] = True
        distribution = column.get_metric("distribution")
        if kind == fmt.NUMERIC and distribution is not None:
            out["numeric"] = _numeric(distribution, distribution.to_summary_dict())
        frequent = column.get_metric("frequent_items")
        if frequent is not None and kind != fmt.NUMERIC:
            items = frequent.to_summary_dict().get("frequent_strings") or []
            out["top_values"] = [{"value": i.value, "count": int(i.est)} for i in items[:10]]
            out["top_values_approx"] = True
        columns.append(out)
    profile = {
        "format": fmt.PROFILE_FORMAT,
        "source": {
            "kind": "whylogs",
            "file_name": name,
            "bytes": size,
            "dataset_timestamp": view.dataset_timestamp.isoformat()
            if view.dataset_timestamp
            else None,
        },
        "rows": rows,
        "columns": len(columns),
        "column_profiles": columns,
        "dataset": dict.fromkeys(fmt.DATASET_FIELDS),
    }
    fmt.dataset_shares_fill(profile)
    return profile


def _child_main(argv: list[str]) -> None:
    path, name = Path(argv[1]), argv[2]
    try:
        answer: dict[str, Any] = {"profile": _profile_read(path=path, name=name)}
    except ProfileError as exc:
        answer = {"error": exc.code, "message": exc.message}
    sys.stdout.write("\n" + json.dumps(answer) + "\n")
