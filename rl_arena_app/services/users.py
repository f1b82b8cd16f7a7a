"""Users: the people (and the house) who own agents."""

from __future__ import annotations

import re

from sqlmodel import Session, select

from rl_arena_app.arena.outcomes import BadInput
from rl_arena_app.db.models import User
from rl_arena_app.settings import get_settings

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def normalize_email(email: str) -> str:
    """The canonical (trimmed, lower-case) form of an email; BadInput when it is not one."""
    cleaned = email.strip().lower()
    if len(cleaned) > 320 or not _EMAIL.match(cleaned):
        raise BadInput(f"owner {email!r} is not an email address: use e.g. alice@example.org")
    return cleaned


def ensure_user(session: Session, email: str, *, name: str = "", house: bool = False) -> User:
    """The user with this email, created on first use; the house owner is always `is_house`."""
    email = normalize_email(email)
    house = house or email == normalize_email(get_settings().house_owner)
    user = session.exec(select(User).where(User.email == email)).first()
    if user is None:
        user = User(email=email, name=name or email.split("@", 1)[0], is_house=house)
        session.add(user)
        session.flush()
    elif house and not user.is_house:
        user.is_house = True
        session.add(user)
    return user
