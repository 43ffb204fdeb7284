"""The web process's settings: the only place it reads the environment."""

from __future__ import annotations

from pydantic import Field, SecretStr, field_validator

from services.chassis.auth import checked_secret
from services.chassis.settings import ProcessSettings
from services.projections.purpose import ViewId


class WebSettings(ProcessSettings):
    """Where the web listens, the services and views it talks to, and the token secret."""

    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8200, ge=1, le=65535)
    intake_url: str = "http://127.0.0.1:8001"
    language_url: str = "http://127.0.0.1:8002"
    recognition_url: str = "http://127.0.0.1:8003"
    placement_url: str = "http://127.0.0.1:8004"
    web_view_urls: dict[ViewId, str] = Field(
        default_factory=dict, description="JSON: view id -> base URL of its read API"
    )
    web_steering_url: str | None = Field(default=None, description="the steering view's API")
    token_secret: SecretStr = Field(
        validation_alias="IP_TOKEN_SECRET",
        description="the secret the views verify tokens with; the web verifies its cookie "
        "with it and, with the dev sign-in on, signs with it",
    )
    web_dev_sign_in: bool = Field(
        default=False,
        description="offer the dev token issuer on the sign-in page: for `make run` only; "
        "anywhere else a token comes from the identity provider",
    )
    web_cookie_secure: bool = Field(
        default=False, description="mark the session cookie Secure (behind HTTPS)"
    )

    _token_secret_set = field_validator("token_secret")(checked_secret)

    def service_url(self, service: str) -> str:
        urls = {
            "intake": self.intake_url,
            "language": self.language_url,
            "recognition": self.recognition_url,
            "placement": self.placement_url,
        }
        return urls[service]
