"""Users: the people (and the house) who own agents."""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlmodel import Session, select

from rl_arena_app.arena.outcomes import BadInput
from rl_arena_app.core.text import describe_character, first_control_character
from rl_arena_app.db.models import User
from rl_arena_app.settings import get_settings

MAX_EMAIL = 320


def normalize_email(email: str) -> str:
    """The canonical (trimmed, lower-case) form of an email; BadInput saying what is wrong."""
    bad = first_control_character(email)
    if bad is not None:
        raise BadInput(f"owner {email!r} contains the control character "
                       f"{describe_character(bad)}: type a plain email address")
    cleaned = email.strip().lower()
    if len(cleaned) > MAX_EMAIL:
        raise BadInput(f"owner email is longer than {MAX_EMAIL} characters: use a shorter one")
    try:
        return validate_email(cleaned, check_deliverability=False).normalized
    except EmailNotValidError as exc:
        raise BadInput(f"owner {email!r} is not an email address ({exc}): use e.g. "
                       "alice@example.org") from None


def house_email() -> str:
    """The house's email (trimmed, lower-case); it is not a person's address."""
    return get_settings().house_owner.strip().lower()


def check_owner(email: str) -> str:
    """A person's email, normalized; the house's email cannot be claimed by naming it."""
    if email.strip().lower() == house_email():
        raise BadInput(f"{email!r} is reserved for the platform's house agents: give your own "
                       "email as the owner")
    return normalize_email(email)


def ensure_user(session: Session, email: str, *, name: str = "") -> User:
    """The person with this email, created on first use (emails are checked and normalized)."""
    email = check_owner(email)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=name or email.split("@", 1)[0])
        session.add(user)
        session.flush()
    return user


def ensure_house(session: Session) -> User:
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
