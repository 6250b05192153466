from __future__ import annotations

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from lifecycle.catalog.models import Role
from lifecycle.catalog.roles import role_of
from lifecycle.deployment.hosts import registry_url_problem
from lifecycle.deployment.models import LifecycleChange, Registry, RegistryVersionState


class RegistryForm(forms.ModelForm):
    base_url = forms.URLField(
        max_length=500,
        assume_scheme="https",
        help_text="Root of the registry's REST API; its host must be in "
        "KPIBOARD_REGISTRY_ALLOWED_HOSTS.",
    )
    # Secrets are write-only: the form never renders the stored value, and leaving the
    # field empty keeps it.
    secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored secret.",
    )
    webhook_secret = forms.CharField(
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text="Leave empty to keep the stored secret.",
    )
    clear_secrets = forms.BooleanField(required=False, help_text="Forget both secrets.")

    class Meta:
        model = Registry
        fields = [
            "name",
            "kind",
            "base_url",
            "username",
            "secret",
            "webhook_secret",
            "enabled",
            "poll_interval_minutes",
            "page_size",
            "default_team",
            "default_industry",
            "default_serving_mode",
            "alias_roles",
            "production_stage",
            "deploy_endpoint",
        ]

    def clean_base_url(self) -> str:
        url = self.cleaned_data["base_url"]
        problem = registry_url_problem(url)
        if problem:
            raise forms.ValidationError(f"The URL {problem}.")
        return url.rstrip("/")

    def save(self, commit: bool = True) -> Registry:
        registry = super().save(commit=False)
        stored = Registry.objects.filter(pk=registry.pk).first() if registry.pk else None
        for name in ("secret", "webhook_secret"):
            if self.cleaned_data.get("clear_secrets"):
                setattr(registry, name, "")
            elif not self.cleaned_data.get(name) and stored is not None:
                setattr(registry, name, getattr(stored, name))
        if commit:
            registry.save()
        return registry


class AdminsOnlyMixin:
    """Registries reach out from inside the network: only admins may see or change them."""

    def _is_admin(self, request: HttpRequest) -> bool:
        return role_of(request.user) == Role.ADMIN

    def has_module_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_view_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_admin(request)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return self._is_admin(request)

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_admin(request)

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return self._is_admin(request)


@admin.register(Registry)
class RegistryAdmin(AdminsOnlyMixin, admin.ModelAdmin):
    form = RegistryForm
    list_display = [
        "name",
        "kind",
        "base_url",
        "enabled",
        "poll_interval_minutes",
        "last_success_at",
        "last_error_at",
        "consecutive_failures",
    ]
    readonly_fields = [
        "last_attempt_at",
        "last_success_at",
        "last_success_started_at",
        "last_error_at",
        "last_error",
        "consecutive_failures",
        "next_poll_at",
        "last_counts",
    ]


@admin.register(LifecycleChange)
class LifecycleChangeAdmin(admin.ModelAdmin):
    """The ledger is append-only: readable here, never edited."""

    list_display = [
        "kind",
        "model",
        "model_version",
        "key",
        "role",
        "happened_after",
        "happened_before",
        "source",
        "registry",
    ]
    list_filter = ["kind", "source", "registry"]
    search_fields = ["model__name", "key", "external_id"]
    date_hierarchy = "happened_before"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False


@admin.register(RegistryVersionState)
class RegistryVersionStateAdmin(AdminsOnlyMixin, admin.ModelAdmin):
    list_display = ["registry", "model_name", "version", "stage", "aliases", "seen_at", "deleted"]
    list_filter = ["registry", "deleted"]
    search_fields = ["model_name"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
