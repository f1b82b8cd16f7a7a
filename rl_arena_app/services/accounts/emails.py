"""Emails in one spelling: how accounts' addresses are stored and matched (ASCII case only, no
Unicode folding), the same for logins, `--owner` and RL_ARENA_ADMIN_EMAILS."""

from __future__ import annotations

import string

from email_validator import EmailNotValidError, validate_email

from rl_arena_app.core.text import describe_character, first_control_character
from rl_arena_app.errors import BadInput

MAX_EMAIL = 320
_ASCII_LOWER = str.maketrans(string.ascii_uppercase, string.ascii_lowercase)


def ascii_lower(text: str) -> str:
    """``text`` with ASCII letters in lower case and every other character as it is (unlike
    ``str.lower()``, which also maps e.g. the Kelvin sign to k)."""
    return text.translate(_ASCII_LOWER)


def normalize_email(email: str) -> str:
    """The one spelling of an email that accounts are stored and matched by: as given (by a
    provider, who verified it, or by an operator), trimmed, with ASCII letters in lower case.

    No Unicode folding: NFKC, IDNA mapping or ``str.lower()`` turn other characters into ASCII
    (a full-width e, U+FF45, into e; the Kelvin sign into k), which would let a verified
    look-alike address join someone's account. So the part before the @ must be ASCII, and a
    non-ASCII domain must already be in its normal form (it is kept as its xn-- spelling).
    BadInput saying what is wrong.
    """
    bad = first_control_character(email)
    if bad is not None:
        raise BadInput(f"owner {email!r} contains the control character "
                       f"{describe_character(bad)}: type a plain email address")
    cleaned = email.strip()
    if len(cleaned) > MAX_EMAIL:
        raise BadInput(f"owner email is longer than {MAX_EMAIL} characters: use a shorter one")
    local, _, domain = cleaned.rpartition("@")
    if not local.isascii():
        raise BadInput(f"{email!r} has {describe_character(_first_non_ascii(local))} before the "
                       "@: this arena takes that part in ASCII only, so that no two addresses "
                       "can pass for one: use an address written in plain ASCII")
    address = ascii_lower(f"{local}@{_ascii_domain(email, domain)}")
    try:
        return validate_email(address, check_deliverability=False,
                              allow_smtputf8=False).ascii_email
    except EmailNotValidError as exc:
        raise BadInput(f"owner {email!r} is not an email address ({exc}): use e.g. "
                       "alice@example.org") from None


def _first_non_ascii(text: str) -> str:
    return next(char for char in text if not char.isascii())


def _ascii_domain(email: str, domain: str) -> str:
    """The domain's ASCII spelling: itself, or the xn-- form of an internationalised domain
    given in its normal form (one that IDNA would change is refused, naming the character)."""
    if domain.isascii():
        return domain
    try:
        checked = validate_email(f"x@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        raise BadInput(f"owner {email!r} is not an email address ({exc}): use e.g. "
                       "alice@example.org") from None
    if checked.domain != domain:
        raise BadInput(f"{email!r} has {describe_character(_first_non_ascii(domain))} in its "
                       "domain, which stands for other letters there: use the domain's own "
                       "spelling (or its xn-- form)")
    return checked.ascii_domain


def stored_spelling(email: str) -> str:
    """The spelling an account's email is stored in, to look it up: normalize_email's, or for
    an address no person logs in with (the house's reserved domain) the trimmed text with ASCII
    letters in lower case."""
    try:
        return normalize_email(email)
    except BadInput:
        return ascii_lower(email.strip())
