"""Which parts each view runs with: every agency's view is the generic agency view on the
purpose rules; steering has its own (aggregates, no person)."""

from __future__ import annotations

from fastapi import FastAPI

from services.projections import agency_app
from services.projections.agency_app import AGENCY, ViewParts
from services.projections.agency_settings import AgencyViewSettings
from services.projections.purpose import ViewId
from services.projections.steering_app import STEERING


def parts_of(view: ViewId) -> ViewParts:
    return STEERING if view is ViewId.STEERING else AGENCY


def create_app(settings: AgencyViewSettings) -> FastAPI:
    """The HTTP app of the view the settings name."""
    return agency_app.create_app(settings, parts_of(settings.agency_view))
