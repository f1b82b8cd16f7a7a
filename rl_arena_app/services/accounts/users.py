"""Users: the people (and the house) who own agents, and their accounts (who is an admin)."""

from __future__ import annotations

from sqlmodel import Session, select

from rl_arena_app.db.models import User
from rl_arena_app.db.session import session_scope
from rl_arena_app.errors import BadInput, Conflict, NotFound
from rl_arena_app.services.accounts.emails import ascii_lower, normalize_email, stored_spelling
from rl_arena_app.services.read_models import Account
from rl_arena_app.settings import get_settings


def house_email() -> str:
    """The house's email (trimmed, lower-case); it is not a person's address."""
    return ascii_lower(get_settings().house_owner.strip())


def check_owner(email: str) -> str:
    """A person's email, normalized; the house's email cannot be claimed by naming it."""
    if ascii_lower(email.strip()) == house_email():
        raise BadInput(f"{email!r} is reserved for the platform's house agents: give your own "
                       "email as the owner")
    return normalize_email(email)


def ensure_user(email: str, *, name: str = "", session: Session) -> User:
    """The person with this email, created on first use (emails are checked and normalized)."""
    email = check_owner(email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=name or email.split("@", 1)[0])
        session.add(user)
        session.flush()
    return user


def ensure_house(*, session: Session) -> User:
    """The house user, created on first use; only the platform itself calls this."""
    email = house_email()
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name="House", is_house=True)
        session.add(user)
        session.flush()
    elif not user.is_house:
        user.is_house = True
        session.add(user)
    return user


def account_of(user: User) -> Account:
    """The read model of a user."""
    return Account(user_id=user.id, email=user.email, name=user.name, is_admin=user.is_admin,
                   house=user.is_house)


def configured_admins() -> frozenset[str]:
    """RL_ARENA_ADMIN_EMAILS in the spelling accounts are stored in."""
    return frozenset(stored_spelling(email) for email in get_settings().admin_email_set)


def ensure_account(email: str) -> tuple[Account, bool]:
    """The account with this email, made on first use (a person who has not logged in yet, a
    bot); whether it was made now."""
    with session_scope() as session:
        existing = session.exec(select(User.id).where(
            User.email == stored_spelling(email))).first()
        return account_of(ensure_user(email, session=session)), existing is None


def account_by_email(email: str) -> Account:
    """The account with this email; NotFound naming what to do."""
    with session_scope() as session:
        return account_of(_user(email, session=session))


def set_admin(email: str, admin: bool) -> Account:
    """Grant or revoke admin rights (the house cannot be an admin; the admins the settings name
    stay admins)."""
    with session_scope() as session:
        user = _user(email, session=session)
        if user.is_house and admin:
            raise BadInput("the house account cannot be an admin")
        if not admin and user.email in configured_admins():
            raise Conflict(f"{user.email} is an admin by RL_ARENA_ADMIN_EMAILS (every login "
                           "grants it again): take it out of that setting to remove the rights")
        user.is_admin = admin
        session.add(user)
        return account_of(user)


def _user(email: str, *, session: Session) -> User:
    """The user with this email; NotFound naming what to do."""
    user = session.exec(select(User).where(User.email == stored_spelling(email))).first()
    if user is None:
        raise NotFound(f"no account with the email {email!r}: the person logs in once (or an "
                       "operator adds an agent for them with --owner)")
    return user
