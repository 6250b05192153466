"""Deployment's providers for the KPI engine: every deployment KPI of a request from its
deployments, versions and ledger, each read at most once (`deployment_inputs`)."""

from __future__ import annotations

from lifecycle.catalog.kpis import KPI_DEFINITIONS, KpiRequest, KpiValue, kpi_provide
from lifecycle.deployment.kpis.definitions import (
    CHANGE_FAILURE_RATE,
    DEPLOYMENT_FREQUENCY,
    DEPLOYMENTS,
    FAILED_DEPLOYMENTS,
    LEAD_TIME_PROMOTION,
    LEAD_TIME_TRAFFIC,
    LEAD_TIME_TRAINING,
    MODELS_IN_PRODUCTION,
    MULTI_MODEL_ENDPOINTS,
    NEW_MODELS_DEPLOYED,
    PHASE,
    ROLLBACKS,
    TIME_TO_DEPLOY_MEAN,
    TIME_TO_DEPLOY_MEDIAN,
    TIME_TO_RESTORE,
    VERSIONS_IN_CANARY,
    VERSIONS_IN_SHADOW,
)
from lifecycle.deployment.kpis.delivery import new_models_deployed, versions_in_roles
from lifecycle.deployment.kpis.endpoints import multi_model_endpoints
from lifecycle.deployment.kpis.inputs import deployment_inputs
from lifecycle.deployment.kpis.milestones import lead_times, models_in_production, time_to_deploy


def _by_id(values: list[KpiValue]) -> dict[str, KpiValue]:
    return {kpi.definition.id: kpi for kpi in values}


# Four providers, not one: each reads only what its KPIs need (the portfolio asks for
# models in production and time to deploy, and should not pay for the delivery report).
def roles_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    inputs = deployment_inputs(request)
    return _by_id(
        [
            models_in_production(inputs.production_model_ids),
            new_models_deployed(inputs.unwindowed, time_range=inputs.time_range),
            *versions_in_roles(inputs.deployments, time_range=inputs.time_range),
        ]
    )


def milestone_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    inputs = deployment_inputs(request)
    return _by_id(
        [
            *time_to_deploy(inputs.milestones, time_range=inputs.time_range),
            *lead_times(inputs.milestones, time_range=inputs.time_range),
        ]
    )


def delivery_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    return _by_id(deployment_inputs(request).delivery.kpis)


def endpoint_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    return _by_id([multi_model_endpoints(deployment_inputs(request).traffic_split)])


# In the order the page and the API show them.
DEPLOYMENT_KPI_IDS = [
    d.id
    for d in (
        MODELS_IN_PRODUCTION,
        TIME_TO_DEPLOY_MEDIAN,
        TIME_TO_DEPLOY_MEAN,
        LEAD_TIME_TRAINING,
        LEAD_TIME_PROMOTION,
        LEAD_TIME_TRAFFIC,
        DEPLOYMENTS,
        DEPLOYMENT_FREQUENCY,
        CHANGE_FAILURE_RATE,
        TIME_TO_RESTORE,
        FAILED_DEPLOYMENTS,
        ROLLBACKS,
        NEW_MODELS_DEPLOYED,
        VERSIONS_IN_SHADOW,
        VERSIONS_IN_CANARY,
        MULTI_MODEL_ENDPOINTS,
    )
]
assert {*DEPLOYMENT_KPI_IDS} == {d.id for d in KPI_DEFINITIONS.values() if d.phase == PHASE}

kpi_provide(
    name="deployment.roles",
    ids=[
        MODELS_IN_PRODUCTION.id,
        NEW_MODELS_DEPLOYED.id,
        VERSIONS_IN_SHADOW.id,
        VERSIONS_IN_CANARY.id,
    ],
    compute=roles_kpis_compute,
)
kpi_provide(
    name="deployment.milestones",
    ids=[
        TIME_TO_DEPLOY_MEDIAN.id,
        TIME_TO_DEPLOY_MEAN.id,
        LEAD_TIME_TRAINING.id,
        LEAD_TIME_PROMOTION.id,
        LEAD_TIME_TRAFFIC.id,
    ],
    compute=milestone_kpis_compute,
)
kpi_provide(
    name="deployment.delivery",
    ids=[
        DEPLOYMENTS.id,
        DEPLOYMENT_FREQUENCY.id,
        CHANGE_FAILURE_RATE.id,
        TIME_TO_RESTORE.id,
        FAILED_DEPLOYMENTS.id,
        ROLLBACKS.id,
    ],
    compute=delivery_kpis_compute,
)
kpi_provide(
    name="deployment.endpoints", ids=[MULTI_MODEL_ENDPOINTS.id], compute=endpoint_kpis_compute
)
