"""Teaches drf-spectacular how API tokens authenticate, so /api/docs/ offers them."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "lifecycle.catalog.auth.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: object) -> dict:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "A team's API token: `Authorization: Token <key>` "
            "(make one with `manage.py create_api_token <team>`).",
        }
