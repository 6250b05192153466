"""Deployment's provider for the KPI engine: every deployment KPI of a request from its
deployments, versions and ledger, read once (`deployment_inputs`)."""

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


def deployment_kpis_compute(request: KpiRequest) -> dict[str, KpiValue]:
    inputs = deployment_inputs(request)
    time_range = inputs.time_range
    kpis = [
        models_in_production(inputs.deployments, time_range=time_range),
        *time_to_deploy(inputs.milestones, time_range=time_range),
        *lead_times(inputs.milestones, time_range=time_range),
        *inputs.delivery.kpis,
        new_models_deployed(inputs.unwindowed, time_range=time_range),
        *versions_in_roles(inputs.deployments, time_range=time_range),
        multi_model_endpoints(inputs.traffic_split),
    ]
    return {kpi.definition.id: kpi for kpi in kpis}


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

kpi_provide(name="deployment", ids=DEPLOYMENT_KPI_IDS, compute=deployment_kpis_compute)
