"""The steering view's parts: its table, its projection and its read API (see agency_app)."""

from __future__ import annotations

from services.chassis.projection import ProjectionHandler
from services.projections.agency_app import ViewParts, ViewPorts, installer
from services.projections.agency_settings import ViewProjectionSettings
from services.projections.steering_api import router
from services.projections.steering_view import SteeringView


def _handler(_settings: ViewProjectionSettings, ports: ViewPorts) -> ProjectionHandler:
    return SteeringView(ports.keys)  # figures need no case's history


STEERING = ViewParts(
    description="The steering figures (monthly, per site x Rechtskreis x age band; cells of"
    " fewer than five persons suppressed) as JSON and CSV; every read needs a signed token in"
    " the role steering (Authorization: Bearer). No person's data is served or held.",
    install=installer("steering.sql"),
    handler=_handler,
    router=router,
    tables=("steering_cases",),
)
