"""Logging in and out: the `/auth/*` routes (Authlib), which end in the session cookie.

Each flow carries state, nonce (OpenID Connect) and PKCE (S256); Authlib keeps them for the
few minutes of a login in a signed cookie scoped to ``/auth``. The callback turns the provider's
verified email into an account and a server-side session, sets the HttpOnly session cookie and
sends the browser back where it started. Every refusal ends on the login page with its reason,
signed so that nobody can put their own words on that page with a crafted link.

What changes a login by POST (logging out, the development login) takes forms from the
dashboard's own pages only: a page of another site (another port of this host included, which
browsers send the session cookie from) is refused by its Origin. A GET of /auth/logout only asks.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import quote, urlsplit

import httpx
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth, OAuthError
from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response
from itsdangerous import BadSignature, URLSafeSerializer
from starlette.concurrency import run_in_threadpool
from starlette.middleware.sessions import SessionMiddleware

from rl_arena_app.errors import BadInput, InfrastructureError
from rl_arena_app.services.accounts import logins, sessions
from rl_arena_app.services.admin import audit
from rl_arena_app.settings import Settings, get_settings

log = logging.getLogger(__name__)

PROVIDER_NAMES = {"github": "GitHub", "google": "Google", "oidc": "single sign-on"}
LOGIN_PAGE = "/login"
AFTER_LOGIN = "/me"
FLOW_COOKIE = "rl_arena_login"
FLOW_SECONDS = 600
GOOGLE_ISSUER = "https://logins.google.com"
GITHUB_API = "https://api.github.com/"
UNREADABLE_ERROR = "The login did not complete: try again."
# The provider could not be reached or answered something that is not a login.
# The error codes of an authorization response (RFC 6749 4.1.2.1, OpenID Connect Core 3.1.2.6):
# a callback's other words are not shown, so that a crafted link cannot speak on the login page.
OAUTH_ERRORS = frozenset({
    "access_denied", "invalid_request", "unauthorized_client", "unsupported_response_type",
    "invalid_scope", "server_error", "temporarily_unavailable", "interaction_required",
    "login_required", "account_selection_required", "consent_required", "invalid_request_uri",
    "invalid_request_object", "request_not_supported", "request_uri_not_supported",
    "registration_not_supported"})
UNREACHABLE = (httpx.HTTPError, OSError, ValueError, InfrastructureError)
# Fetch Metadata of a request a browser made from a page of this origin, or on its own.
SAME_ORIGIN_FETCH = ("same-origin", "none")
LOGOUT_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>Log out · RL Arena</title>
<style>body{{font-family:system-ui,sans-serif;max-width:30rem;margin:4rem auto;padding:0 1rem;
line-height:1.5}}button{{font:inherit;padding:.4rem 1.2rem;cursor:pointer}}</style></head>
<body><main><h1>Log out of RL Arena?</h1>{note}
<form method="post" action="{action}"><button type="submit" id="logout-confirm">Log out</button>
</form><p><a href="{home}">Back to the arena</a></p></main></body></html>
"""
FOREIGN_LOGOUT = ("<p>Another site asked to log you out, so nothing was done. To log out, "
                  "press the button.</p>")


def safe_next(value: str | None) -> str:
    """A same-site path to go to after login: "/me" for anything else and for the login page."""
    if (not value or not value.startswith("/") or value.startswith("//") or "\\" in value
            or urlsplit(value).netloc or any(ord(c) < 32 for c in value)
            or urlsplit(value).path.rstrip("/") == LOGIN_PAGE):
        return AFTER_LOGIN
    return value


def _error_signer(settings: Settings) -> URLSafeSerializer:
    """Signs the reasons the login page shows."""
    return URLSafeSerializer(settings.secret_key, salt="login-error")


def read_login_error(settings: Settings, value: str) -> str:
    """The reason carried by a login page link, or a plain one when it was not signed here."""
    try:
        reason = _error_signer(settings).loads(value)
    except BadSignature:
        return UNREADABLE_ERROR
    return reason if isinstance(reason, str) else UNREADABLE_ERROR


def secure_cookies(settings: Settings) -> bool:
    """Cookies are sent over HTTPS only in production and whenever the public URL is HTTPS."""
    return settings.production or settings.web_url.startswith("https://")


def from_this_site(request: Request, settings: Settings) -> bool:
    """Whether a POST comes from the dashboard's own pages (or RL_ARENA_ALLOWED_ORIGINS').

    Browsers send an Origin with every form POST (a page that hides it sends "null", which is
    refused), or at least Fetch Metadata; a request with neither is no browser's cross-site
    form and passes (curl, scripts).
    """
    origin = request.headers.get("origin")
    if origin is not None:
        return origin in settings.browser_origins
    return request.headers.get("sec-fetch-site", "none") in SAME_ORIGIN_FETCH


def _logout_page(settings: Settings, status: int = 200, note: str = "") -> HTMLResponse:
    """A page with one button that POSTs the logout (a link or a GET changes nothing)."""
    origin = settings.browser_origins[0]
    page = LOGOUT_PAGE.format(note=note, action=html.escape(f"{settings.web_url}/auth/logout"),
                              home=html.escape(f"{settings.web_url}/"))
    return HTMLResponse(page, status_code=status, headers={
        "Cache-Control": "no-store", "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; "
                                   f"form-action 'self' {origin}; frame-ancestors 'none'; "
                                   "base-uri 'none'"})


def _register(oauth: OAuth, settings: Settings) -> None:
    """Register each configured provider with Authlib."""
    pkce = {"code_challenge_method": "S256"}
    if "github" in settings.login_providers:
        oauth.register(
            "github", client_id=settings.github_client_id,
            client_secret=settings.github_client_secret,
            authorize_url="https://github.com/login/oauth/authorize",
            access_token_url="https://github.com/login/oauth/access_token",
            api_base_url=GITHUB_API, client_kwargs={"scope": "read:user user:email", **pkce})
    if "google" in settings.login_providers:
        oauth.register(
            "google", client_id=settings.google_client_id,
            client_secret=settings.google_client_secret,
            server_metadata_url=f"{GOOGLE_ISSUER}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", **pkce})
    if "oidc" in settings.login_providers:
        issuer = settings.oidc_issuer.rstrip("/")
        oauth.register(
            "oidc", client_id=settings.oidc_client_id,
            client_secret=settings.oidc_client_secret,
            server_metadata_url=f"{issuer}/.well-known/openid-configuration",
            client_kwargs={"scope": "openid email profile", **pkce})


def _to_login_page(settings: Settings, reason: str, status: int = 303) -> RedirectResponse:
    """Back to the login page, which shows ``reason``."""
    signed = _error_signer(settings).dumps(reason)
    return RedirectResponse(f"{settings.web_url}{LOGIN_PAGE}?error={quote(signed)}",
                            status_code=status)


def _signed_in(settings: Settings, account, provider: str, next_path: str) -> RedirectResponse:
    """Start the account's session and send the browser on with its cookie."""
    response = RedirectResponse(settings.web_url + safe_next(next_path), status_code=303)
    response.set_cookie(sessions.COOKIE, sessions.start_session(account.user_id),
                        max_age=int(settings.session_hours * 3600), path="/", httponly=True,
                        samesite="lax", secure=secure_cookies(settings))
    audit.record(account, "login", provider)
    return response


async def _github_identity(client, token) -> tuple[str, str | None, bool, str | None]:
    """GitHub is OAuth 2 only: the user and their primary verified email from its API."""
    user = (await client.get("user", token=token)).json()
    emails = (await client.get("user/emails", token=token)).json()
    primary = next((e for e in emails if isinstance(e, dict) and e.get("primary")), None) \
        if isinstance(emails, list) else None
    email = primary.get("email") if primary else None
    verified = bool(primary and primary.get("verified"))
    return str(user.get("id", "")), email, verified, user.get("name") or user.get("login")


async def _oidc_identity(client, token) -> tuple[str, str | None, bool, str | None]:
    """An OpenID Connect login's subject and email, from the validated ID token.

    A provider that leaves email_verified out of the ID token is asked its userinfo endpoint.
    """
    claims = dict(token.get("userinfo") or {})
    if "email_verified" not in claims or not claims.get("email"):
        claims = {**claims, **dict(await client.userinfo(token=token))}
    verified = claims.get("email_verified") in (True, "true")
    return str(claims.get("sub", "")), claims.get("email"), verified, claims.get("name")


def create_login_app() -> FastAPI:
    """The `/auth/*` routes (a factory: Reflex's test harness builds the app twice)."""
    settings = get_settings()
    oauth = OAuth()
    _register(oauth, settings)
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.add_middleware(SessionMiddleware, secret_key=settings.secret_key,
                       session_cookie=FLOW_COOKIE, path="/auth", max_age=FLOW_SECONDS,
                       same_site="lax", https_only=secure_cookies(settings))

    @app.get("/auth/login/{provider}")
    async def login(request: Request, provider: str, next: str = AFTER_LOGIN) -> Response:
        client = oauth.create_client(provider) if provider in PROVIDER_NAMES else None
        if client is None:
            return _to_login_page(settings, "that is not a login this arena offers: choose "
                                  "one of the buttons")
        request.session["next"] = safe_next(next)
        # Built from the public URL (url_for cannot see through Reflex's mounts).
        callback = f"{settings.web_url}/auth/callback/{provider}"
        try:
            return await client.authorize_redirect(request, callback)
        except UNREACHABLE as exc:  # e.g. the provider's discovery document
            log.warning("login with %s: %s", provider, exc)
            return _to_login_page(settings, f"{PROVIDER_NAMES[provider]} cannot be reached "
                                  "right now: try again in a minute")

    @app.get("/auth/callback/{provider}")
    async def callback(request: Request, provider: str) -> Response:
        client = oauth.create_client(provider) if provider in PROVIDER_NAMES else None
        if client is None:
            return _to_login_page(settings, "unknown login provider")
        if error := request.query_params.get("error"):  # only the standard codes are repeated
            said = f" ({error})" if error in OAUTH_ERRORS else ""
            return _to_login_page(settings, f"{PROVIDER_NAMES[provider]} did not log you in"
                                  f"{said}: try again")
        try:
            token = await client.authorize_access_token(request)
            identity = await (_github_identity if provider == "github"
                              else _oidc_identity)(client, token)
            account = await run_in_threadpool(logins.login, provider, *identity)
        except OAuthError as exc:  # state mismatch (stale or forged callback), bad code
            log.info("login with %s refused: %s", provider, exc.error)
            return _to_login_page(settings, "the login expired or did not start here: "
                                  "log in again")
        except BadInput as exc:  # logins.login refused the identity the provider named
            subject, email, verified, _ = identity
            await run_in_threadpool(audit.refused_login, provider, subject, email, verified,
                                    str(exc))
            return _to_login_page(settings, str(exc))
        except AuthlibBaseError as exc:  # an ID token that fails validation (nonce, signature...)
            log.warning("login with %s: the provider's answer was refused: %s", provider, exc)
            return _to_login_page(settings, f"{PROVIDER_NAMES[provider]}'s answer could not be "
                                  "verified: log in again")
        except UNREACHABLE as exc:
            log.warning("login with %s failed: %s", provider, exc)
            return _to_login_page(settings, f"{PROVIDER_NAMES[provider]} could not be asked "
                                  "who you are: try again in a minute")
        return await run_in_threadpool(_signed_in, settings, account, provider,
                                       request.session.pop("next", AFTER_LOGIN))

    @app.post("/auth/login/dev")
    def dev_login(request: Request, email: str = Form(""),
                  next: str = Form(AFTER_LOGIN)) -> Response:
        if settings.production:
            return Response("the development login is off in production", status_code=404)
        if not from_this_site(request, settings):
            return PlainTextResponse("refused: this login form was sent by another site; log "
                                     "in from the arena's own login page", status_code=403)
        if not email.strip():
            return _to_login_page(settings, "type the email address to log in as")
        try:
            account = logins.login("dev", email, email, True)
        except BadInput as exc:
            return _to_login_page(settings, str(exc))
        return _signed_in(settings, account, "dev", next)

    @app.get("/auth/logout")
    def confirm_logout() -> Response:
        return _logout_page(settings)

    @app.post("/auth/logout")
    def logout(request: Request) -> Response:
        if not from_this_site(request, settings):
            return _logout_page(settings, status=403, note=FOREIGN_LOGOUT)
        sessions.end_session(request.cookies.get(sessions.COOKIE))
        response = RedirectResponse(settings.web_url + "/", status_code=303)
        response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax",
                               secure=secure_cookies(settings))
        return response

    return app
