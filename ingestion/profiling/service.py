"""Store a dataset version with its profile: from an uploaded file, a pushed JSON profile
or a whylogs profile. The profile is computed before anything is written, and the rows are
written in one transaction, so a refused or failed upload leaves nothing behind."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files import File
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from ingestion.profiling.errors import ProfileError
from ingestion.profiling.profiler import ProfileMetadata, file_profile
from ingestion.profiling.readers import Limits
from ingestion.profiling.whylogs_map import whylogs_profile
from ingestion.validation import BatchRejected, ItemError
from lifecycle.catalog.models import Dataset, DatasetVersion, Team, name_validator
from lifecycle.dataprep.models import DatasetProfile, ProfileSource
from lifecycle.dataprep.profiles import ProfileInvalid, profile_validate

UPLOAD_REJECTED = "The upload was rejected; nothing of it was stored."


class UploadRejected(BatchRejected):
    """A request that names something wrong outside the file itself; answered with the
    body every push answers with. 403 is a team-scope refusal, 409 a version clash."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        forbidden = status == 403
        super().__init__(
            [ItemError(None, field, message, forbidden=forbidden)],
            status=None if forbidden else status,
            detail=UPLOAD_REJECTED,
        )
        self.field = field
        self.message = message


def profile_error_rejection(error: ProfileError) -> BatchRejected:
    """A file that cannot be profiled, as the push body: the field `file` and its code."""
    return BatchRejected(
        [ItemError(None, "file", error.message)],
        status=error.status,
        detail=UPLOAD_REJECTED,
        code=error.code,
    )


@dataclass(frozen=True)
class VersionTarget:
    dataset: str
    version: str | None
    team: Team | None
    uploaded_by: str
    # The uploading API token's id (None for a session), recorded as `pushed_by`.
    pushed_by_id: int | None = None


def _newest(profile: dict[str, Any]) -> datetime | None:
    value = profile["dataset"].get("newest_record_at")
    return parse_datetime(value) if isinstance(value, str) else None


def _next_version(dataset: Dataset) -> str:
    numbers = [int(v) for v in dataset.versions.values_list("version", flat=True) if v.isdigit()]
    return str(max(numbers, default=0) + 1)


def _store(
    *,
    target: VersionTarget,
    profile: dict[str, Any],
    source: str,
    raw_path: Path | None = None,
) -> DatasetProfile:
    if target.version is not None:
        try:
            name_validator(target.version)
        except Exception as exc:
            raise UploadRejected("version", "may not contain '/' or surrounding blanks.") from exc
    try:
        with transaction.atomic():
            dataset = Dataset.objects.select_for_update().filter(name=target.dataset).first()
            if dataset is None:
                if target.team is None:
                    raise UploadRejected(
                        "team", f"dataset {target.dataset!r} is new: say which team owns it."
                    )
                name_validator(target.dataset)
                dataset = Dataset.objects.create(name=target.dataset, team=target.team)
            version = target.version or _next_version(dataset)
            if dataset.versions.filter(version=version).exists():
                raise UploadRejected(
                    "version", f"{dataset.name} already has a version {version!r}.", 409
                )
            dataset_version = DatasetVersion.objects.create(
                dataset=dataset,
                version=version,
                created_at=timezone.now(),
                pushed_by_id=target.pushed_by_id,
            )
            stored = DatasetProfile(
                version=dataset_version,
                source=source,
                file_name=(profile["source"].get("file_name") or "")[:255],
                file_bytes=profile["source"].get("bytes"),
                rows=profile["rows"],
                columns=profile["columns"],
                completeness_pct=profile["dataset"].get("completeness_pct"),
                newest_record_at=_newest(profile),
                profile=profile,
                uploaded_by=target.uploaded_by[:200],
            )
            if raw_path is not None and settings.DATASET_KEEP_RAW_FILES:
                with open(raw_path, "rb") as handle:
                    stored.raw_file.save(stored.file_name or "upload", File(handle), save=False)
            try:
                stored.save()
            except Exception:  # the rows roll back; the kept file must go with them
                if stored.raw_file:
                    stored.raw_file.delete(save=False)
                raise
            return stored
    except IntegrityError as exc:  # a concurrent upload took the same version name
        raise UploadRejected("version", f"version clash: {exc}", 409) from exc


def dataset_file_upload(
    *,
    target: VersionTarget,
    path: Path,
    file_name: str,
    declared: str | None = None,
    delimiter: str | None = None,
    metadata: ProfileMetadata | None = None,
    limits: Limits | None = None,
) -> DatasetProfile:
    """Profile an uploaded CSV/Parquet file (or whylogs .bin when declared so) and store
    it as a new version. Raises ProfileError or UploadRejected; stores nothing then."""
    if declared == "whylogs" or (declared is None and file_name.lower().endswith(".bin")):
        profile = whylogs_profile(path=path, name=file_name)
        return _store(target=target, profile=profile, source=ProfileSource.WHYLOGS)
    profile = file_profile(
        path=path,
        name=file_name,
        limits=limits,
        declared=declared,
        delimiter=delimiter,
        metadata=metadata,
    )
    return _store(target=target, profile=profile, source=profile["source"]["kind"], raw_path=path)


def dataset_profile_push(*, target: VersionTarget, data: Any) -> DatasetProfile:
    """Store a profile computed elsewhere, sent in the kpiboard JSON format."""
    try:
        profile = profile_validate(data)
    except ProfileInvalid as exc:
        raise UploadRejected(exc.field, exc.reason) from exc
    return _store(target=target, profile=profile, source=ProfileSource.JSON)


__all__ = [
    "ProfileError",
    "UploadRejected",
    "VersionTarget",
    "dataset_file_upload",
    "dataset_profile_push",
    "profile_error_rejection",
]
