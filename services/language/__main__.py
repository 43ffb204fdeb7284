"""Run the language service (HTTP API and reactions): ``python -m services.language``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.language.app import create_app
from services.language.settings import LanguageSettings


def main() -> None:
    settings = LanguageSettings()
    serve_http(
        "language", settings, create_app, host=settings.language_host, port=settings.language_port
    )


if __name__ == "__main__":
    main()
