"""Personal API tokens: shown once, stored hashed, scoped to submitting or to administering."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import select

from rl_arena_app.core.text import first_control_character
from rl_arena_app.db.models import ApiToken, User, utcnow
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, NotFound
from rl_arena_app.services import rate_limits
from rl_arena_app.services.accounts.users import account_of
from rl_arena_app.services.read_models import Account, TokenView

PREFIX = "rla_"
LAST_USED_STEP = timedelta(minutes=1)  # how fresh a token's "last used" time is kept
SCOPES = ("submit", "admin")
MAX_TOKENS = 20


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(account: Account, scope: str = "submit", name: str = "", *,
                 rate_limited: bool = False) -> str:
    """A new token of the account (URL-safe characters), shown this once.

    An admin-scoped token needs an admin; a submitter has at most MAX_TOKENS live ones. Front
    ends reached over the network pass ``rate_limited``: then RateLimited past
    RL_ARENA_RATE_LIMIT_TOKENS per account (the operator's shell is not limited).
    """
    if rate_limited:
        rate_limits.hit(rate_limits.TOKENS, rate_limits.account_key(account))
    if scope not in SCOPES:
        raise BadInput(f"unknown token scope {scope!r}: use submit or admin")
    if scope == "admin" and not account.is_admin:
        raise BadInput(f"{account.email} is not an admin: an admin token needs one (grant it "
                       "with `rl-arena user admin grant EMAIL`)")
    name = " ".join(name.split())[:100] or scope
    if first_control_character(name):
        raise BadInput("a token's name must be printable text")
    token = PREFIX + secrets.token_urlsafe(32)
    with session_scope() as session:
        live = session.exec(select(ApiToken.id).where(ApiToken.user_id == account.user_id,
                                                      ApiToken.revoked_at.is_(None))).all()
        if len(live) >= MAX_TOKENS:
            raise BadInput(f"you have {len(live)} live tokens (the limit is {MAX_TOKENS}): "
                           "revoke one first")
        session.add(ApiToken(user_id=account.user_id, name=name, prefix=token[:12],
                             token_hash=_hash(token), scope=scope))
    return token


def token_account(token: str | None) -> tuple[Account, str] | None:
    """The account and scope of a live token, or None."""
    if not token or not token.startswith(PREFIX) or len(token) > 200:
        return None
    with session_scope() as session:
        row = session.exec(select(ApiToken, User).join(User, User.id == ApiToken.user_id)
                           .where(ApiToken.token_hash == _hash(token))).first()
        if row is None or row[0].revoked_at is not None:
            return None
        api_token, user = row
        if api_token.scope == "admin" and not user.is_admin:
            return None  # admin revoked since: the admin token is dead too
        now = utcnow()
        if api_token.last_used_at is None or now - api_token.last_used_at >= LAST_USED_STEP:
            api_token.last_used_at = now  # not on every request: a busy token is not a write each
            session.add(api_token)
        return account_of(user), api_token.scope


def list_tokens(account: Account) -> list[TokenView]:
    """The account's tokens, newest first."""
    with session_scope() as session:
        rows = session.exec(select(ApiToken).where(ApiToken.user_id == account.user_id)
                            .order_by(ApiToken.id.desc())).all()
        return [TokenView(token_id=t.id, name=t.name, prefix=t.prefix, scope=t.scope,
                          created_at=t.created_at, last_used_at=t.last_used_at,
                          revoked=t.revoked_at is not None) for t in rows]


def revoke_token(account: Account, token_id: int) -> None:
    """Revoke one of the account's own tokens (NotFound for another's: no probing)."""
    with session_scope() as session:
        done = session.exec(update(ApiToken).where(ApiToken.id == token_id,
                                                   ApiToken.user_id == account.user_id,
                                                   ApiToken.revoked_at.is_(None))
                            .values(revoked_at=utcnow())
                            .execution_options(synchronize_session=False))
        if done.rowcount != 1:
            raise NotFound(f"you have no live token {token_id}")


def revoke_user_tokens(user_id: int) -> int:
    """Revoke every live token of a user; how many."""
    with session_scope() as session:
        done = session.exec(update(ApiToken).where(ApiToken.user_id == user_id,
                                                   ApiToken.revoked_at.is_(None))
                            .values(revoked_at=utcnow())
                            .execution_options(synchronize_session=False))
        return done.rowcount
