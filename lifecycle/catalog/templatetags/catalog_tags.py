from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import format_html

from lifecycle.catalog.models import SEEN_IN_SERVING_HELP

register = template.Library()


@register.simple_tag
def seen_in_serving_badge(subject: Any, *key: str) -> str:
    """The "seen in serving" badge, or nothing: for a ModelVersion or Endpoint itself
    (`{% seen_in_serving_badge version %}`), or for names looked up among the flagged
    ones of `seen_in_serving_read` (`{% seen_in_serving_badge seen.version_keys model
    version %}`, `{% seen_in_serving_badge seen.endpoint_names endpoint %}`)."""
    if key:
        flagged = (key[0] if len(key) == 1 else tuple(key)) in subject
    else:
        flagged = getattr(subject, "seen_in_serving_only", False)
    if not flagged:
        return ""
    return format_html(
        '<span class="badge seen-in-serving" title="{}">seen in serving</span>',
        SEEN_IN_SERVING_HELP,
    )
