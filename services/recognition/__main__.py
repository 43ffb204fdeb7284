"""Run the recognition service (HTTP API and reactions): ``python -m services.recognition``."""

from __future__ import annotations

from services.chassis.process import serve_http
from services.recognition.app import create_app
from services.recognition.settings import RecognitionSettings


def main() -> None:
    settings = RecognitionSettings()
    serve_http(
        "recognition",
        settings,
        create_app,
        host=settings.recognition_host,
        port=settings.recognition_port,
    )


if __name__ == "__main__":
    main()
