"""Run the placement service (HTTP API and reactions): ``python -m services.placement``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.placement.app import create_app
from services.placement.settings import PlacementSettings


def main() -> None:
    settings = PlacementSettings()
    serve_http(
        "placement",
        settings,
        create_app,
        host=settings.placement_host,
        port=settings.placement_port,
    )


if __name__ == "__main__":
    main()
