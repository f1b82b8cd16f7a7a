"""The `/auth/*` routes against a real OpenID Connect provider on localhost (oidc-provider-mock).

The mock does not check PKCE, so the client's side is checked here: the challenge it sends is
the S256 of the verifier it keeps for the token request.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from rl_arena_app.auth.login import (
    FLOW_COOKIE,
    UNREADABLE_ERROR,
    create_login_app,
    read_login_error,
    safe_next,
)
from rl_arena_app.db.models import Identity, User
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts import sessions
from rl_arena_app.services.admin import audit
from rl_arena_app.settings import get_settings
from tests.support.login import LOGIN_WEB, authorize, provider_person, start

WEB = LOGIN_WEB




@pytest.fixture
def client(login_client: TestClient) -> TestClient:
    """The /auth routes (the API's `client` of conftest is another thing here)."""
    return login_client


def shown_error(response: httpx.Response) -> str:
    """The reason the login page will show for a redirect to it."""
    location = urlsplit(response.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{WEB}/login"
    return read_login_error(get_settings(), parse_qs(location.query)["error"][0])


def flow_data(client: TestClient) -> dict:
    """What the login flow keeps in its signed cookie (base64 JSON before the signature)."""
    payload = client.cookies[FLOW_COOKIE].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))


def test_a_login_sets_an_httponly_session_cookie_and_returns_where_it_started(client, issuer):
    provider_person(issuer, "carol", "Carol@Example.org")
    callback = authorize(start(client), "carol")

    response = client.get(callback, follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == f"{WEB}/envs/tictactoe"
    cookie = next(v for k, v in response.headers.multi_items()
                  if k == "set-cookie" and v.startswith(sessions.COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    account = sessions.session_account(client.cookies[sessions.COOKIE])
    assert (account.email, account.name) == ("carol@example.org", "Carol")
    assert [(e.actor, e.action, e.target) for e in audit.recent(1)] == [
        ("carol@example.org", "login", "oidc")]


def test_every_flow_sends_state_nonce_and_a_pkce_challenge_of_its_verifier(client, issuer):
    query = parse_qs(urlsplit(start(client)).query)
    kept = next(iter(v for k, v in flow_data(client).items() if k.startswith("_state_oidc_")))

    assert query["code_challenge_method"] == ["S256"]
    assert query["state"][0] and query["nonce"][0] == kept["data"]["nonce"]
    verifier = kept["data"]["code_verifier"]
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    assert query["code_challenge"] == [challenge.rstrip(b"=").decode()]
    assert query["redirect_uri"] == [f"{WEB}/auth/callback/oidc"]


def test_an_unverified_email_is_refused_and_makes_no_account(client, issuer):
    provider_person(issuer, "mallory", "admin@example.org", verified=False)
    response = client.get(authorize(start(client), "mallory"), follow_redirects=False)

    assert response.status_code == 303
    assert "did not confirm your email" in shown_error(response)
    assert sessions.COOKIE not in client.cookies
    with session_scope() as session:
        assert session.exec(select(User)).all() == []
    assert audit.recent(1)[0].outcome == "refused"


def test_a_callback_the_browser_did_not_start_is_refused(client, issuer, platform):
    provider_person(issuer, "dave", "dave@example.org")
    callback = authorize(start(client), "dave")
    with TestClient(create_login_app(), base_url=WEB) as stranger:  # no flow cookie
        response = stranger.get(callback, follow_redirects=False)
        assert "did not start here" in shown_error(response)
        assert sessions.COOKIE not in stranger.cookies


def test_a_denied_login_and_an_unknown_provider_explain_themselves(client):
    denied = client.get("/auth/callback/oidc?error=access_denied&state=x",
                        follow_redirects=False)
    unknown = client.get("/auth/login/myspace", follow_redirects=False)
    unconfigured = client.get("/auth/login/github", follow_redirects=False)

    for response in (denied, unknown, unconfigured):
        assert response.status_code == 303
    assert "access_denied" in shown_error(denied)
    assert "not a login this arena offers" in shown_error(unconfigured)


def test_a_login_page_link_cannot_carry_words_of_its_own(client):
    assert read_login_error(get_settings(), "Your account is locked: call +1 555 0100") == \
        UNREADABLE_ERROR


def test_a_crafted_callback_or_provider_name_cannot_speak_on_the_login_page(client):
    words = "account locked, call +1 555 0100"
    crafted = client.get("/auth/callback/oidc", params={"error": words, "state": "x"},
                         follow_redirects=False)
    named = client.get(f"/auth/login/{words}", follow_redirects=False)

    assert shown_error(crafted) == "single sign-on did not log you in: try again"
    assert "call" not in shown_error(named) and "not a login this arena offers" in \
        shown_error(named)


def test_an_unreachable_provider_ends_on_the_login_page(platform, monkeypatch):
    monkeypatch.setenv("RL_ARENA_OIDC_ISSUER", "http://127.0.0.1:9")  # nothing listens there
    monkeypatch.setenv("RL_ARENA_OIDC_CLIENT_ID", "rl-arena")
    monkeypatch.setenv("RL_ARENA_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("RL_ARENA_PUBLIC_URL", WEB)
    get_settings.cache_clear()
    with TestClient(create_login_app(), base_url=WEB) as client:
        response = client.get("/auth/login/oidc", follow_redirects=False)
    assert response.status_code == 303
    assert "cannot be reached right now" in shown_error(response)


def logged_in(client: TestClient, issuer: str, sub: str = "erin") -> str:
    """Log ``sub`` in through the provider; the session cookie's value."""
    provider_person(issuer, sub, f"{sub}@example.org")
    client.get(authorize(start(client), sub), follow_redirects=False)
    return client.cookies[sessions.COOKIE]


# The browser's own page (Origin of the public URL); a form the browser posts without an Origin
# but marked same-origin; and a client that is not a browser (no Origin, no Fetch metadata).
@pytest.mark.parametrize("headers", [{"Origin": WEB}, {"Sec-Fetch-Site": "same-origin"}, {}])
def test_logout_ends_the_session_on_the_server_and_clears_the_cookie(client, issuer, headers):
    cookie = logged_in(client, issuer)

    response = client.post("/auth/logout", headers=headers, follow_redirects=False)

    assert response.status_code == 303 and response.headers["location"] == f"{WEB}/"
    assert sessions.session_account(cookie) is None  # a copy of the cookie is dead too
    assert sessions.COOKIE not in client.cookies


def confirm_form(response: httpx.Response) -> str:
    """The action of the page's logout form, which POSTs."""
    assert response.headers["content-type"].startswith("text/html")
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    assert 'id="logout-confirm"' in response.text
    form = re.search(r'<form method="post" action="([^"]+)"', response.text)
    assert form, response.text
    return form.group(1)


def test_logout_by_get_changes_nothing_and_shows_a_button_that_posts(client, issuer):
    cookie = logged_in(client, issuer)

    response = client.get("/auth/logout", follow_redirects=False)

    assert response.status_code == 200
    assert confirm_form(response) == f"{WEB}/auth/logout"
    assert sessions.session_account(cookie).email == "erin@example.org"
    assert client.cookies[sessions.COOKIE] == cookie


@pytest.mark.parametrize("headers", [
    {"Origin": "http://arena.test:4000"},  # another port of the same site
    {"Origin": "https://evil.example"}, {"Origin": "null"},
    {"Sec-Fetch-Site": "same-site"}, {"Sec-Fetch-Site": "cross-site"},
])
def test_a_logout_another_site_posts_is_refused_and_asks_instead(client, issuer, headers):
    cookie = logged_in(client, issuer)

    response = client.post("/auth/logout", headers=headers, follow_redirects=False)

    assert response.status_code == 403
    assert confirm_form(response) == f"{WEB}/auth/logout"
    assert sessions.session_account(cookie).email == "erin@example.org"
    assert client.cookies[sessions.COOKIE] == cookie


def test_an_allowed_origin_may_post_a_logout(platform, issuer, monkeypatch):
    monkeypatch.setenv("RL_ARENA_PUBLIC_URL", WEB)
    monkeypatch.setenv("RL_ARENA_ALLOWED_ORIGINS", "https://admin.arena.test")
    get_settings.cache_clear()
    with TestClient(create_login_app(), base_url=WEB) as client:
        client.post("/auth/login/dev", data={"email": "ops@example.org"})
        cookie = client.cookies[sessions.COOKIE]
        response = client.post("/auth/logout", headers={"Origin": "https://admin.arena.test"},
                               follow_redirects=False)
    assert response.status_code == 303 and sessions.session_account(cookie) is None


def test_the_development_login_refuses_a_form_another_site_posts(client):
    response = client.post("/auth/login/dev", data={"email": "planted@example.org"},
                           headers={"Origin": "http://arena.test:4000"}, follow_redirects=False)

    assert response.status_code == 403 and "another site" in response.text
    assert sessions.COOKIE not in client.cookies
    with session_scope() as session:
        assert session.exec(select(User)).all() == []


def test_the_development_login_never_makes_an_admin_unless_asked(client, issuer, monkeypatch):
    monkeypatch.setenv("RL_ARENA_ADMIN_EMAILS", "boss@example.org")
    get_settings.cache_clear()
    client.post("/auth/login/dev", data={"email": "boss@example.org"})
    first = sessions.session_account(client.cookies[sessions.COOKIE])
    assert first.email == "boss@example.org" and not first.is_admin

    # The provider's login makes the admin; the development login then refuses that account.
    client.cookies.clear()
    provider_person(issuer, "boss", "boss@example.org")
    client.get(authorize(start(client), "boss"), follow_redirects=False)
    assert sessions.session_account(client.cookies[sessions.COOKIE]).is_admin
    client.cookies.clear()
    refused = client.post("/auth/login/dev", data={"email": "boss@example.org"},
                          follow_redirects=False)
    assert "RL_ARENA_DEV_LOGIN_ADMIN=1" in shown_error(refused)
    assert sessions.COOKIE not in client.cookies

    monkeypatch.setenv("RL_ARENA_DEV_LOGIN_ADMIN", "1")
    monkeypatch.setenv("RL_ARENA_ADMIN_EMAILS", "boss@example.org,root@example.org")
    get_settings.cache_clear()
    for email in ("boss@example.org", "root@example.org"):
        client.cookies.clear()
        client.post("/auth/login/dev", data={"email": email})
        assert sessions.session_account(client.cookies[sessions.COOKIE]).is_admin, email


@pytest.mark.parametrize(("owner", "twin", "character"), [
    ("eve@example.org", "\uff45ve@example.org", "U+FF45"),  # full-width e (NFKC: e)
    ("eve@example.org", "eve@\uff45xample.org", "U+FF45"),  # in the domain (IDNA: e)
    ("kim@example.org", "\u212aim@example.org", "U+212A"),  # Kelvin sign (lower(): k)
])
def test_a_verified_look_alike_of_an_email_does_not_join_its_account(client, issuer, owner,
                                                                      twin, character):
    provider_person(issuer, "owner", owner)
    client.get(authorize(start(client), "owner"), follow_redirects=False)
    client.cookies.clear()

    provider_person(issuer, "twin", twin)
    response = client.get(authorize(start(client), "twin"), follow_redirects=False)

    assert character in shown_error(response)
    assert sessions.COOKIE not in client.cookies
    with session_scope() as session:
        assert [u.email for u in session.exec(select(User))] == [owner]
        assert [i.subject for i in session.exec(select(Identity))] == ["owner"]


def test_the_development_login_works_outside_production_only(client, issuer, monkeypatch):
    response = client.post("/auth/login/dev", data={"email": "dev@example.org",
                                                    "next": "//evil.example/x"},
                           follow_redirects=False)
    assert response.headers["location"] == f"{WEB}/me"
    assert sessions.session_account(client.cookies[sessions.COOKIE]).email == "dev@example.org"
    bad = client.post("/auth/login/dev", data={"email": "not an email"}, follow_redirects=False)
    assert "/login?error=" in bad.headers["location"]

    monkeypatch.setenv("RL_ARENA_ENV", "production")
    monkeypatch.setenv("RL_ARENA_SECRET_KEY", "a-production-secret-" + "x" * 30)
    get_settings.cache_clear()
    # Over HTTPS: the flow's cookie is Secure in production too, and would not come back.
    with TestClient(create_login_app(), base_url=WEB.replace("http:", "https:")) as production:
        refused = production.post("/auth/login/dev", data={"email": "dev@example.org"},
                                  follow_redirects=False)
        assert refused.status_code == 404 and sessions.COOKIE not in production.cookies

        # a provider's login: cookies are Secure
        provider_person(issuer, "frank", "frank@example.org")
        response = production.get(authorize(start(production), "frank"), follow_redirects=False)
        cookie = response.headers["set-cookie"]
        assert cookie.startswith(f"{sessions.COOKIE}=") and "Secure" in cookie


@pytest.mark.parametrize("value,expected", [
    ("/agents/3?x=1", "/agents/3?x=1"), (None, "/me"), ("", "/me"),
    ("//evil.example/x", "/me"), ("https://evil.example/", "/me"), ("/\\evil.example", "/me"),
    ("/ok\r\nSet-Cookie: x", "/me"), ("evil", "/me"), ("/login/?next=/x", "/me"),
])
def test_only_same_site_paths_are_followed_after_login(value, expected):
    assert safe_next(value) == expected
