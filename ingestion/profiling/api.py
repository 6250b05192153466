"""`POST /api/v1/datasets/<name>/versions/`: upload a CSV/Parquet file (multipart field
`file`) or a whylogs `.bin`, or push a profile as JSON. The dataset is made on first
upload. Data teams, MLOps engineers and admins may write."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

from django.core.files.uploadedfile import TemporaryUploadedFile, UploadedFile
from django.core.files.uploadhandler import FileUploadHandler
from django.http import HttpRequest
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from ingestion.api import PushRefused, push_refused_response
from ingestion.profiling.errors import ProfileError
from ingestion.profiling.profiler import ProfileMetadata
from ingestion.profiling.readers import Limits
from ingestion.profiling.service import (
    UploadRejected,
    VersionTarget,
    dataset_file_upload,
    dataset_profile_push,
    profile_error_rejection,
)
from ingestion.schema import UPLOAD_RESPONSES
from ingestion.validation import BatchRejected, body_too_large, principal_token_id
from lifecycle.catalog.jsonbody import StrictJSONParser
from lifecycle.catalog.models import Dataset, Role, Team
from lifecycle.catalog.ownership import principal_may_write
from lifecycle.dataprep.api import DatasetVersionListView, version_summary
from lifecycle.dataprep.profiles import LABELING_TECHNIQUES, PARTIES

# Multipart framing around the file: boundaries, headers and the other fields.
_MULTIPART_OVERHEAD = 64 * 1024


class UploadLimitHandler(FileUploadHandler):
    """Refuses a body over the limit before reading it when it says its length, and
    counts the bytes of a body that does not (chunked), stopping as soon as it is over."""

    def __init__(self, request: HttpRequest, limit: int) -> None:
        super().__init__(request)
        self.limit = limit

    def _refuse(self) -> None:
        raise PushRefused(
            body_too_large(
                f"the upload is over the {self.limit / 1024**2:,.0f} MiB limit.", field="file"
            )
        )

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length and content_length > self.limit + _MULTIPART_OVERHEAD:
            self._refuse()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self._refuse()
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


def _choice(data: Any, field: str, allowed: tuple[str, ...]) -> str | None:
    value = data.get(field) or None
    if value is not None and value not in allowed:
        raise UploadRejected(field, f"must be one of {', '.join(allowed)}.")
    return value


def _metadata(data: Any) -> ProfileMetadata:
    augmented = data.get("augmented_pct") or None
    if augmented is not None:
        try:
            augmented = float(augmented)
        except ValueError as exc:
            raise UploadRejected("augmented_pct", "must be a number from 0 to 100.") from exc
        if not 0 <= augmented <= 100:
            raise UploadRejected("augmented_pct", "must be a number from 0 to 100.")
    return ProfileMetadata(
        augmented_pct=augmented,
        party=_choice(data, "party", PARTIES),
        labeling=_choice(data, "labeling", LABELING_TECHNIQUES),
        time_column=data.get("time_column") or None,
    )


def _json_kind(data: Any) -> str:
    if isinstance(data, list):
        return "a list"
    if isinstance(data, str):
        return "a string"
    if data is None:
        return "null"
    return (
        "a number" if isinstance(data, int | float) and not isinstance(data, bool) else "a boolean"
    )


def _team(request: Request) -> Team | None:
    principal_team = getattr(request.user, "team", None)
    name = request.data.get("team") or None
    if name is None:
        return principal_team
    team = Team.objects.filter(name=name).first()
    if team is None:
        raise UploadRejected("team", f"no team named {name!r}.")
    return team


class DatasetUploadSerializer(serializers.Serializer):
    """For the API docs: the multipart fields of an upload."""

    file = serializers.FileField(help_text="CSV (optionally gzipped), Parquet or whylogs .bin")
    version = serializers.CharField(required=False, help_text="Default: the next number")
    team = serializers.CharField(required=False, help_text="Owner of a new dataset")
    format = serializers.ChoiceField(["csv", "parquet", "whylogs"], required=False)
    delimiter = serializers.CharField(required=False, help_text="Default: detected")
    labeling = serializers.ChoiceField(list(LABELING_TECHNIQUES), required=False)
    party = serializers.ChoiceField(list(PARTIES), required=False)
    augmented_pct = serializers.FloatField(required=False, min_value=0, max_value=100)
    time_column = serializers.CharField(required=False)


class DatasetVersionUploadView(DatasetVersionListView):
    write_roles = frozenset({Role.ADMIN, Role.MLOPS, Role.DATA_TEAM})
    parser_classes = [MultiPartParser, StrictJSONParser]

    def initialize_request(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Request:
        # Installed before anything reads the body (the CSRF check of a session does).
        if request.method == "POST":
            limit = Limits.from_settings().max_bytes
            request.upload_handlers = [UploadLimitHandler(request, limit), *request.upload_handlers]
        return super().initialize_request(request, *args, **kwargs)

    @extend_schema(
        operation_id="dataset_version_upload",
        request={
            "multipart/form-data": DatasetUploadSerializer,
            "application/json": OpenApiTypes.OBJECT,
        },
        responses=UPLOAD_RESPONSES,
        description="Upload a file to profile (multipart `file`) or push a profile as JSON "
        '(`{"profile": {...}}` in the kpiboard format). The dataset is made on first upload.',
    )
    def post(self, request: Request, name: str) -> Response:
        try:
            stored = self._store(request, name)
        except BatchRejected as rejected:
            return push_refused_response(rejected)
        except ProfileError as exc:
            return push_refused_response(profile_error_rejection(exc))
        return Response(
            {**version_summary(stored.version, request), "profile": stored.profile},
            status=status.HTTP_201_CREATED,
        )

    def _store(self, request: Request, name: str):
        data = request.data
        if not hasattr(data, "get"):  # a JSON list, number or string
            raise UploadRejected(
                "body", f'must be a JSON object ({{"profile": {{...}}}}), not {_json_kind(data)}.'
            )
        for field in ("version", "team", "format", "delimiter"):
            if data.get(field) is not None and not isinstance(data.get(field), str):
                raise UploadRejected(field, "must be a string.")
        existing = Dataset.objects.select_related("team").filter(name=name).first()
        owner = existing.team if existing is not None else _team(request)
        if owner is not None and not principal_may_write(principal=request.user, team=owner):
            # A team's token writes its own team's datasets only (admins: any).
            field = "dataset" if existing is not None else "team"
            raise UploadRejected(
                field,
                f"{name!r} {'belongs' if existing else 'would belong'} to team {owner.name!r}; "
                f"a token of team {request.user.team.name!r} writes only its own team's "
                "datasets.",
                403,
            )
        target = VersionTarget(
            dataset=name,
            version=(data.get("version") or None),
            team=_team(request),
            uploaded_by=request.user.get_username(),
            pushed_by_id=principal_token_id(request.user),
        )
        if request.content_type.startswith("application/json"):
            return dataset_profile_push(target=target, data=data.get("profile", data))
        upload: UploadedFile | None = request.FILES.get("file")
        if upload is None:
            raise UploadRejected("file", "send the dataset as the multipart field `file`.")
        declared = _choice(data, "format", ("csv", "parquet", "whylogs"))
        delimiter = data.get("delimiter") or None
        if delimiter is not None and len(delimiter) != 1:
            raise UploadRejected("delimiter", "must be a single character.")
        metadata = _metadata(data)
        file_name = Path(upload.name or "upload").name
        if isinstance(upload, TemporaryUploadedFile):
            return dataset_file_upload(
                target=target,
                path=Path(upload.temporary_file_path()),
                file_name=file_name,
                declared=declared,
                delimiter=delimiter,
                metadata=metadata,
            )
        # Small uploads stay in memory; the readers want a path.
        with tempfile.NamedTemporaryFile(suffix=Path(file_name).suffix) as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
            handle.flush()
            return dataset_file_upload(
                target=target,
                path=Path(handle.name),
                file_name=file_name,
                declared=declared,
                delimiter=delimiter,
                metadata=metadata,
            )
