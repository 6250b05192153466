"""Dataset files for the newest versions of each demo dataset, uploaded through the same
service as `POST /api/v1/datasets/.../upload`, so the real profiler makes their profiles.

Each file is a few thousand generated rows with what real extracts have: missing values,
outliers, categorical, text, image-reference and date/time columns. The newest version of
credit-applications changes schema and shifts (the partner channel's younger, lower-income
applicants, as the scorer's inputs show), so its diff page flags it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from demo.specs import DatasetSpec
from ingestion.profiling.profiler import ProfileMetadata
from ingestion.profiling.service import VersionTarget, dataset_file_upload
from lifecycle.catalog.models import DatasetVersion

PROFILED_VERSIONS = 2  # the newest of each dataset
SHIFTED_DATASET = "credit-applications"
DATASET_ROWS = 3000  # per file, give or take a third


@dataclass(frozen=True)
class Col:
    name: str
    kind: str
    arg: tuple = ()
    missing: float = 0.0  # share of rows left empty
    only: str = ""  # "new": added in the newest version; "old": dropped from it
    shifted: tuple | None = None  # the newest version's arg, where the data shifts


# Word pools for the text columns, one string each (split below) to keep them short here.
_PRODUCTS = "linen shirt oak desk lamp wireless earbuds trail shoes ceramic mug wool scarf"
_SEARCH = "red dress size 12 cheap flights phone case usb c charger garden chair sale"
_SUPPORT = (
    "my order has not arrived yet please refund the parcel was damaged I cannot log in to "
    "my account the card was charged twice when will the replacement ship thank you"
)
_COUNTRIES = ("GB", 6), ("IE", 1), ("FR", 1), ("DE", 1), ("ES", 1), ("US", 1)
_DEVICES = ("mobile", 6), ("desktop", 3), ("tablet", 1)
_EMPLOYMENT = ("employed", 62), ("self_employed", 14), ("contractor", 8), ("retired", 10)
_EMPLOYMENT += (("student", 6),)
# The partner channel's applicants: more self-employed, contractors and students.
_EMPLOYMENT_NOW = ("employed", 40), ("self_employed", 22), ("contractor", 20), ("retired", 4)
_EMPLOYMENT_NOW += (("student", 14),)

COLUMNS: dict[str, tuple[Col, ...]] = {
    "card-transactions": (
        Col("transaction_id", "id", ("tx",)),
        Col("authorised_at", "time", (14,)),
        Col("amount_gbp", "money", (28, 1.1)),
        Col("merchant_category", "cat", (("grocery", 5), ("online_retail", 4), ("travel", 1),
                                          ("fuel", 2), ("restaurants", 2), ("gaming", 1))),
        Col("country", "cat", _COUNTRIES),
        Col("card_present", "bool", (0.55,)),
        Col("is_fraud", "bool", (0.012,)),
    ),
    "chargeback-labels": (
        Col("case_id", "id", ("cb",)),
        Col("disputed_at", "time", (30,)),
        Col("amount_gbp", "money", (60, 1.0)),
        Col("reason_code", "cat", (("fraud", 5), ("not_received", 3), ("not_as_described", 2),
                                    ("duplicate", 1))),
        Col("is_fraud", "bool", (0.6,)),
        Col("label_source", "cat", (("human", 7), ("vendor", 2), ("model", 1))),
        Col("is_synthetic", "bool", (0.08,)),
    ),
    "device-fingerprints": (
        Col("device_id", "id", ("dev",)),
        Col("seen_at", "time", (7,)),
        Col("os", "cat", (("ios", 4), ("android", 4), ("windows", 2), ("macos", 1))),
        Col("emulator_score", "unit", (0.05, 0.08), missing=0.04),
        Col("ip_risk_score", "unit", (0.15, 0.12)),
        Col("data_source", "cat", (("vendor", 17), ("internal", 3))),
    ),
    "login-events": (
        Col("login_id", "id", ("lg",)),
        Col("attempted_at", "time", (7,)),
        Col("channel", "cat", (("web", 5), ("ios", 3), ("android", 2))),
        Col("failed_logins_24h", "count", (0.4,)),
        Col("session_age_s", "money", (40, 1.0)),
        Col("success", "bool", (0.93,)),
    ),
    "clickstream-sessions": (
        Col("session_id", "id", ("s",)),
        Col("started_at", "time", (7,)),
        Col("pages_viewed", "count", (6,)),
        Col("dwell_seconds", "money", (180, 0.9)),
        Col("device", "cat", _DEVICES),
        Col("referrer", "cat", (("direct", 4), ("search", 3), ("email", 2), ("social", 1)),
            missing=0.1),
        Col("converted", "bool", (0.034,)),
    ),
    "product-catalog": (
        Col("sku", "id", ("sku",)),
        Col("updated_at", "time", (60,)),
        Col("title", "text", (_PRODUCTS, 4, 9)),
        Col("price_gbp", "money", (24, 0.9)),
        Col("category", "cat", (("home", 3), ("fashion", 4), ("electronics", 2), ("garden", 1))),
        Col("image_url", "image", ("products",), missing=0.03),
        Col("in_stock", "bool", (0.9,)),
    ),
    "order-history": (
        Col("order_id", "id", ("o",)),
        Col("ordered_at", "time", (30,)),
        Col("basket_items", "count", (3,)),
        Col("basket_value_gbp", "money", (45, 0.8)),
        Col("payment_method", "cat", (("card", 6), ("paypal", 2), ("klarna", 1), ("apple_pay", 2))),
        Col("returned", "bool", (0.07,)),
    ),
    "search-queries": (
        Col("query_id", "id", ("q",)),
        Col("searched_at", "time", (7,)),
        Col("query", "text", (_SEARCH, 1, 5)),
        Col("results", "count", (40,)),
        Col("clicked_rank", "count", (2,), missing=0.35),
        Col("device", "cat", _DEVICES),
    ),
    "email-engagement": (
        Col("hour", "clock", (60,)),
        Col("sends", "count", (4000,)),
        Col("opens", "count", (900,)),
        Col("clicks", "count", (120,)),
        Col("unsubscribes", "count", (3,)),
        Col("campaign_type", "cat", (("newsletter", 3), ("promo", 5), ("transactional", 2))),
    ),
    "customer-profiles": (
        Col("customer_id", "id", ("c",)),
        Col("updated_at", "time", (90,)),
        Col("age", "normal", (41, 13, 18, 90)),
        Col("tenure_months", "count", (30,)),
        Col("segment", "cat", (("new", 15), ("active", 50), ("lapsing", 20), ("dormant", 15))),
        Col("country", "cat", _COUNTRIES),
        Col("marketing_opt_in", "bool", (0.62,), missing=0.03),
    ),
    SHIFTED_DATASET: (
        Col("application_id", "id", ("app",)),
        Col("submitted_at", "time", (30,)),
        Col("income_k", "money", (52, 0.45), missing=0.02, shifted=(37, 0.5)),
        Col("applicant_age", "normal", (41, 11, 18, 85), shifted=(32, 10, 18, 85)),
        Col("employment_type", "cat", _EMPLOYMENT, shifted=_EMPLOYMENT_NOW),
        Col("requested_amount_gbp", "money", (8000, 0.7)),
        Col("channel", "cat", (("web", 6), ("branch", 2), ("broker", 2)),
            shifted=(("web", 4), ("branch", 1), ("broker", 1), ("partner_api", 4))),
        Col("home_phone", "id", ("tel",), missing=0.4, only="old"),
        Col("open_banking_consent", "bool", (0.45,), only="new"),
    ),
    "bureau-reports": (
        Col("report_id", "id", ("br",)),
        Col("pulled_at", "time", (30,)),
        Col("bureau_score", "normal", (640, 90, 300, 999)),
        Col("defaults_36m", "count", (0.2,)),
        Col("open_accounts", "count", (5,)),
        Col("thin_file", "bool", (0.08,)),
    ),
    "repayment-history": (
        Col("loan_id", "id", ("ln",)),
        Col("due_date", "time", (60,)),
        Col("amount_due_gbp", "money", (210, 0.5)),
        Col("days_late", "count", (1.5,)),
        Col("status", "cat", (("paid", 85), ("late", 9), ("missed", 4), ("restructured", 2))),
    ),
    "open-banking": (
        Col("account_id", "id", ("acc",)),
        Col("observed_at", "time", (30,)),
        Col("monthly_income_gbp", "money", (2600, 0.5), missing=0.05),
        Col("monthly_outgoings_gbp", "money", (2100, 0.5)),
        Col("overdraft_days", "count", (2,)),
        Col("gambling_spend_gbp", "money", (5, 1.5), missing=0.3),
    ),
    "support-tickets": (
        Col("ticket_id", "id", ("t",)),
        Col("opened_at", "time", (14,)),
        Col("body", "text", (_SUPPORT, 8, 30)),
        Col("queue", "cat", (("billing", 3), ("delivery", 4), ("returns", 2), ("account", 2),
                              ("technical", 1))),
        Col("priority", "cat", (("low", 3), ("normal", 5), ("high", 2), ("urgent", 1))),
        Col("label_source", "cat", (("human", 8), ("weak", 2))),
    ),
    "chat-transcripts": (
        Col("chat_id", "id", ("chat",)),
        Col("started_at", "time", (14,)),
        Col("transcript", "text", (_SUPPORT, 20, 60)),
        Col("agent_turns", "count", (6,)),
        Col("csat", "count", (4,), missing=0.6),
        Col("screenshot", "image", ("chats",), missing=0.85),
    ),
}  # fmt: skip


def _column(
    col: Col, arg: tuple, rng: np.random.Generator, n: int, *, end: datetime, k: int
) -> Any:
    if col.kind == "id":
        return [f"{arg[0]}-{k * 10_000_000 + i:08d}" for i in range(n)]
    if col.kind in ("time", "clock"):
        lag = timedelta(hours=float(rng.uniform(1, 20)))
        if col.kind == "clock":  # a regular series: one row per step
            step = timedelta(minutes=arg[0])
            return pd.date_range(end=end - lag, periods=n, freq=step, tz="UTC").floor("min")
        span = timedelta(days=arg[0]).total_seconds()
        seconds = np.sort(rng.uniform(-span, 0, n)).round()
        return pd.to_datetime(end - lag, utc=True) + pd.to_timedelta(seconds, unit="s")
    if col.kind == "money":
        values = rng.lognormal(np.log(arg[0]), arg[1], n)
        wild = rng.random(n) < 0.005  # keying errors and whales: a few extreme values
        return np.where(wild, values * rng.uniform(10, 40, n), values).round(2)
    if col.kind == "unit":
        return np.clip(rng.normal(arg[0], arg[1], n), 0, 1).round(3)
    if col.kind == "normal":
        return np.clip(rng.normal(arg[0], arg[1], n), arg[2], arg[3]).round()
    if col.kind == "count":
        return rng.poisson(arg[0], n)
    if col.kind == "bool":
        return rng.random(n) < arg[0]
    if col.kind == "cat":
        names, weights = zip(*arg, strict=True)
        p = np.array(weights, dtype=float)
        return np.array(names, dtype=object)[rng.choice(len(names), n, p=p / p.sum())]
    if col.kind == "text":
        text, low, high = arg
        words = text.split(" ")
        lengths = rng.integers(low, high + 1, n)
        return [" ".join(rng.choice(words, size)) for size in lengths]
    if col.kind == "image":
        return [f"https://assets.example.com/{arg[0]}/{k}-{i}.jpg" for i in range(n)]
    raise ValueError(f"unknown column kind {col.kind!r}")


def dataset_frame(
    spec: DatasetSpec, *, k: int, newest: bool, end: datetime, seed: int, rows: int
) -> pd.DataFrame:
    """About `rows` rows of version `k` of the dataset, made up to `end`."""
    rng = np.random.default_rng([seed, k, *spec.name.encode()])
    n = int(rows * rng.uniform(0.8, 1.3))
    frame = {}
    for col in COLUMNS[spec.name]:
        if (col.only == "new" and not newest) or (col.only == "old" and newest):
            continue
        arg = col.shifted if newest and col.shifted is not None else col.arg
        values = pd.Series(_column(col, arg, rng, n, end=end, k=k))
        if col.missing:
            values = values.astype(object).where(rng.random(n) >= col.missing, None)
        frame[col.name] = values
    return pd.DataFrame(frame)


def dataset_versions_upload(
    spec: DatasetSpec, *, created: list[datetime], first_number: int, seed: int, rows: int
) -> list[DatasetVersion]:
    """Upload one generated CSV per version and date the version as planned."""
    versions = []
    with tempfile.TemporaryDirectory(prefix="kpiboard-demo-") as folder:
        for offset, at in enumerate(created):
            number = first_number + offset
            frame = dataset_frame(
                spec, k=number, newest=offset == len(created) - 1, end=at, seed=seed, rows=rows
            )
            name = f"{spec.name}-v{number}.csv"
            path = Path(folder) / name
            frame.to_csv(path, index=False)
            stored = dataset_file_upload(
                target=VersionTarget(
                    dataset=spec.name, version=str(number), team=None, uploaded_by="datateam"
                ),
                path=path,
                file_name=name,
                metadata=ProfileMetadata(party=spec.source),
            )
            version = stored.version
            # The upload is stamped now; the demo's history says when it came.
            DatasetVersion.objects.filter(pk=version.pk).update(created_at=at)
            version.created_at = at
            versions.append(version)
    return versions
