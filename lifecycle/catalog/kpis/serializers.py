"""The one KPI serializer: every KPI answer of the API, whichever phase it comes from."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rest_framework import serializers

from lifecycle.catalog.kpis.definitions import Direction, KpiValue
from lifecycle.catalog.kpis.units import Unit


class TargetMissSerializer(serializers.Serializer):
    """A target missed: the KPI whose target it was, its value and the target (in that
    KPI's unit), whose (a model, where the KPI spans several) and the same in words."""

    kpi = serializers.CharField()
    actual = serializers.FloatField()
    target = serializers.FloatField()
    unit = serializers.ChoiceField(choices=[u.value for u in Unit])
    model = serializers.CharField(allow_null=True)
    text = serializers.CharField()


class KpiSerializer(serializers.Serializer):
    """A KPI value with its definition. `low` and `high` bound a value known only within
    an interval, `previous` is the previous period's value when it was asked for,
    `parts` splits a count by kind and `misses` lists the targets missed (SLA
    compliance); each is present only where it applies."""

    id = serializers.CharField()
    label = serializers.CharField()
    value = serializers.FloatField(allow_null=True)
    unit = serializers.ChoiceField(choices=[u.value for u in Unit])
    phase = serializers.CharField()
    direction = serializers.ChoiceField(choices=[d.value for d in Direction])
    # False: the KPI is a state as of now or a fact of one object, with no previous period.
    compares = serializers.BooleanField()
    definition = serializers.CharField()
    low = serializers.FloatField(allow_null=True, required=False)
    high = serializers.FloatField(allow_null=True, required=False)
    previous = serializers.FloatField(allow_null=True, required=False)
    parts = serializers.DictField(child=serializers.FloatField(), required=False)
    misses = TargetMissSerializer(many=True, required=False)

    def to_representation(self, instance: KpiValue) -> dict[str, Any]:
        # The value type says which optional keys apply (bounds, previous, parts).
        return instance.as_dict()


def kpis_serialize(values: Iterable[KpiValue]) -> list[dict[str, Any]]:
    return KpiSerializer(list(values), many=True).data
