from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone

from lifecycle.catalog.models import (
    ApiToken,
    Dataset,
    DatasetVersion,
    Deployment,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    Role,
    ServingEvent,
    Team,
    WorkerHeartbeat,
)
from lifecycle.catalog.roles import role_of
from lifecycle.catalog.services import delete_blockers
from lifecycle.catalog.tokens import api_token_key_issue


class DeleteGuardedAdmin(admin.ModelAdmin):
    """Refuses, as the API does, a delete that would cascade away or unlink facts (serving
    events, rollups, the ledger ...): the admin lists them as protected and deletes nothing."""

    def get_deleted_objects(self, objs, request):  # type: ignore[no-untyped-def]
        deleted, counts, perms_needed, protected = super().get_deleted_objects(objs, request)
        protected = list(protected)
        for obj in objs:
            for kind, names in delete_blockers(instance=obj).items():
                protected += [f"{obj}: {kind}: {name}" for name in names]
        return deleted, counts, perms_needed, protected


@admin.register(Industry)
class IndustryAdmin(DeleteGuardedAdmin):
    search_fields = ["name"]


@admin.register(Team)
class TeamAdmin(DeleteGuardedAdmin):
    list_display = ["name", "business_unit"]
    search_fields = ["name", "business_unit"]


class ModelVersionInline(admin.TabularInline):
    model = ModelVersion
    extra = 0
    # A version is deleted from its own page, where what refers to it is checked first.
    can_delete = False
    fields = ["version", "registered_at", "run_id"]
    show_change_link = True


@admin.register(RegisteredModel)
class RegisteredModelAdmin(DeleteGuardedAdmin):
    list_display = [
        "name",
        "team",
        "industry",
        "serving_mode",
        "unit_cost_usd",
        "sla_latency_p95_ms",
        "sla_error_rate",
        "sla_uptime",
    ]
    list_filter = ["serving_mode", "industry", "team"]
    search_fields = ["name"]
    inlines = [ModelVersionInline]


@admin.register(ModelVersion)
class ModelVersionAdmin(DeleteGuardedAdmin):
    list_display = ["model", "version", "registered_at", "run_id", "seen_in_serving_at"]
    list_filter = ["model__industry", ("seen_in_serving_at", admin.EmptyFieldListFilter)]
    search_fields = ["model__name", "version", "run_id"]
    filter_horizontal = ["datasets"]


@admin.register(Endpoint)
class EndpointAdmin(DeleteGuardedAdmin):
    list_display = ["name", "team", "url", "seen_in_serving_at"]
    list_filter = [("seen_in_serving_at", admin.EmptyFieldListFilter)]
    search_fields = ["name"]


@admin.register(Deployment)
class DeploymentAdmin(DeleteGuardedAdmin):
    list_display = ["model_version", "endpoint", "role", "traffic_share", "started_at", "ended_at"]
    list_filter = ["role", "endpoint"]
    search_fields = ["model_version__model__name", "endpoint__name"]


class DatasetVersionInline(admin.TabularInline):
    model = DatasetVersion
    extra = 0
    can_delete = False


@admin.register(Dataset)
class DatasetAdmin(DeleteGuardedAdmin):
    list_display = ["name", "team", "source"]
    search_fields = ["name"]
    inlines = [DatasetVersionInline]


@admin.register(ApiToken)
class ApiTokenAdmin(admin.ModelAdmin):
    list_display = [
        "prefix",
        "team",
        "role",
        "name",
        "created_at",
        "expires_at",
        "revoked_at",
        "last_used_at",
    ]
    list_filter = ["role", "team"]
    fields = [
        "team",
        "role",
        "name",
        "expires_at",
        "prefix",
        "created_at",
        "created_by",
        "revoked_at",
        "last_used_at",
    ]
    readonly_fields = ["prefix", "created_at", "created_by", "revoked_at", "last_used_at"]
    actions = ["revoke"]

    # A token mints access, so only admins make, change or revoke one, whatever a group
    # was granted by hand: the role table is the rule, this is the second lock.
    def _is_admin(self, request: HttpRequest) -> bool:
        return role_of(request.user) == Role.ADMIN

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request) and super().has_add_permission(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_admin(request) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_admin(request) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: ApiToken, form: object, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        key = api_token_key_issue(obj)
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        messages.warning(
            request,
            f"New API token for {obj.team.name}: {key} — copy it now, it is not shown again.",
        )

    @admin.action(description="Revoke the selected tokens")
    def revoke(self, request: HttpRequest, queryset: QuerySet[ApiToken]) -> None:
        count = queryset.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
        messages.info(request, f"Revoked {count} token(s).")


@admin.register(ServingEvent)
class ServingEventAdmin(admin.ModelAdmin):
    list_display = [
        "event_id",
        "timestamp",
        "model",
        "model_version",
        "endpoint",
        "status",
        "error_type",
        "latency_ms",
        "caller",
    ]
    list_filter = ["status", "error_type"]
    search_fields = ["event_id", "caller"]
    raw_id_fields = ["model", "model_version", "endpoint"]
    date_hierarchy = "timestamp"
    show_full_result_count = False  # counting millions of rows on every page is slow


@admin.register(WorkerHeartbeat)
class WorkerHeartbeatAdmin(admin.ModelAdmin):
    list_display = ["hostname", "pid", "beat_at"]
