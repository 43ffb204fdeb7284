"""The services' OpenAPI documents, as integrators read them: valid OpenAPI, and the key
endpoints' bearer token and refusals declared where a client generator looks."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from openapi_spec_validator import validate

from services.intake.app import create_app as intake_app
from services.intake.settings import IntakeSettings
from services.language.app import create_app as language_app
from services.language.settings import LanguageSettings
from services.placement.app import create_app as placement_app
from services.placement.settings import PlacementSettings
from services.projections.agency_settings import AgencyViewSettings
from services.projections.partner_app import create_app as partner_app
from services.projections.partner_settings import PartnerFeedSettings
from services.projections.purpose import ViewId
from services.projections.views import create_app as view_app
from services.recognition.app import create_app as recognition_app
from services.recognition.settings import RecognitionSettings

VIEW_DB = "postgresql://nobody@127.0.0.1:1/none"  # nothing connects
ISSUER = "http://127.0.0.1:1/realms/none"  # nothing fetches its keys here

APPS: dict[str, Callable[[], FastAPI]] = {
    "intake": lambda: intake_app(IntakeSettings()),
    "language": lambda: language_app(LanguageSettings()),
    "recognition": lambda: recognition_app(RecognitionSettings()),
    "placement": lambda: placement_app(PlacementSettings()),
    "partners-feed": lambda: partner_app(PartnerFeedSettings()),
    "view": lambda: view_app(
        AgencyViewSettings(
            agency_view=ViewId.AA_MG, oidc_issuer=ISSUER, agency_database_url=VIEW_DB
        )
    ),
    "steering": lambda: view_app(
        AgencyViewSettings(
            agency_view=ViewId.STEERING, oidc_issuer=ISSUER, agency_database_url=VIEW_DB
        )
    ),
}

KEY_ENDPOINTS = {
    "intake": "/internal/person-keys/{case_id}",
    "partners-feed": "/keys/{key_id}",
}


@pytest.mark.parametrize("name", APPS)
def test_every_openapi_document_is_valid(name: str) -> None:
    """openapi-spec-validator accepts each HTTP process's document (OpenAPI 3.1)."""
    validate(APPS[name]().openapi())


@pytest.mark.parametrize("name", KEY_ENDPOINTS)
def test_key_endpoints_declare_bearer_auth_and_their_refusals(name: str) -> None:
    """The token is the bearerAuth security scheme (HTTP bearer), not an optional header
    parameter (which OpenAPI ignores), and 401, 403 and 404 are declared beside 200."""
    document: dict[str, Any] = APPS[name]().openapi()
    operation = document["paths"][KEY_ENDPOINTS[name]]["get"]

    scheme = document["components"]["securitySchemes"]["bearerAuth"]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    assert operation["security"] == [{"bearerAuth": []}]
    assert not [p for p in operation.get("parameters", []) if p["in"] == "header"]
    assert {"200", "401", "403", "404"} <= set(operation["responses"])
    for code in ("401", "403", "404"):
        body = operation["responses"][code]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Refusal"}
