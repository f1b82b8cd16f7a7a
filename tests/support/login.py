"""Logging in at the test's OpenID Connect provider (oidc-provider-mock), as a browser would."""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
from fastapi.testclient import TestClient

LOGIN_WEB = "http://arena.test:3000"  # the public URL of the arena the /auth tests talk to


def provider_person(issuer: str, sub: str, email: str, verified: bool = True) -> None:
    """Give the provider's user ``sub`` an email (verified or not) and a name."""
    response = httpx.put(f"{issuer}/users/{sub}", json={
        "email": email, "email_verified": verified, "name": sub.title()})
    assert response.status_code == 204


def start(client: TestClient, next_path: str = "/envs/tictactoe") -> str:
    """Begin a login; the provider's authorize URL."""
    response = client.get("/auth/login/oidc", params={"next": next_path},
                          follow_redirects=False)
    assert response.status_code == 302, response.text
    return response.headers["location"]


def authorize(authorize_url: str, sub: str) -> str:
    """The person logs in at the provider; the callback path it sends the browser to."""
    response = httpx.post(authorize_url, data={"sub": sub}, follow_redirects=False)
    assert response.status_code == 302
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}" == LOGIN_WEB
    return f"{location.path}?{location.query}"
