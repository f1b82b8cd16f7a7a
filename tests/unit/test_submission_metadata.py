"""Agent metadata as a submitter types it: checked by full-match rules, refused with the field's
name and how to fix it."""

from __future__ import annotations

import pytest

from rl_arena_app.errors import BadInput
from rl_arena_app.services.submissions.intake import (
    Metadata,
    check_algorithm,
    check_description,
    check_metadata,
    check_source_url,
)


@pytest.mark.parametrize(("given", "stored"), [
    ("PPO", "PPO"), ("  DQN (double)  ", "DQN (double)"),
    ("A2C/A3C + self-play", "A2C/A3C + self-play"), ("Q-learning", "Q-learning"),
    ("négamax élagué", "négamax élagué"), ("x" * 40, "x" * 40),
    ("", None), ("   ", None), (None, None),
])
def test_algorithm_is_a_short_single_line_name(given, stored):
    assert check_algorithm(given) == stored


@pytest.mark.parametrize("given", [
    "x" * 41, "PPO\nDQN", "PPO\r", "<script>", "PPO\u202e", "a\x1b[31m", "-PPO", "PPO; DROP",
    '"quoted"',
])
def test_algorithm_refused_names_the_field_and_the_fix(given):
    with pytest.raises(BadInput, match=r"^algorithm .*--algorithm PPO"):
        check_algorithm(given)


@pytest.mark.parametrize(("given", "stored"), [
    ("Trained 2M steps.\nLearning rate 3e-4.", "Trained 2M steps.\nLearning rate 3e-4."),
    ("one\r\ntwo\rthree", "one\ntwo\nthree"),  # line breaks as \n, whatever the browser sent
    ("<script>alert(1)</script> & **bold**", "<script>alert(1)</script> & **bold**"),  # text
    ("\n  padded \n\n", "padded"), ("d" * 500, "d" * 500), ("", None), (None, None),
])
def test_description_keeps_printable_text_and_its_lines(given, stored):
    assert check_description(given) == stored


@pytest.mark.parametrize(("given", "says"), [
    ("d" * 501, "501 characters long: shorten it to at most 500"),
    ("tab\there", r"U\+0009"),
    ("bell\x07", r"U\+0007"),
    ("escape \x1b[2J", r"U\+001B"),
    ("bidi \u202egpj.exe", r"U\+202E"),
    ("zero\u200bwidth", r"U\+200B"),
    ("sep\u2028line", r"U\+2028"),
])
def test_description_refused_names_the_field_and_the_fix(given, says):
    with pytest.raises(BadInput, match=rf"^description .*{says}"):
        check_description(given)


@pytest.mark.parametrize("given", [
    "https://github.com/me/my-agent", "http://example.org/a?b=c&d=%20e#f",
    "HTTPS://Example.COM:8443/x", "https://[2001:db8::1]/code", "https://127.0.0.1/x",
    "https://example.com/" + "a" * 280,
])
def test_source_url_takes_http_and_https_addresses(given):
    assert check_source_url(f"  {given} ") == given


@pytest.mark.parametrize(("given", "says"), [
    ("javascript:alert(1)", "is not allowed"),
    ("data:text/html,<script>alert(1)</script>", "is not allowed"),
    ("ftp://example.com/agent", "is not allowed"),
    ("//example.com/agent", "is not allowed"),
    ("github.com/me/agent", "is not allowed"),
    ("https://user:secret@github.com/x", "user name or password"),
    ("https://token@github.com/x", "user name or password"),
    ("https://exa mple.com/", "is not allowed"),
    ('https://example.com/"onmouseover=', "is not allowed"),
    ("https://example.com/<script>", "is not allowed"),
    ("https://example.com/\n", "is not allowed"),
    ("https://exämple.com/", "is not allowed"),
    ("https://example.com:99999/", "not a valid address"),
    ("https://example.com:http/", "not a valid address"),
    ("https:///path-only", "no valid host name"),
    ("https://-bad-.com/", "no valid host name"),
    ("https://example.com/" + "a" * 281, "301 characters long"),
])
def test_source_url_refused_names_the_field_and_the_fix(given, says):
    with pytest.raises(BadInput, match=f"^source_url .*{says}") as refused:
        check_source_url(given)
    assert "secret" not in str(refused.value)  # a password typed by mistake is not echoed


def test_metadata_checks_every_field_and_leaves_empty_ones_out():
    assert check_metadata(Metadata(" PPO ", "", "https://x.org")) == Metadata(
        "PPO", None, "https://x.org")
    with pytest.raises(BadInput, match=r"^source_url"):
        check_metadata(Metadata("PPO", "fine", "javascript:alert(1)"))
