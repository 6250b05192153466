"""Reading an MLflow model registry through its REST API (2.0 endpoints).

Two traps shape this module: the search endpoints return no aliases (they are read per
model with `registered-models/get`), and `last_updated_timestamp` moves on any edit, so
it is never taken as the time of a promotion (only as an upper bound of a stage change,
which does move it).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ingestion.registry.http import RegistryError, auth_header, json_get
from lifecycle.catalog.times import time_from_unix
from lifecycle.deployment.models import Registry

logger = logging.getLogger(__name__)

API = "/api/2.0/mlflow"
# MLflow answers at most 1,000 registered models per search page.
MAX_MODELS_PAGE = 1000
# Bound a poll's work: the runs of further new versions are read at the next poll.
MAX_RUNS_PER_POLL = 200


def ms_to_datetime(value: Any) -> datetime | None:
    """MLflow's milliseconds since the epoch as a UTC time; None when absent, and when
    out of the accepted range (logged), so one broken clock does not stop a poll."""
    if value in (None, ""):
        return None
    try:
        seconds = int(value) / 1000
    except (TypeError, ValueError, OverflowError):
        seconds = value  # time_from_unix names what is wrong with it
    moment = time_from_unix(seconds)
    if isinstance(moment, str):
        logger.warning("MLflow sent the time %r (ms), which kpiboard ignores: %s", value, moment)
        return None
    return moment


@dataclass(frozen=True)
class MlflowVersion:
    name: str
    version: str
    created_at: datetime
    updated_at: datetime | None
    stage: str
    status: str
    run_id: str
    description: str
    tags: dict[str, str]
    # The read that reported this version: sent and answered (kpiboard's clock).
    sent_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class MlflowModel:
    name: str
    tags: dict[str, str]
    description: str
    aliases: dict[str, str]  # alias -> version
    sent_at: datetime
    received_at: datetime


@dataclass(frozen=True)
class MlflowRun:
    run_id: str
    ended_at: datetime | None
    metrics: list[dict[str, Any]]
    missing: bool = False

    @property
    def final(self) -> bool:
        """Nothing more will change: the run ended, or it no longer exists."""
        return self.missing or self.ended_at is not None


@dataclass
class MlflowSnapshot:
    models: dict[str, MlflowModel] = field(default_factory=dict)
    versions: list[MlflowVersion] = field(default_factory=list)
    runs: dict[str, MlflowRun] = field(default_factory=dict)
    started_at: datetime | None = None
    finished_at: datetime | None = None
    requests: int = 0


def _tags(items: Any) -> dict[str, str]:
    if not isinstance(items, list):
        return {}
    return {
        str(t["key"]): str(t.get("value", "")) for t in items if isinstance(t, dict) and "key" in t
    }


def _field(item: dict[str, Any], name: str, where: str) -> Any:
    if name not in item:
        raise RegistryError(f"MLflow answered a {where} without `{name}`")
    return item[name]


def _version(item: dict[str, Any], sent: datetime, received: datetime) -> MlflowVersion:
    created = ms_to_datetime(_field(item, "creation_timestamp", "model version"))
    return MlflowVersion(
        name=str(_field(item, "name", "model version")),
        version=str(_field(item, "version", "model version")),
        created_at=created or received,
        updated_at=ms_to_datetime(item.get("last_updated_timestamp")),
        stage=str(item.get("current_stage", "None") or "None"),
        status=str(item.get("status", "") or ""),
        run_id=str(item.get("run_id", "") or ""),
        description=str(item.get("description", "") or ""),
        tags=_tags(item.get("tags")),
        sent_at=sent,
        received_at=received,
    )


class MlflowReader:
    """Reads one registry; `clock` is kpiboard's time, injectable for tests."""

    def __init__(
        self,
        registry: Registry,
        *,
        clock: Callable[[], datetime],
        on_page: Callable[[str, int], None] | None = None,
    ) -> None:
        self.registry = registry
        self.clock = clock
        # Called after each search page arrives (path, page number): progress for logs.
        self.on_page = on_page
        self.authorization = auth_header(username=registry.username, secret=registry.secret)
        self.requests = 0

    def get(self, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        self.requests += 1
        return json_get(
            base_url=self.registry.base_url,
            path=f"{API}/{path}",
            params=params,
            authorization=self.authorization,
        )

    def _paged(
        self, path: str, key: str, page_size: int, extra: dict[str, Any] | None = None
    ) -> Any:
        token = None
        seen_tokens: set[str] = set()
        page = 0
        while True:
            page += 1
            sent = self.clock()
            answer = self.get(
                path, {"max_results": page_size, "page_token": token, **(extra or {})}
            )
            received = self.clock()
            items = answer.get(key, [])
            if not isinstance(items, list):
                raise RegistryError(f"MLflow answered `{key}` that is not a list")
            yield items, sent, received
            if self.on_page is not None:
                self.on_page(path, page)
            token = answer.get("next_page_token") or None
            if token is None:
                return
            if token in seen_tokens:
                raise RegistryError("MLflow repeated a page token; stopping to avoid a loop")
            seen_tokens.add(token)

    def snapshot(
        self,
        *,
        known_versions: set[tuple[str, str]],
        runs_wanted: Callable[[MlflowVersion], bool],
    ) -> MlflowSnapshot:
        """Everything the registry holds now. `known_versions` are those kpiboard saw
        before: one missing from the search pages is asked for by name before it is taken
        as deleted, since offset-based page tokens skip items when the registry changes
        while we page through it."""
        snapshot = MlflowSnapshot(started_at=self.clock())
        page_size = min(self.registry.page_size, MAX_MODELS_PAGE)
        names: dict[str, dict[str, Any]] = {}
        for items, _, _ in self._paged("registered-models/search", "registered_models", page_size):
            for item in items:
                names[str(_field(item, "name", "registered model"))] = item
        for name, _ in known_versions:
            names.setdefault(name, {})
        for name, item in names.items():
            sent = self.clock()
            detail = self._registered_model(name)
            received = self.clock()
            if detail is None:
                continue  # deleted from the registry
            aliases = {
                str(a["alias"]): str(a["version"])
                for a in detail.get("aliases", []) or []
                if isinstance(a, dict) and "alias" in a and "version" in a
            }
            snapshot.models[name] = MlflowModel(
                name=name,
                tags=_tags(detail.get("tags") or item.get("tags")),
                description=str(detail.get("description", "") or ""),
                aliases=aliases,
                sent_at=sent,
                received_at=received,
            )
        seen: set[tuple[str, str]] = set()
        # Oldest first: versions created while we page land on the last page instead of
        # shifting every page (the default order, last update first, shifts on any edit).
        order = {"order_by": ["creation_timestamp ASC", "name ASC", "version_number ASC"]}
        for items, sent, received in self._paged(
            "model-versions/search", "model_versions", self.registry.page_size, order
        ):
            for item in items:
                version = _version(item, sent, received)
                if (version.name, version.version) not in seen:
                    seen.add((version.name, version.version))
                    snapshot.versions.append(version)
        for name, number in sorted(known_versions - seen):
            if name not in snapshot.models:
                continue
            sent = self.clock()
            item = self._model_version(name, number)
            if item is not None:
                snapshot.versions.append(_version(item, sent, self.clock()))
        wanted = [v for v in snapshot.versions if v.run_id and runs_wanted(v)]
        for version in wanted[:MAX_RUNS_PER_POLL]:
            if version.run_id not in snapshot.runs:
                snapshot.runs[version.run_id] = self.run(version.run_id)
        snapshot.finished_at = self.clock()
        snapshot.requests = self.requests
        return snapshot

    def _registered_model(self, name: str) -> dict[str, Any] | None:
        try:
            detail = self.get("registered-models/get", {"name": name}).get("registered_model")
        except RegistryError as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc):
                return None
            raise
        if not isinstance(detail, dict):
            raise RegistryError(f"MLflow answered no registered_model for {name!r}")
        return detail

    def _model_version(self, name: str, version: str) -> dict[str, Any] | None:
        try:
            answer = self.get("model-versions/get", {"name": name, "version": version})
        except RegistryError as exc:
            if "RESOURCE_DOES_NOT_EXIST" in str(exc):
                return None
            raise
        item = answer.get("model_version")
        return item if isinstance(item, dict) else None

    def run(self, run_id: str) -> MlflowRun:
        try:
            answer = self.get("runs/get", {"run_id": run_id})
        except RegistryError as exc:
            # A version may point at a run deleted since (or in another tracking server):
            # that is the run's problem, not the registry's.
            if "RESOURCE_DOES_NOT_EXIST" in str(exc):
                return MlflowRun(run_id=run_id, ended_at=None, metrics=[], missing=True)
            raise
        run = answer.get("run") or {}
        info = run.get("info") or {}
        metrics = (run.get("data") or {}).get("metrics") or []
        return MlflowRun(
            run_id=run_id,
            ended_at=ms_to_datetime(info.get("end_time")),
            metrics=[m for m in metrics if isinstance(m, dict) and "key" in m and "value" in m],
        )
