"""URLs: django-oauth-toolkit under /o/ (token endpoint /o/token/) and a /healthz probe."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def healthz(_request: HttpRequest) -> HttpResponse:
    """Readiness probe for the benchmark: answers once a worker serves requests."""
    return HttpResponse(b"ok", content_type="text/plain")


urlpatterns = [
    path("o/", include("oauth2_provider.urls", namespace="oauth2_provider")),
    path("healthz", healthz),
]
