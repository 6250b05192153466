from __future__ import annotations

from typing import Any

from rest_framework import serializers

from lifecycle.catalog.models import Endpoint, Industry, Team
from lifecycle.deployment.hosts import registry_url_problem
from lifecycle.deployment.models import LifecycleChange, Registry


class RegistrySerializer(serializers.ModelSerializer):
    """Credentials go in and never come out: only whether they are set is shown."""

    default_team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    default_industry = serializers.SlugRelatedField(
        slug_field="name", queryset=Industry.objects.all()
    )
    deploy_endpoint = serializers.SlugRelatedField(
        slug_field="name", queryset=Endpoint.objects.all(), required=False, allow_null=True
    )
    secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    webhook_secret = serializers.CharField(
        write_only=True, required=False, allow_blank=True, style={"input_type": "password"}
    )
    has_secret = serializers.SerializerMethodField()
    has_webhook_secret = serializers.SerializerMethodField()

    class Meta:
        model = Registry
        fields = [
            "name",
            "kind",
            "base_url",
            "username",
            "secret",
            "has_secret",
            "webhook_secret",
            "has_webhook_secret",
            "enabled",
            "poll_interval_minutes",
            "page_size",
            "default_team",
            "default_industry",
            "default_serving_mode",
            "alias_roles",
            "production_stage",
            "deploy_endpoint",
            "created_at",
            "last_attempt_at",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "next_poll_at",
            "last_counts",
        ]
        read_only_fields = [
            "created_at",
            "last_attempt_at",
            "last_success_at",
            "last_error_at",
            "last_error",
            "consecutive_failures",
            "next_poll_at",
            "last_counts",
        ]

    def get_has_secret(self, registry: Registry) -> bool:
        return bool(registry.secret)

    def get_has_webhook_secret(self, registry: Registry) -> bool:
        return bool(registry.webhook_secret)

    def validate_base_url(self, value: str) -> str:
        problem = registry_url_problem(value)
        if problem:
            raise serializers.ValidationError(problem)
        return value.rstrip("/")

    def validate_alias_roles(self, value: Any) -> dict[str, str]:
        roles = ("production", "shadow", "canary")
        if not isinstance(value, dict) or not all(
            isinstance(k, str) and v in roles for k, v in value.items()
        ):
            raise serializers.ValidationError(f"must map alias names to one of {', '.join(roles)}")
        return value


class LifecycleChangeSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model.name")
    version = serializers.CharField(source="model_version.version", default=None)
    registry = serializers.CharField(source="registry.name", default=None)
    endpoint = serializers.CharField(source="endpoint.name", default=None)
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True)
    uncertainty_seconds = serializers.SerializerMethodField()

    class Meta:
        model = LifecycleChange
        fields = [
            "id",
            "kind",
            "source",
            "registry",
            "model",
            "version",
            "key",
            "old_value",
            "new_value",
            "role",
            "endpoint",
            "deployment",
            "happened_after",
            "happened_before",
            "uncertainty_seconds",
            "recorded_at",
            "detail",
            "supersedes",
        ]

    def get_uncertainty_seconds(self, change: LifecycleChange) -> float:
        return change.uncertainty.total_seconds()
