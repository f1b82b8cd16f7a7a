"""Logging in: who a login is (identities at providers, verified emails) and who is an admin.

A first login whose verified email is an existing account's joins it (an operator's `agent add
--owner` made it), so the person's agents and their logins are one owner. A login without a
verified email is refused: an unverified email never joins or grants anything. Emails are
compared in one spelling (`emails.normalize_email`: ASCII case only, no Unicode folding), the same
for logins, `--owner` and RL_ARENA_ADMIN_EMAILS. The development login (development mode only)
neither grants admin rights nor logs in as an admin unless RL_ARENA_DEV_LOGIN_ADMIN=1.
"""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError
from sqlmodel import select
from tenacity import retry, retry_if_exception_type, stop_after_attempt, wait_random_exponential

from rl_arena_app.core.text import first_control_character
from rl_arena_app.db.models import Identity, User, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput
from rl_arena_app.services.accounts.users import (
    account_of,
    check_owner,
    configured_admins,
    ensure_user,
)
from rl_arena_app.services.read_models import Account
from rl_arena_app.settings import get_settings

PROVIDERS = ("github", "google", "oidc", "dev")
DEV = "dev"  # the development login: whoever types an email
MAX_NAME = 100


class LoginRefused(BadInput):
    """A login that cannot be accepted (no verified email, an unknown provider)."""


def _display_name(name: str | None, email: str) -> str:
    """A printable display name (the email's local part when the provider gave none)."""
    cleaned = " ".join((name or "").split())[:MAX_NAME]
    if not cleaned or first_control_character(cleaned):
        return email.split("@", 1)[0]
    return cleaned


def login(provider: str, subject: str, email: str | None, email_verified: bool,
          name: str | None = None) -> Account:
    """The account of a provider's login, creating or joining one by its verified email."""
    if provider not in PROVIDERS:
        raise LoginRefused(f"unknown identity provider {provider!r}")
    if not subject or len(subject) > 255:
        raise LoginRefused(f"{provider} sent no usable account id: try again")
    if not email or not email_verified:
        raise LoginRefused(f"{provider} did not confirm your email address: verify it there "
                           "(or make it visible to this app), then log in again")
    email = check_owner(email)
    if provider == DEV:  # its account id is the address, in the one spelling
        subject = email
    return _login(provider, subject, email, _display_name(name, email))


@retry(retry=retry_if_exception_type(IntegrityError), stop=stop_after_attempt(5),
       wait=wait_random_exponential(multiplier=0.01, max=0.2), reraise=True)
def _login(provider: str, subject: str, email: str, name: str) -> Account:
    """Find or make the identity and its user (two first logins may race: then retried)."""
    with session_scope() as session:
        identity = session.exec(select(Identity).where(Identity.provider == provider,
                                                       Identity.subject == subject)).first()
        if identity is not None:
            user = session.get(User, identity.user_id)
            identity.last_login_at = utcnow()
            session.add(identity)
        else:
            user = ensure_user(email, name=name, session=session)
            session.add(Identity(user_id=user.id, provider=provider, subject=subject,
                                 email=email))
        settings = get_settings()
        trusted = provider != DEV or settings.dev_login_admin
        if user.is_admin and not trusted:  # raised inside the transaction: nothing is kept
            raise LoginRefused(f"{user.email} is an admin: the development login does not log "
                               "in as an admin unless RL_ARENA_DEV_LOGIN_ADMIN=1; log in with "
                               "an identity provider instead")
        if trusted and email in configured_admins() and not user.is_admin:
            user.is_admin = True
            session.add(user)
        return account_of(user)
