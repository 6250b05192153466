"""Tables and links in templates: `{% include "_table.html" with table=... %}` draws a
`lifecycle.catalog.tables.Table`; the link tags build the same URLs its cells link to."""

from __future__ import annotations

from django import template
from django.http import HttpRequest

from lifecycle.catalog import links
from lifecycle.catalog.tables import Table
from lifecycle.catalog.templatetags.kpi_tags import query_with

register = template.Library()


@register.simple_tag
def csv_query(request: HttpRequest, table: Table) -> str:
    """The page's own query with the table's export asked for: same filters, same sort."""
    return query_with(request, format="csv", table=table.name)


@register.simple_tag
def model_url(model_name: str, query: object = None) -> str:
    return links.model_url(model_name, query)


@register.simple_tag
def version_url(model_name: str, version_name: str, query: object = None) -> str:
    return links.version_url(model_name, version_name, query)


@register.simple_tag
def team_url(team_name: str, query: object = None) -> str:
    return links.team_url(team_name, query)


@register.simple_tag
def industry_url(industry_name: str, query: object = None) -> str:
    return links.industry_url(industry_name, query)
