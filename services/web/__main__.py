"""Run the case workers' web pages: ``python -m services.web``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.web.app import create_app
from services.web.settings import WebSettings


def main() -> None:
    settings = WebSettings()
    serve_http("web", settings, create_app, host=settings.web_host, port=settings.web_port)


if __name__ == "__main__":
    main()
