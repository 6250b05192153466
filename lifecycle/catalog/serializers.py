from __future__ import annotations

from rest_framework import serializers

from lifecycle.catalog.models import (
    SEEN_IN_SERVING_HELP,
    Deployment,
    Endpoint,
    Industry,
    ModelVersion,
    RegisteredModel,
    Team,
)


def _seen_in_serving_only_field() -> serializers.BooleanField:
    return serializers.BooleanField(read_only=True, help_text=SEEN_IN_SERVING_HELP)


class IndustrySerializer(serializers.ModelSerializer):
    class Meta:
        model = Industry
        fields = ["name", "description"]


class TeamSerializer(serializers.ModelSerializer):
    class Meta:
        model = Team
        fields = ["name", "business_unit", "description"]


class RegisteredModelSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(slug_field="name", queryset=Team.objects.all())
    industry = serializers.SlugRelatedField(slug_field="name", queryset=Industry.objects.all())

    class Meta:
        model = RegisteredModel
        fields = [
            "name",
            "description",
            "team",
            "industry",
            "serving_mode",
            "unit_cost_usd",
            "sla_latency_p95_ms",
            "sla_error_rate",
            "sla_uptime",
            "created_at",
            "archived_at",
        ]
        read_only_fields = ["created_at"]


class ModelVersionSerializer(serializers.ModelSerializer):
    model = serializers.SlugRelatedField(slug_field="name", read_only=True)
    seen_in_serving_only = _seen_in_serving_only_field()

    class Meta:
        model = ModelVersion
        fields = [
            "model",
            "version",
            "registered_at",
            "run_id",
            "description",
            "seen_in_serving_only",
            "seen_in_serving_at",
        ]
        read_only_fields = ["seen_in_serving_at"]

    def validate_version(self, value: str) -> str:
        model = self.context["registered_model"]
        clash = ModelVersion.objects.filter(model=model, version=value)
        if self.instance is not None:
            clash = clash.exclude(pk=self.instance.pk)
        if clash.exists():
            raise serializers.ValidationError(f"{model.name} already has a version {value!r}.")
        return value


class EndpointSerializer(serializers.ModelSerializer):
    team = serializers.SlugRelatedField(
        slug_field="name", queryset=Team.objects.all(), required=False, allow_null=True
    )

    seen_in_serving_only = _seen_in_serving_only_field()

    class Meta:
        model = Endpoint
        fields = [
            "name",
            "team",
            "url",
            "description",
            "seen_in_serving_only",
            "seen_in_serving_at",
        ]
        read_only_fields = ["seen_in_serving_at"]


class DeploymentSerializer(serializers.ModelSerializer):
    model = serializers.CharField(source="model_version.model.name")
    version = serializers.CharField(source="model_version.version")
    endpoint = serializers.SlugRelatedField(slug_field="name", queryset=Endpoint.objects.all())

    class Meta:
        model = Deployment
        fields = [
            "id",
            "model",
            "version",
            "endpoint",
            "role",
            "traffic_share",
            "started_at",
            "ended_at",
        ]

    def validate(self, attrs: dict) -> dict:
        mv = attrs.pop("model_version", None)
        if mv is not None:
            # A partial update may name only the model or only the version: the other
            # half is the deployment's current one.
            current = getattr(self.instance, "model_version", None)
            model_name = mv.get("model", {}).get("name") or (current and current.model.name)
            version = mv.get("version") or (current and current.version)
            if not model_name or not version:
                missing = "version" if model_name else "model"
                raise serializers.ValidationError({missing: "This field is required."})
            found = ModelVersion.objects.filter(model__name=model_name, version=version).first()
            if found is None:
                raise serializers.ValidationError(
                    {"version": f"model {model_name!r} has no version {version!r}."}
                )
            attrs["model_version"] = found
        started = attrs.get("started_at", getattr(self.instance, "started_at", None))
        ended = attrs.get("ended_at", getattr(self.instance, "ended_at", None))
        if started and ended and ended <= started:
            raise serializers.ValidationError({"ended_at": "must be after started_at."})
        return attrs
