"""Serving traffic, endpoint by endpoint: when requests come (daily and weekly seasons, a
nightly batch burst), which deployment serves each, who calls, how fast, what fails (the
background rate and the incidents) and what a shadow answers. Each endpoint draws from
its own numpy Generator seeded from (seed, endpoint name)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from demo.inputs import inputs_draw
from demo.plan import CLASSES, DAY, EPOCH, HOUR, Plan, failure_code, us
from demo.specs import BATCH, MODELS, SHADOW, STREAMING, EndpointSpec, model_spec

# Ordinary background errors: mostly clients sending bad input, and slow calls.
_BASELINE_MIX = {"bad_request": 0.4, "timeout": 0.25, "dependency": 0.2, "other": 0.15}
_MIN_BURST = 6  # every incident leaves at least this many failed calls, at any scale


@dataclass
class Traffic:
    """One endpoint's requests as parallel arrays; `dep` indexes plan.deployments."""

    ts: np.ndarray  # event time, microseconds since the epoch
    dep: np.ndarray
    load: np.ndarray  # how busy the endpoint was that hour, 0..1
    error: np.ndarray  # 0 for ok, else a failure class code (see failure_code)
    forced: np.ndarray  # True for the extra failed calls an incident brings
    caller: np.ndarray | None = None
    latency: np.ndarray | None = None  # nan where nothing answered
    cost: np.ndarray | None = None  # nan where the model's unit cost applies
    features: list | None = None
    prediction: list | None = None
    # For a shadow's copy, the position of the request it mirrors (-1 for the originals).
    origin: np.ndarray | None = None

    def take(self, keep: np.ndarray) -> Traffic:
        def pick(values):
            if values is None or isinstance(values, np.ndarray):
                return None if values is None else values[keep]
            return [values[i] for i in np.arange(len(self.ts))[keep]]

        return Traffic(*(pick(getattr(self, f)) for f in self.__dataclass_fields__))

    @staticmethod
    def join(parts: list[Traffic]) -> Traffic:
        def glue(name):
            values = [getattr(p, name) for p in parts]
            if values[0] is None:
                return None
            if isinstance(values[0], np.ndarray):
                return np.concatenate(values)
            return [x for v in values for x in v]

        return Traffic(*(glue(f) for f in Traffic.__dataclass_fields__))


def _hourly_load(spec: EndpointSpec, hours: np.ndarray) -> np.ndarray:
    """Relative load per hour, averaging 1 over a week: streaming traffic follows the
    working day and the week, a batch job runs in a nightly burst."""
    hour = (hours // HOUR) % 24
    weekday = (hours // DAY + 3) % 7  # 1970-01-01 was a Thursday; Monday is 0
    weekly = np.where(weekday >= 5, spec.weekend, 1.0) * 7 / (5 + 2 * spec.weekend)
    if spec.mode == BATCH:
        in_burst = (hour - spec.peak_hour) % 24 < spec.spread_hours
        return np.where(in_burst, 24 / spec.spread_hours, 0.0) * weekly

    def shape(h):
        distance = np.minimum(abs(h - spec.peak_hour), 24 - abs(h - spec.peak_hour))
        return 0.15 + np.exp(-0.5 * (distance / spec.spread_hours) ** 2)

    return shape(hour) / shape(np.arange(24)).mean() * weekly


def _assign(ts: np.ndarray, candidates: list[int], plan: Plan, u: np.ndarray) -> np.ndarray:
    """Which deployment served each request: one of those live at its time, by traffic
    share (-1 where none was live)."""
    deps = plan.deployments
    start, end = us(plan.start), us(plan.now)
    cuts = {start, end}
    for i in candidates:
        for t in (deps[i].start, deps[i].end or plan.now):
            cuts.add(min(max(us(t), start), end))
    edges = np.array(sorted(cuts), dtype=np.int64)
    interval = np.searchsorted(edges, ts, side="right") - 1
    chosen = np.full(len(ts), -1, dtype=np.int64)
    for k in range(len(edges) - 1):
        at = EPOCH + timedelta(microseconds=int(edges[k]))
        live = [i for i in candidates if deps[i].active_at(at) and deps[i].share > 0]
        if not live:
            continue
        cum = np.cumsum([deps[i].share for i in live])
        here = interval == k
        pick = np.searchsorted(cum / cum[-1], u[here], side="right").clip(max=len(live) - 1)
        chosen[here] = np.array(live)[pick]
    return chosen


def traffic_simulate(spec: EndpointSpec, plan: Plan, *, volume: float) -> Traffic:
    rng = np.random.default_rng([plan.seed, zlib.crc32(spec.name.encode())])
    start, end = us(plan.start), us(plan.now)
    deps = plan.deployments
    here = [i for i, d in enumerate(deps) if d.version.model.endpoint == spec.name]
    live = [i for i in here if deps[i].role != SHADOW]

    hours = np.arange(start, end, HOUR, dtype=np.int64)
    load = _hourly_load(spec, hours)
    day = (hours - start) // DAY
    noise = rng.gamma(30, 1 / 30, day.max() + 1)[day]
    trend = 1 + 0.08 * (hours - start) / (end - start)  # the business grows a little
    counts = rng.poisson(spec.daily_volume / 24 * volume * load * noise * trend)
    ts = np.repeat(hours, counts) + rng.integers(0, HOUR, counts.sum())
    relative = np.repeat(load / load.max(), counts)
    n = len(ts)
    traffic = Traffic(
        ts,
        _assign(ts, live, plan, rng.random(n)),
        relative,
        np.zeros(n, np.int8),
        np.zeros(n, bool),
    )
    traffic = traffic.take((traffic.ts < end) & (traffic.dep >= 0))

    # Failing calls are retried, so an incident also brings extra failed requests.
    parts = [traffic]
    for incident in plan.incidents:
        if model_spec(incident.spec.model).endpoint != spec.name:
            continue
        begin, finish = us(incident.start), us(incident.end)
        own = [i for i in live if deps[i].version.model.name == incident.spec.model]
        hit = np.isin(traffic.dep, own) & (traffic.ts >= begin) & (traffic.ts < finish)
        expected = incident.spec.error_share * hit.sum()
        extra = rng.poisson(incident.spec.retries * expected) + max(0, _MIN_BURST - int(expected))
        extra_ts = rng.integers(begin, finish, extra)
        code = failure_code(incident.spec.failure_class)
        parts.append(
            Traffic(
                extra_ts,
                _assign(extra_ts, own, plan, rng.random(extra)),
                np.ones(extra),
                np.full(extra, code, np.int8),
                np.ones(extra, bool),
            )
        )
    traffic = Traffic.join(parts)
    traffic = traffic.take(traffic.dep >= 0)
    traffic = traffic.take(np.argsort(traffic.ts, kind="stable"))
    _outcomes_draw(traffic, spec, plan, rng)
    traffic.origin = np.full(len(traffic.ts), -1, dtype=np.int64)
    shadows = [i for i in here if deps[i].role == SHADOW]
    return Traffic.join([traffic, *(_shadow_copy(traffic, s, plan, rng) for s in shadows)])


def _outcomes_draw(
    traffic: Traffic, spec: EndpointSpec, plan: Plan, rng: np.random.Generator
) -> None:
    """Callers, latencies, errors (background and incidents), costs and inputs."""
    deps, n = plan.deployments, len(traffic.ts)
    model_of = np.array([deps[i].version.model.name for i in traffic.dep], dtype=object)
    traffic.caller = np.empty(n, dtype=object)
    traffic.cost = np.full(n, np.nan)
    latency = np.empty(n)
    background = rng.random(n)
    for model in (m for m in MODELS if m.endpoint == spec.name):
        mine = model_of == model.name
        k = int(mine.sum())
        numbers = plan.numbers[model.name]
        weights = 1 / np.arange(1, len(model.callers) + 1) ** 1.3  # a main app and a tail
        callers = np.array(model.callers, dtype=object)
        traffic.caller[mine] = callers[rng.choice(len(callers), k, p=weights / weights.sum())]
        factor = np.array([deps[i].version.latency_factor for i in traffic.dep[mine]])
        busy = 1 + 0.15 * traffic.load[mine] if model.mode == STREAMING else 1.0
        spread = rng.lognormal(0, numbers.latency_sigma, k)
        latency[mine] = numbers.latency_median_ms * factor * busy * spread
        if model.variable_cost:
            # Longer answers cost more tokens, and take longer.
            traffic.cost[mine] = float(model.unit_cost_usd) * spread**1.5
        failed = mine & (background < numbers.error_rate) & (traffic.error == 0)
        mix = [failure_code(c) for c in _BASELINE_MIX]
        traffic.error[failed] = rng.choice(mix, failed.sum(), p=list(_BASELINE_MIX.values()))

    for incident in plan.incidents:
        inc = incident.spec
        if model_spec(inc.model).endpoint != spec.name:
            continue
        code = failure_code(inc.failure_class)
        if inc.caller:
            traffic.caller[traffic.forced & (traffic.error == code)] = inc.caller
        hit = (model_of == inc.model) & (traffic.ts >= us(incident.start))
        hit &= traffic.ts < us(incident.end)
        if inc.caller:
            hit &= traffic.caller == inc.caller
        latency[hit] *= inc.slowdown
        fails = hit & ~traffic.forced & (rng.random(n) < inc.error_share)
        traffic.error[fails] = code

    timeout = np.array([plan.numbers[name].timeout_ms for name in model_of])
    is_ = {c: traffic.error == failure_code(c) for c in CLASSES}
    latency[is_["bad_request"]] = rng.uniform(1, 6, is_["bad_request"].sum())  # rejected fast
    latency[is_["deployment"]] = rng.uniform(2, 15, is_["deployment"].sum())
    latency[is_["timeout"]] = timeout[is_["timeout"]]
    slow = is_["dependency"]  # waited on the dependency, then gave up
    latency[slow] = np.minimum(latency[slow] * 3, timeout[slow])
    latency[is_["downtime"]] = np.nan  # nothing answered
    traffic.latency = np.round(np.minimum(latency, timeout), 2)
    traffic.features, traffic.prediction = inputs_draw(traffic, plan, rng, model_of)


def _shadow_copy(traffic: Traffic, s: int, plan: Plan, rng: np.random.Generator) -> Traffic:
    """A shadow sees a copy of each request its model's live versions serve (mirrored
    after request validation, so not the bad requests), and answers it a moment later."""
    shadow = plan.deployments[s]
    model = shadow.version.model
    end = us(shadow.end or plan.now)
    copy = (
        np.array([plan.deployments[i].version.model is model for i in traffic.dep], bool)
        & (traffic.ts >= us(shadow.start))
        & (traffic.ts < end)
        & (traffic.error != failure_code("bad_request"))
    )
    mirror = traffic.take(copy)
    mirror.origin = np.flatnonzero(copy)
    n = len(mirror.ts)
    numbers = plan.numbers[model.name]
    latency = numbers.latency_median_ms * shadow.version.latency_factor
    latency = latency * (1 + 0.15 * mirror.load) * rng.lognormal(0, numbers.latency_sigma, n)
    error = np.where(rng.random(n) < numbers.error_rate, failure_code("other"), 0).astype(np.int8)
    mirror.ts = np.minimum(mirror.ts + rng.integers(1_000, 50_000, n), end - 1_000)
    mirror.dep = np.full(n, s)
    mirror.error, mirror.forced = error, np.zeros(n, bool)
    mirror.latency = np.round(np.where(error > 0, np.nan, latency), 2)
    if mirror.prediction is not None:
        mirror.prediction = [
            None if e else _perturb(p, rng) for p, e in zip(mirror.prediction, error, strict=True)
        ]
    return mirror


def _perturb(value: object, rng: np.random.Generator) -> object:
    """The challenger's answer: close to the champion's, not identical."""
    if isinstance(value, float):
        return round(min(1.0, max(0.0, value + rng.normal(0, 0.012))), 4)
    return value
