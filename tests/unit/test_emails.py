"""People's emails: one spelling per mailbox, and no Unicode folding that merges two addresses."""

from __future__ import annotations

import re

import pytest

from rl_arena_app.errors import BadInput
from rl_arena_app.services.accounts.emails import normalize_email


@pytest.mark.parametrize(("given", "kept"), [
    ("alice@example.org", "alice@example.org"),
    ("  Alice@Example.ORG ", "alice@example.org"),  # ASCII case only: as stored until now
    ("first.last+tag@sub.example.co.uk", "first.last+tag@sub.example.co.uk"),
    ("eve@xn--bcher-kva.de", "eve@xn--bcher-kva.de"),
    ("eve@bücher.de", "eve@xn--bcher-kva.de"),  # an IDN domain, as its one ASCII spelling
])
def test_an_address_keeps_its_characters_and_folds_only_ascii_case(given, kept):
    assert normalize_email(given) == kept


@pytest.mark.parametrize(("given", "said"), [
    ("\uff45ve@example.org", "U+FF45"),  # full-width e: NFKC would make it e
    ("\u212aim@example.org", "U+212A"),  # Kelvin sign: Python's lower() makes it k
    ("ève@example.org", "U+00E8"),
    ("e\u0301ve@example.org", "U+0301"),
    ("eve@\uff45xample.org", "U+FF45"),  # IDNA would map the domain to example.org
    ("eve@EXAMPLE.\u0130O", "U+0130"),  # a capital dotted I: lower() adds a combining dot
])
def test_characters_that_folding_would_change_are_refused_and_named(given, said):
    with pytest.raises(BadInput, match=re.escape(said)):
        normalize_email(given)


@pytest.mark.parametrize("given", ["not an email", "a@b", "@example.org", "a@@example.org",
                                   "a\x00b@example.org", "a" * 321 + "@example.org"])
def test_what_is_not_an_address_is_refused(given):
    with pytest.raises(BadInput):
        normalize_email(given)
