"""Settings of the fault tests' worker: the project's, with fault injection turned on.

Only a process started with DJANGO_SETTINGS_MODULE=tests.services.fault_settings can
reach a fault point (ingestion/faults.py); no environment variable alone turns it on.
"""

from kpiboard.settings import *  # noqa: F403

KPIBOARD_FAULT_POINTS = True
