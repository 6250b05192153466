"""The dataset KPIs of a scope (the engine's: each dataset's newest version, averaged over
the datasets) against pandas on the very files that were uploaded."""

from __future__ import annotations

import io
from datetime import timedelta
from statistics import fmean

import numpy as np
import pandas as pd
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from lifecycle.catalog.kpis import kpi_compute, kpi_request_build
from lifecycle.catalog.models import DatasetVersion
from tests import factories

pytestmark = pytest.mark.django_db
DAY = timedelta(days=1)
MEDIA = (".jpg", ".png", ".wav", ".mp4")


def _events_log(now, *, rows: int, missing_every: int | None) -> pd.DataFrame:
    """An hourly log (a regular time series) with a free-text note and image paths."""
    rng = np.random.default_rng(rows)
    amounts = rng.normal(50, 10, rows).round(2).astype(object)
    if missing_every:
        amounts[::missing_every] = None
    return pd.DataFrame(
        {
            "ts": [now - timedelta(hours=5 + rows - i) for i in range(rows)],
            "amount": amounts,
            "note": [
                f"customer {i} called about a late refund for order {i * 7}" for i in range(rows)
            ],
            "image_path": [f"scans/receipt-{i}.jpg" for i in range(rows)],
        }
    )


def _customers(now, *, rows: int) -> pd.DataFrame:
    """Irregular sign-up times (not a time series) and a plain category."""
    rng = np.random.default_rng(7)
    offsets = np.sort(rng.uniform(2, 400, rows))[::-1]
    return pd.DataFrame(
        {
            # Whole seconds, as the CSV writes them.
            "signup": [now - timedelta(seconds=round(h * 3600)) for h in offsets],
            "segment": ["retail", "business"] * (rows // 2),
        }
    )


def _csv(frame: pd.DataFrame) -> bytes:
    out = frame.copy()
    for column in out.columns:
        if pd.api.types.is_datetime64_any_dtype(out[column]):
            out[column] = out[column].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    buffer = io.StringIO()
    out.to_csv(buffer, index=False)
    return buffer.getvalue().encode()


@pytest.fixture
def uploaded(api_as, dana, risk_team, now):
    """events-log in two versions (the second with a fifth of its amounts missing) and
    customers in one; returns each dataset's frames, oldest first."""
    factories.dataset_make("events-log", team=risk_team)
    factories.dataset_make("customers", team=risk_team)
    frames = {
        "events-log": [
            _events_log(now, rows=200, missing_every=None),
            _events_log(now, rows=200, missing_every=5),
        ],
        "customers": [_customers(now, rows=120)],
    }
    client = api_as(dana)
    for name, versions in frames.items():
        for frame in versions:
            response = client.post(
                f"/api/v1/datasets/{name}/versions/",
                {"file": SimpleUploadedFile("data.csv", _csv(frame))},
                format="multipart",
            )
            assert response.status_code == 201, response.json()
    return frames


def _unstructured(frame: pd.DataFrame) -> float:
    """Columns of media file references or of long free text, over all columns."""

    def unstructured(values: pd.Series) -> bool:
        if not isinstance(values.iloc[0], str):
            return False
        return values.str.endswith(MEDIA).all() or values.str.len().mean() > 40

    return sum(unstructured(frame[c]) for c in frame.columns) / len(frame.columns)


def _regular_time_series(frame: pd.DataFrame) -> bool:
    for column in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[column]):
            steps = frame[column].diff().dropna()
            if len(steps) and (steps > pd.Timedelta(0)).all() and steps.nunique() == 1:
                return True
    return False


def _missing_pct(frame: pd.DataFrame) -> pd.Series:
    return frame.isna().mean() * 100


@pytest.mark.recomputes(
    "dataset_upload_age_days",
    "dataset_record_age_days",
    "dataset_unstructured_share",
    "dataset_time_series_share",
    "profile_missing_pct_change",
)
def test_dataset_kpis_of_a_scope_equal_a_recomputation_from_the_uploaded_files(uploaded, now):
    moment = timezone.now()
    request = kpi_request_build(query={}, now=moment)
    newest = {name: versions[-1] for name, versions in uploaded.items()}

    created = pd.DataFrame(list(DatasetVersion.objects.values("dataset__name", "created_at")))
    newest_upload = created.groupby("dataset__name").created_at.max()
    assert kpi_compute("dataset_upload_age_days", request).value == pytest.approx(
        fmean((moment - at) / DAY for at in newest_upload), abs=1e-6
    )

    time_columns = {"events-log": "ts", "customers": "signup"}
    record_ages = [
        (moment - pd.to_datetime(frame[time_columns[name]], utc=True).max()) / DAY
        for name, frame in newest.items()
    ]
    assert kpi_compute("dataset_record_age_days", request).value == pytest.approx(
        fmean(record_ages), abs=1e-6
    )

    unstructured = [_unstructured(frame) for frame in newest.values()]
    assert unstructured == [0.5, 0.0]
    assert kpi_compute("dataset_unstructured_share", request).value == pytest.approx(
        fmean(unstructured)
    )

    series = [_regular_time_series(frame) for frame in newest.values()]
    assert series == [True, False]
    assert kpi_compute("dataset_time_series_share", request).value == pytest.approx(
        sum(series) / len(series)
    )

    base, new = uploaded["events-log"]
    change = _missing_pct(new) - _missing_pct(base)
    worst = change[change.abs().idxmax()]
    assert worst == pytest.approx(20.0)
    assert kpi_compute("profile_missing_pct_change", request).value == pytest.approx(worst)


def test_records_newer_than_now_are_flagged_as_a_clock_problem(
    api_as, client, dana, risk_team, now
):
    factories.dataset_make("ahead", team=risk_team)
    frame = _customers(now + timedelta(days=3), rows=20)  # the newest 3 days from now
    response = api_as(dana).post(
        "/api/v1/datasets/ahead/versions/",
        {"file": SimpleUploadedFile("data.csv", _csv(frame))},
        format="multipart",
    )
    assert response.status_code == 201, response.json()
    client.force_login(dana)
    for page in ("/data/", "/data/ahead/versions/1/"):
        html = client.get(page).content.decode()
        assert "in the future</b>" in html, page
