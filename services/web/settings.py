"""The web process's settings: the only place it reads the environment."""

from __future__ import annotations

from pydantic import Field

from services.chassis.oidc import OidcSettings
from services.chassis.settings import ProcessSettings
from services.projections.purpose import ViewId


class WebSettings(ProcessSettings, OidcSettings):
    """Where the web listens, the services and views it talks to, and the provider its case
    workers sign in at (``IP_OIDC_ISSUER``, required; the client ``IP_WEB_OIDC_CLIENT_ID``)."""

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
    web_oidc_client_id: str = Field(
        default="ip-web", description="the web's client at the provider (public, PKCE)"
    )
    web_public_url: str = Field(
        default="http://127.0.0.1:8200",
        description="where browsers reach the web: the provider redirects back to it",
    )
    web_cookie_secure: bool = Field(
        default=False, description="mark the session cookie Secure (behind HTTPS)"
    )

    def service_url(self, service: str) -> str:
        urls = {
            "intake": self.intake_url,
            "language": self.language_url,
            "recognition": self.recognition_url,
            "placement": self.placement_url,
        }
        return urls[service]
