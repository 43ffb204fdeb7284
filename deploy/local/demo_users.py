"""Who signs the demo's and the crash suite's commands: a demo user of the dev realm for
every agency and role (``deploy/local/keycloak/README.md``), and their access tokens, fetched
from the provider's token endpoint by the password grant of its ``ip-cli`` client and kept
while fresh."""

from __future__ import annotations

import threading
import time
from typing import Final

import httpx

from deploy.local.identity_provider import CLI_CLIENT, DEMO_PASSWORD

USERS: Final[dict[tuple[str, str], str]] = {
    ("AA-MG", "case_worker"): "anna.aa",
    ("AA-MG", "data_protection"): "dora.aa",
    ("AA-MG", "steering"): "stella.aa",
    ("JC-MG", "case_worker"): "jonas.jcmg",
    ("JC-MG", "data_protection"): "dirk.jcmg",
    ("JC-MG", "steering"): "sven.jcmg",
    ("JC-RKN", "case_worker"): "ralf.jcrkn",
    ("JC-RKN", "data_protection"): "dana.jcrkn",
    ("JC-RKN", "steering"): "sina.jcrkn",
    ("STADT-MG", "abh_case_worker"): "abel.mg",
    ("STADT-MG", "sozialamt_case_worker"): "sofia.mg",
    ("STADT-MG", "data_protection"): "daniel.mg",
    ("STADT-MG", "steering"): "stefan.mg",
    ("RKN", "abh_case_worker"): "arne.rkn",
    ("RKN", "sozialamt_case_worker"): "sara.rkn",
    ("RKN", "data_protection"): "doris.rkn",
    ("RKN", "steering"): "silke.rkn",
    ("iq_counselling", "case_worker"): "ina.iq",
}
MARGIN_S: Final = 60.0  # a kept token is used while it has at least this long to live


def role_of(agency: str) -> str:
    """The case-working role of an agency's staff: the ABH's at the municipalities."""
    return "abh_case_worker" if agency in {"STADT-MG", "RKN"} else "case_worker"


class DemoSigner:
    """``signer("JC-MG")``: the ``Authorization`` header of JC-MG's demo case worker."""

    def __init__(self, token_url: str) -> None:
        self._token_url = token_url
        self._kept: dict[str, tuple[str, float]] = {}
        # Desks sign from threads at once: one sign-in per user, not one per desk.
        self._lock = threading.Lock()

    def __call__(self, agency: str, role: str | None = None) -> dict[str, str]:
        user = USERS[agency, role or role_of(agency)]
        with self._lock:
            return {"Authorization": f"Bearer {self._token(user)}"}

    def _token(self, user: str) -> str:
        token, until = self._kept.get(user, ("", 0.0))
        if time.monotonic() + MARGIN_S >= until:
            data = {"grant_type": "password", "client_id": CLI_CLIENT}
            data |= {"username": user, "password": DEMO_PASSWORD}
            response = httpx.post(self._token_url, data=data, timeout=30)
            response.raise_for_status()
            body = response.json()
            token = str(body["access_token"])
            self._kept[user] = (token, time.monotonic() + float(body["expires_in"]))
        return token
