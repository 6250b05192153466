"""Deployment KPIs: filtered versions, deployments and ledger entries in, typed KPI values
out. The only place the deployment phase's KPI maths lives.

Times that come from a registry poll are known only within an interval, so the KPIs
built on them are `IntervalKpiValue`s: the value and the lowest and highest it could be.
A version's milestones (registered, promoted, first production deployment, first
production traffic) are gathered once per request by `version_milestones`; the KPIs are
pandas over that small table.

definitions: every KPI, declared once · milestones: time to deploy, lead times ·
delivery: deployments, failures, rollbacks, restores, roles · endpoints: traffic split,
champion vs challenger. Import from this package.
"""

from lifecycle.deployment.kpis.definitions import (  # noqa: F401
    CHANGE_FAILURE_RATE,
    DAY,
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
    IntervalKpiValue,
    number_or_none,
    settings_failure_days,
    settings_rollout_minutes,
)
from lifecycle.deployment.kpis.delivery import (  # noqa: F401
    DeliveryReport,
    delivery_report,
    deployments_frame,
    new_models_by_month,
    new_models_deployed,
    versions_in_roles,
)
from lifecycle.deployment.kpis.endpoints import (  # noqa: F401
    Comparison,
    SideSummary,
    champion_challenger,
    multi_model_endpoints,
    prediction_agreement,
    traffic_split,
)
from lifecycle.deployment.kpis.milestones import (  # noqa: F401
    lead_times,
    models_in_production,
    production_model_ids,
    time_to_deploy,
    time_to_deploy_by,
    time_to_deploy_frame,
    version_milestones,
)
