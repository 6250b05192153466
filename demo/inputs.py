"""Inputs and predictions for the three models that log them: stable for two, drifting
for one. Other events leave them null to keep the database small."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from demo.plan import Plan, us
from demo.specs import MODELS

if TYPE_CHECKING:
    from demo.traffic import Traffic


def _categorical(rng: np.random.Generator, names: list[str], probs: np.ndarray) -> list[str]:
    """One draw per row of `probs` (rows differ when a mix drifts)."""
    pick = (rng.random((len(probs), 1)) > np.cumsum(probs, axis=1)).sum(axis=1)
    return [names[k] for k in pick.clip(max=len(names) - 1)]


def _credit_inputs(rng: np.random.Generator, drift: np.ndarray) -> tuple[list, list]:
    # A partner channel launched in the last third of the window brings younger,
    # lower-income, more indebted applicants: every input drifts, gradually.
    n = len(drift)
    income = rng.lognormal(np.log(52) + np.log(1 - 0.3 * drift), 0.45)
    dti = np.clip(rng.beta(2, 5, n) + 0.12 * drift, 0, 1.5)
    utilisation = rng.beta(2 + 1.5 * drift, 3)
    age = np.clip(rng.normal(41 - 9 * drift, 11), 18, 85).round()
    kinds = ["employed", "self_employed", "contractor", "retired", "student"]
    before = np.array([0.62, 0.14, 0.08, 0.10, 0.06])
    after = np.array([0.40, 0.22, 0.20, 0.04, 0.14])
    employment = _categorical(rng, kinds, before + drift[:, None] * (after - before))
    risk = -3.0 + 2.5 * dti + 1.8 * utilisation - 0.012 * (income - 50) - 0.02 * (age - 40)
    rows = [
        {
            "income_k": round(float(income[i]), 1),
            "debt_to_income": round(float(dti[i]), 3),
            "credit_utilisation": round(float(utilisation[i]), 3),
            "applicant_age": int(age[i]),
            "employment_type": employment[i],
        }
        for i in range(n)
    ]
    return rows, [round(float(p), 4) for p in 1 / (1 + np.exp(-risk))]


def _login_inputs(rng: np.random.Generator, n: int) -> tuple[list, list]:
    failed = rng.poisson(0.4, n)
    ip_risk = rng.beta(1.5, 8, n)
    session = rng.lognormal(np.log(40), 1.0, n)
    channel = _categorical(rng, ["web", "ios", "android"], np.tile([0.5, 0.3, 0.2], (n, 1)))
    score = 1 / (1 + np.exp(-(-4 + 0.8 * failed + 5 * ip_risk)))
    rows = [
        {
            "failed_logins_24h": int(failed[i]),
            "ip_risk_score": round(float(ip_risk[i]), 3),
            "session_age_s": round(float(session[i]), 1),
            "channel": channel[i],
        }
        for i in range(n)
    ]
    return rows, [round(float(s), 4) for s in score]


def _send_time_inputs(rng: np.random.Generator, n: int) -> tuple[list, list]:
    open_rate = rng.beta(2, 7, n)
    since = rng.geometric(0.15, n)
    offset = rng.choice([-5, -4, 0, 1, 2], n, p=[0.15, 0.1, 0.3, 0.35, 0.1])
    segments = ["new", "active", "lapsing", "dormant"]
    segment = _categorical(rng, segments, np.tile([0.15, 0.5, 0.2, 0.15], (n, 1)))
    best_hour = (rng.normal(18, 2.5, n) - offset).round() % 24
    rows = [
        {
            "open_rate_30d": round(float(open_rate[i]), 3),
            "days_since_last_open": int(since[i]),
            "utc_offset_h": int(offset[i]),
            "segment": segment[i],
        }
        for i in range(n)
    ]
    return rows, [int(h) for h in best_hour]


def inputs_draw(
    traffic: Traffic, plan: Plan, rng: np.random.Generator, model_of: np.ndarray
) -> tuple[list | None, list | None]:
    """Features and predictions for the three models that log them; other events leave
    them null to keep the database small."""
    models = [m for m in MODELS if m.features and np.any(model_of == m.name)]
    if not models:
        return None, None
    features: list = [None] * len(traffic.ts)
    prediction: list = [None] * len(traffic.ts)
    for model in models:
        idx = np.flatnonzero(model_of == model.name)
        if model.features == "drifting":
            begin, end = us(plan.drift_start), us(plan.now)
            rows, answers = _credit_inputs(
                rng, np.clip((traffic.ts[idx] - begin) / (end - begin), 0, 1)
            )
        elif model.features == "login":
            rows, answers = _login_inputs(rng, len(idx))
        else:
            rows, answers = _send_time_inputs(rng, len(idx))
        for k, i in enumerate(idx):
            features[i] = rows[k]
            prediction[i] = None if traffic.error[i] else answers[k]  # failures answer nothing
    return features, prediction
