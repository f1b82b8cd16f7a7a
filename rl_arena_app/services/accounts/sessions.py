"""Browser sessions, held on the server; the browser keeps only a signed, opaque cookie.

The cookie's value is a random token signed with the platform's secret (itsdangerous), so a
tampered or foreign cookie is refused before the database is asked; the database keeps the
token's hash, its expiry and whether it was ended. Logging out or an admin's revocation takes
effect at once: every privileged call checks the session again.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import update
from sqlmodel import select

from rl_arena_app.db.models import User, WebSession, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.services.accounts.users import account_of
from rl_arena_app.services.read_models import Account
from rl_arena_app.settings import get_settings

COOKIE = "rl_arena_session"
_SALT = "rl-arena-session-v1"


def _signer() -> URLSafeSerializer:
    return URLSafeSerializer(get_settings().secret_key, salt=_SALT)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user_id: int) -> str:
    """A new session of the user: the signed cookie value to give the browser."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with session_scope() as session:
        session.add(WebSession(token_hash=_hash(token), user_id=user_id, created_at=now,
                               expires_at=now + timedelta(hours=get_settings().session_hours)))
    return _signer().dumps(token)


def _token(cookie: str | None) -> str | None:
    """The session token inside a cookie value, or None when it is absent or not ours."""
    if not cookie or len(cookie) > 200:
        return None
    try:
        token = _signer().loads(cookie)
    except BadSignature:
        return None
    return token if isinstance(token, str) else None


def session_account(cookie: str | None) -> Account | None:
    """The account logged in with this cookie value: signed by us, not ended, not expired."""
    token = _token(cookie)
    if token is None:
        return None
    with session_scope() as session:  # checked in SQL: one query, whatever the clock of Python
        user = session.exec(select(User).join(WebSession, User.id == WebSession.user_id).where(
            WebSession.token_hash == _hash(token), WebSession.revoked_at.is_(None),
            WebSession.expires_at > utcnow())).first()
        return None if user is None else account_of(user)


def end_session(cookie: str | None) -> None:
    """Log out: the session ends now, in every tab that uses it."""
    token = _token(cookie)
    if token is None:
        return
    with session_scope() as session:
        session.exec(update(WebSession).where(WebSession.token_hash == _hash(token),
                                              WebSession.revoked_at.is_(None))
                     .values(revoked_at=utcnow()).execution_options(synchronize_session=False))


def revoke_user_sessions(user_id: int) -> int:
    """End every live session of a user; how many."""
    with session_scope() as session:
        done = session.exec(update(WebSession).where(WebSession.user_id == user_id,
                                                     WebSession.revoked_at.is_(None),
                                                     WebSession.expires_at > utcnow())
                            .values(revoked_at=utcnow())
                            .execution_options(synchronize_session=False))
        return done.rowcount
