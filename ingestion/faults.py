"""Fault injection for the services tests, off unless a test-only setting turns it on.

`KPIBOARD_FAULT_POINTS` is not read from the environment anywhere: only the services
tests' own settings module (tests/services/fault_settings.py) sets it, so a production
process cannot be made to kill itself by a stray variable.
"""

from __future__ import annotations

import os
import signal

from django.conf import settings


def fault_point(name: str) -> None:
    """Die here, once, when the fault tests ask for it: the setting is on,
    KPIBOARD_FAULT_POINT=name, and the file KPIBOARD_FAULT_ONCE_FILE exists (it is removed
    first so the restarted worker goes on). Does nothing otherwise."""
    if getattr(settings, "KPIBOARD_FAULT_POINTS", False) is not True:
        return
    if os.environ.get("KPIBOARD_FAULT_POINT") != name:
        return
    once = os.environ.get("KPIBOARD_FAULT_ONCE_FILE", "")
    if once and os.path.exists(once):
        os.remove(once)
        os.kill(os.getpid(), signal.SIGKILL)
