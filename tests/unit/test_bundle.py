"""Tests for loading agent uploads into memory: formats, limits and refusals."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

from rl_arena_app.arena import bundle as bundle_mod
from rl_arena_app.arena.bundle import (
    AgentBundle,
    BundleLimits,
    bundle_from_bytes,
    load_bundle,
    parse_requirements,
)
from rl_arena_app.errors import BadAgent, BadInput
from tests.support.files import zip_bytes

ENV = "tictactoe"
AGENT = b"def act(observation):\n    return 0\n"


def make_zip(path: Path, entries: dict[str, bytes]) -> Path:
    """Write a deflated zip holding `entries` exactly as named."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, content in entries.items():
            zf.writestr(name, content)
    return path


def tar_file(tf: tarfile.TarFile, name: str, content: bytes) -> None:
    """Add a regular file called exactly `name` to an open tar."""
    info = tarfile.TarInfo(name)
    info.size = len(content)
    tf.addfile(info, io.BytesIO(content))


def make_tar(path: Path, entries: dict[str, bytes], mode: str = "w:gz") -> Path:
    """Write a tar holding regular files `entries` exactly as named."""
    with tarfile.open(path, mode) as tf:
        for name, content in entries.items():
            tar_file(tf, name, content)
    return path


def refused(ref: Path | str, phrase: str, **kwargs: object) -> BadAgent:
    """Assert loading `ref` raises BadAgent with `phrase` in a one-line message."""
    with pytest.raises(BadAgent) as info:
        load_bundle(str(ref), env_id=ENV, **kwargs)  # type: ignore[arg-type]
    message = str(info.value)
    assert phrase in message
    assert "\n" not in message
    assert ": " in message  # says what is wrong, then how to fix it
    return info.value


# --- accepted uploads ---------------------------------------------------------------------


def test_single_py_file_is_stored_as_agent_py(tmp_path: Path) -> None:
    src = tmp_path / "my_bot.py"
    src.write_bytes(AGENT)
    bundle = load_bundle(str(src), env_id=ENV)
    assert dict(bundle.files) == {"agent.py": AGENT}
    assert bundle.ref == str(src)
    assert bundle.builtin is None
    assert bundle.requirements is None


def test_directory_is_read_and_caches_are_skipped(tmp_path: Path) -> None:
    root = tmp_path / "agent"
    (root / "lib" / "__pycache__").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "agent.py").write_bytes(AGENT)
    (root / "lib" / "helper.py").write_bytes(b"X = 1\n")
    (root / "lib" / "__pycache__" / "helper.cpython-311.pyc").write_bytes(b"\0junk")
    (root / "stale.pyc").write_bytes(b"\0junk")
    (root / ".git" / "HEAD").write_bytes(b"ref: refs/heads/main\n")
    (root / "requirements.txt").write_text("numpy>=1.20\n")
    bundle = load_bundle(str(root), env_id=ENV)
    assert sorted(bundle.files) == ["agent.py", "lib/helper.py", "requirements.txt"]
    assert bundle.files["lib/helper.py"] == b"X = 1\n"
    assert bundle.requirements == "numpy>=1.20\n"


def test_zip_is_read(tmp_path: Path) -> None:
    archive = make_zip(
        tmp_path / "a.zip",
        {"agent.py": AGENT, "pkg/util.py": b"Y = 2\n", "requirements.txt": b"numpy>=1.20\n"},
    )
    bundle = load_bundle(str(archive), env_id=ENV)
    assert dict(bundle.files) == {
        "agent.py": AGENT,
        "pkg/util.py": b"Y = 2\n",
        "requirements.txt": b"numpy>=1.20\n",
    }
    assert bundle.requirements == "numpy>=1.20\n"


@pytest.mark.parametrize(("suffix", "mode"), [(".tar.gz", "w:gz"), (".tgz", "w:gz"), (".tar", "w")])
def test_tar_is_read(tmp_path: Path, suffix: str, mode: str) -> None:
    archive = make_tar(tmp_path / f"a{suffix}", {"agent.py": AGENT, "./data/w.txt": b"w"}, mode)
    bundle = load_bundle(str(archive), env_id=ENV)
    assert dict(bundle.files) == {"agent.py": AGENT, "data/w.txt": b"w"}


def test_single_wrapping_folder_is_stripped(tmp_path: Path) -> None:
    archive = tmp_path / "wrapped.zip"
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("my_agent/", b"")  # folder entries, as `zip -r` writes them
        zf.writestr("my_agent/agent.py", AGENT)
        zf.writestr("my_agent/lib/", b"")
        zf.writestr("my_agent/lib/x.py", b"Z = 3\n")
        zf.writestr("__MACOSX/my_agent/._agent.py", b"\0mac")
    bundle = load_bundle(str(archive), env_id=ENV)
    assert dict(bundle.files) == {"agent.py": AGENT, "lib/x.py": b"Z = 3\n"}


def test_builtin_ref_loads_the_baseline() -> None:
    bundle = load_bundle("builtin:random", env_id=ENV)
    assert bundle.builtin == "random"
    assert bundle.ref == "builtin:random"
    assert "agent.py" in bundle.files


# --- refused archives -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "tar.gz"])
@pytest.mark.parametrize(("name", "why"), [("../evil.py", "'..' component"),
                                           ("/tmp/evil.py", "absolute path")])
def test_path_traversal_and_absolute_paths_are_refused(tmp_path: Path, kind: str, name: str,
                                                       why: str) -> None:
    entries = {"agent.py": AGENT, name: b"boom"}
    archive = tmp_path / f"t.{kind}"
    make_zip(archive, entries) if kind == "zip" else make_tar(archive, entries)
    refused(archive, why)


@pytest.mark.parametrize("name", ["..\\evil.py", "C:/evil.py"])
def test_backslash_and_drive_tricks_are_refused(tmp_path: Path, name: str) -> None:
    archive = tmp_path / "t.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("agent.py", AGENT)
        zf.writestr(zipfile.ZipInfo(name), b"boom")  # ZipInfo keeps the name verbatim
    assert name in zipfile.ZipFile(archive).namelist()
    refused(archive, "backslash" if "\\" in name else "absolute path")


@pytest.mark.parametrize(("suffix", "member", "kind", "linkname", "phrase"), [
    pytest.param("tar.gz", "secrets.py", tarfile.SYMTYPE, "/etc/passwd", "is a symlink",
                 id="symlink"),
    pytest.param("tar.gz", "copy.py", tarfile.LNKTYPE, "agent.py", "is a hard link",
                 id="hard-link"),
    pytest.param("tar", "dev", tarfile.CHRTYPE, "", "device file", id="character-device"),
    pytest.param("tar", "dev", tarfile.BLKTYPE, "", "device file", id="block-device"),
    pytest.param("tar", "dev", tarfile.FIFOTYPE, "", "FIFO", id="fifo"),
])
def test_tar_links_and_special_files_are_refused(tmp_path: Path, suffix: str, member: str,
                                                 kind: bytes, linkname: str,
                                                 phrase: str) -> None:
    archive = tmp_path / f"t.{suffix}"
    with tarfile.open(archive, "w:gz" if suffix == "tar.gz" else "w") as tf:
        tar_file(tf, "agent.py", AGENT)
        info = tarfile.TarInfo(member)
        info.type, info.linkname = kind, linkname
        tf.addfile(info)
    refused(archive, phrase)


def test_zip_symlink_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "t.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("agent.py", AGENT)
        link = zipfile.ZipInfo("secrets.py")
        link.create_system = 3  # unix
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        zf.writestr(link, "/etc/passwd")
    refused(archive, "is a symlink")


def test_duplicate_paths_are_refused(tmp_path: Path) -> None:
    archive = tmp_path / "t.zip"
    with zipfile.ZipFile(archive, "w") as zf, pytest.warns(UserWarning, match="Duplicate"):
        zf.writestr("agent.py", AGENT)
        zf.writestr("./agent.py", AGENT)
        zf.writestr("agent.py", b"evil")
    refused(archive, "more than once")


@pytest.mark.parametrize(("entries", "phrase"), [
    pytest.param({"outer/inner/agent.py": AGENT},
                 "no agent.py at its root (found 'outer/inner/agent.py')",
                 id="folder-without-agent-py-is-not-stripped"),
    pytest.param({"agent.py": AGENT, "lib": b"x", "lib/a.py": b"y"},
                 "both as a file and as a folder", id="path-both-file-and-folder"),
    pytest.param({"agent.py": AGENT, "requirements.txt": b"-e .\n"}, "only PyPI requirements",
                 id="bad-requirements-file"),
])
def test_zip_with_a_bad_layout_is_refused(tmp_path: Path, entries: dict[str, bytes],
                                          phrase: str) -> None:
    refused(make_zip(tmp_path / "t.zip", entries), phrase)


@pytest.mark.parametrize(("name", "content", "phrase"), [
    pytest.param("t.zip", b"PK\x03\x04 definitely not a zip file", "not a valid zip archive",
                 id="corrupt-zip"),
    pytest.param("agent.py", b"x = '\xff\xfe'\n", "not valid UTF-8", id="agent-py-not-utf8"),
    pytest.param("agent.rar", b"Rar!", "unsupported file type", id="unknown-file-type"),
])
def test_file_that_is_no_agent_is_refused(tmp_path: Path, name: str, content: bytes,
                                          phrase: str) -> None:
    src = tmp_path / name
    src.write_bytes(content)
    refused(src, phrase)


def test_zip_with_damaged_data_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "t.zip", {"agent.py": AGENT * 50})
    data = bytearray(archive.read_bytes())
    data[40:60] = b"\xff" * 20  # inside agent.py's compressed data
    archive.write_bytes(bytes(data))
    refused(archive, "not a valid zip archive")


def test_truncated_tar_gz_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tar.gz", {"agent.py": os.urandom(50_000)})
    archive.write_bytes(archive.read_bytes()[:20_000])
    refused(archive, "not a valid tar.gz archive")


def test_plain_tar_named_tgz_is_refused(tmp_path: Path) -> None:
    archive = make_tar(tmp_path / "t.tgz", {"agent.py": AGENT}, mode="w")
    refused(archive, "not a valid tar.gz archive")


# --- limits -------------------------------------------------------------------------------


def test_oversize_upload_is_refused(tmp_path: Path) -> None:
    src = tmp_path / "big.py"
    src.write_bytes(b"#" * 2000)
    refused(src, "larger than 1999 bytes", limits=BundleLimits(max_upload_bytes=1999))
    assert load_bundle(str(src), env_id=ENV, limits=BundleLimits(max_upload_bytes=2000))


def test_oversize_archive_is_refused(tmp_path: Path) -> None:
    archive = make_zip(tmp_path / "t.zip", {"agent.py": AGENT, "noise.bin": os.urandom(5000)})
    refused(archive, "larger than", limits=BundleLimits(max_upload_bytes=4000))


def test_zip_bomb_is_refused_without_reading_it_all(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    limit = 1024 * 1024
    archive = make_zip(tmp_path / "bomb.zip", {"agent.py": AGENT, "zeros.bin": bytes(32 * limit)})
    assert archive.stat().st_size < 100_000  # highly compressible
    read_sizes: list[int] = []
    original = zipfile.ZipExtFile.read

    def counting_read(self: zipfile.ZipExtFile, n: int = -1) -> bytes:
        assert n is not None and n >= 0, "members must be read with a bounded size"
        data = original(self, n)
        read_sizes.append(len(data))
        return data

    monkeypatch.setattr(zipfile.ZipExtFile, "read", counting_read)
    refused(archive, "more than 1.0 MiB uncompressed", limits=BundleLimits(max_total_bytes=limit))
    # The declared size is already over the allowance, so the bomb is never decompressed; a
    # lying header is caught by the bounded read (test_bounded_read_stops_one_byte_past_...).
    assert sum(read_sizes) <= len(AGENT)


def test_many_members_adding_up_over_the_total_are_refused(tmp_path: Path) -> None:
    chunk = os.urandom(400)  # each member is under the limit on its own
    entries = {"agent.py": AGENT} | {f"part{i}.bin": chunk for i in range(3)}
    for archive in (make_zip(tmp_path / "t.zip", entries), make_tar(tmp_path / "t.tgz", entries)):
        refused(archive, "uncompressed", limits=BundleLimits(max_total_bytes=1000))
        assert load_bundle(str(archive), env_id=ENV, limits=BundleLimits(max_total_bytes=1300))


def test_bounded_read_stops_one_byte_past_the_allowance() -> None:
    budget = bundle_mod._Budget(BundleLimits(max_total_bytes=10))
    stream = io.BytesIO(bytes(10_000))
    with pytest.raises(BadAgent, match="uncompressed"):
        budget.read(stream)
    assert stream.tell() == 11
    budget = bundle_mod._Budget(BundleLimits(max_total_bytes=10))
    assert budget.read(io.BytesIO(bytes(10))) == bytes(10)
    assert budget.remaining == 0


def test_too_many_files_are_refused(tmp_path: Path) -> None:
    entries = {"agent.py": AGENT} | {f"f{i}.py": b"" for i in range(3)}
    archive = make_zip(tmp_path / "t.zip", entries)
    refused(archive, "more than 3 files", limits=BundleLimits(max_files=3))
    assert load_bundle(str(archive), env_id=ENV, limits=BundleLimits(max_files=4))
    root = tmp_path / "dir"
    root.mkdir()
    for name, content in entries.items():
        (root / name).write_bytes(content)
    refused(root, "more than 3 files", limits=BundleLimits(max_files=3))


def test_flood_of_folder_entries_is_refused(tmp_path: Path) -> None:
    entries = {"agent.py": AGENT} | {f"d{i}/": b"" for i in range(20)}
    refused(make_zip(tmp_path / "t.zip", entries), "entries", limits=BundleLimits(max_files=2))


# --- content checks -----------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["zip", "dir"])
def test_missing_agent_py_is_refused(tmp_path: Path, kind: str) -> None:
    entries = {"helper.py": AGENT, "lib/agent.py": b""}
    if kind == "zip":
        ref = make_zip(tmp_path / "t.zip", {**entries, "other/x.py": b""})
    else:
        ref = tmp_path / "d"
        (ref / "lib").mkdir(parents=True)
        for name, content in entries.items():
            (ref / name).write_bytes(content)
    refused(ref, "no agent.py at its root")


def test_requirements_with_bom_are_accepted(tmp_path: Path) -> None:
    reqs = "\ufeffnumpy>=1.20\n".encode()
    archive = make_zip(tmp_path / "t.zip", {"agent.py": AGENT, "requirements.txt": reqs})
    assert load_bundle(str(archive), env_id=ENV).requirements == "numpy>=1.20\n"


# --- refused paths ------------------------------------------------------------------------


def test_missing_path_is_refused(tmp_path: Path) -> None:
    refused(tmp_path / "nope.zip", "does not exist")


@pytest.mark.parametrize(("link", "target"), [
    pytest.param("secrets.py", "/etc/passwd", id="symlink_inside_directory"),
    pytest.param("etc", "/etc", id="symlinked_folder_inside_directory"),
])
def test_a_symlink_inside_a_directory_is_refused(tmp_path: Path, link: str, target: str) -> None:
    root = tmp_path / "d"
    root.mkdir()
    (root / "agent.py").write_bytes(AGENT)
    (root / link).symlink_to(target)
    refused(root, f"contains a symlink '{link}'")


def test_unreadable_file_is_refused(tmp_path: Path) -> None:
    """As a user without read permission; root reads anything, so as root drop to nobody."""
    folder = Path(tempfile.mkdtemp(prefix="rl-arena-unreadable-"))  # traversable by nobody
    try:
        folder.chmod(0o755)
        src = folder / "agent.py"
        src.write_bytes(AGENT)
        src.chmod(0)
        message = as_nobody(lambda: str(refused(src, "cannot read")))
        assert "check that it is readable" in message
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def as_nobody(check: Callable[[], str]) -> str:
    """Run ``check`` in a forked child as uid/gid 65534 when root (else here); its result."""
    if os.geteuid() != 0:
        return check()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: drop privileges, run the check, report, never return
        os.close(read)
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            os.write(write, check().encode())
            code = 0
        except BaseException as exc:  # reported to the parent as the failure
            os.write(write, f"{type(exc).__name__}: {exc}".encode())
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        output = pipe.read().decode()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, output
    return output


def test_empty_builtin_name_is_refused() -> None:
    refused("builtin:", "builtin:NAME")


def test_unknown_builtin_is_refused() -> None:
    with pytest.raises(BadAgent, match="no_such_agent"):
        load_bundle("builtin:no_such_agent", env_id=ENV)


# --- requirements -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("-e .", "is a pip option"),
        ("-r other.txt", "is a pip option"),
        ("--index-url https://evil.example/simple", "is a pip option"),
        ("git+https://x/y", "URL or local path"),
        ("https://x/pkg-1.0-py3-none-any.whl", "URL or local path"),
        ("foo @ https://x", "URL or local path"),
        ("./local/pkg", "URL or local path"),
        ("pkg-1.0-py3-none-any.whl", "URL or local path"),
        ("foo @ bar", "direct reference"),
        ("!!!", "not a valid requirement"),
    ],
)
def test_bad_requirements_are_refused(line: str, phrase: str) -> None:
    with pytest.raises(BadAgent) as info:
        parse_requirements(f"numpy\n{line}\n")
    message = str(info.value)
    assert phrase in message
    assert "line 2" in message
    assert "\n" not in message
    if phrase != "not a valid requirement":
        assert "only PyPI requirements installable as binary wheels" in message


@pytest.mark.parametrize(
    ("line", "phrase"),
    [
        ("six===${RL_ARENA_SECRET_KEY}", "uses '$'"),  # the red-team line: pip expands it
        ("six==${HOME}", "uses '$'"),
        ("six; python_version > '${RL_ARENA_DATABASE_URL}'", "uses '$'"),
        ("six===$RL_ARENA_SECRET_KEY", "uses '$'"),
        ("numpy \\", "line continuation"),
        ("six===1.0,%HOME%", "not a valid requirement"),
        ("six===`id`", "not a valid requirement"),
        ("six===1.0\x1b[31m", "not a valid requirement"),
        ("six===1.0\u202e", "not a valid requirement"),
        ("\uff53\uff49\uff58", "not a valid requirement"),  # full-width "six"
        ("six=={1.0}", "not a valid requirement"),
        ("six===a|b", "not a valid requirement"),
        ("six; os.getenv('X')", "not a valid requirement"),
        ("six>=1.0,", "not a valid requirement"),
        ("six ; python_version == \"3.11\" ; x", "not a valid requirement"),
    ],
)
def test_requirements_with_expansions_or_unusual_syntax_are_refused(line: str,
                                                                      phrase: str) -> None:
    with pytest.raises(BadAgent) as info:
        parse_requirements(f"numpy>=1.26\n{line}\n")
    message = str(info.value)
    assert phrase in message and "line 2" in message
    assert "e.g. numpy>=1.26" in message  # says what to write instead
    assert "\n" not in message


def test_a_refused_line_is_quoted_never_expanded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RL_ARENA_SECRET_KEY", "canary-7a1f-secret")
    with pytest.raises(BadAgent) as info:
        parse_requirements("six===${RL_ARENA_SECRET_KEY}\n")
    assert "${RL_ARENA_SECRET_KEY}" in str(info.value)
    assert "canary-7a1f-secret" not in str(info.value)


def test_a_very_long_refused_line_is_cut_in_the_message() -> None:
    with pytest.raises(BadAgent) as info:
        parse_requirements("six===" + "x" * 5000 + "$\n")
    assert len(str(info.value)) < 400


@pytest.mark.timeout(30)  # a hang guard, not a speed test: 26 letters took 9 s before
@pytest.mark.parametrize("line", ["six; " + "a" * 390 + "%", "six; " + "a b " * 97 + "%",
                                  "six; '" + "a" * 390])
def test_a_marker_that_fails_at_its_end_is_refused_in_one_pass(line: str) -> None:
    with pytest.raises(BadAgent, match="not a valid requirement"):
        parse_requirements(line)


def test_an_overlong_requirement_line_is_refused() -> None:
    with pytest.raises(BadAgent, match="longer than 400 characters"):
        parse_requirements("six; python_version >= '3.8'" + " " * 400 + "and os_name == 'x'")


def test_good_requirements_are_accepted() -> None:
    text = (
        "# pinned for the arena\n\nnumpy>=1.20\n  \n"
        "torch==2.3.1  # cpu\nfoo[bar]; python_version<'4'\n"
        "Foo_Bar.baz[a, b] ~= 1.0.post1\nsix (>=1.15, !=1.16.*)\nx==1!2.0+local.7\n"
        "tomli===2.0.1; sys_platform == \"linux\" and (python_version >= '3.8')\n"
    )
    assert parse_requirements(text) == [
        "numpy>=1.20",
        "torch==2.3.1",
        'foo[bar]; python_version < "4"',
        "Foo_Bar.baz[a,b]~=1.0.post1",
        "six!=1.16.*,>=1.15",
        "x==1!2.0+local.7",
        'tomli===2.0.1; sys_platform == "linux" and python_version >= "3.8"',
    ]
    assert parse_requirements("") == []


# --- the bundle itself --------------------------------------------------------------------


def test_digest_is_stable_and_content_sensitive(tmp_path: Path) -> None:
    a = make_zip(tmp_path / "a.zip", {"agent.py": AGENT, "x.py": b"1"})
    b = make_zip(tmp_path / "b.zip", {"x.py": b"1", "agent.py": AGENT})  # other order
    root = tmp_path / "d"
    root.mkdir()
    (root / "agent.py").write_bytes(AGENT)
    (root / "x.py").write_bytes(b"1")
    digests = {load_bundle(str(ref), env_id=ENV).digest for ref in (a, b, root)}
    assert len(digests) == 1
    digest = digests.pop()
    assert len(digest) == 64
    int(digest, 16)
    c = make_zip(tmp_path / "c.zip", {"agent.py": AGENT, "x.py": b"2"})
    assert load_bundle(str(c), env_id=ENV).digest != digest


def test_digest_framing_is_unambiguous() -> None:
    one = AgentBundle(ref="a", files={"agent.py": b"", "ab": b"c"})
    two = AgentBundle(ref="b", files={"agent.py": b"", "a": b"bc"})
    assert one.digest != two.digest
    assert one == AgentBundle(ref="a", files={"ab": b"c", "agent.py": b""})
    assert hash(one) == hash(AgentBundle(ref="a", files={"ab": b"c", "agent.py": b""}))


def test_bundle_is_immutable_and_requires_agent_py() -> None:
    files = {"agent.py": AGENT}
    bundle = AgentBundle(ref="x", files=files)
    files["evil.py"] = b""
    assert list(bundle.files) == ["agent.py"]
    with pytest.raises(TypeError):
        bundle.files["evil.py"] = b""  # type: ignore[index]
    assert "def act" not in repr(bundle)  # file contents stay out of logs
    with pytest.raises(BadAgent, match=r"no agent\.py"):
        AgentBundle(ref="x", files={"helper.py": AGENT})


def test_bad_agent_is_bad_input() -> None:
    assert issubclass(BadAgent, BadInput)


# ONNX policies: the bytes of any model, since the harness and the submit check read it.
MODEL = b"\x08\x08\xff\xfe not text"


def test_an_onnx_upload_is_a_policy_whatever_its_name():
    policy = bundle_from_bytes(MODEL, ref="ppo-final.onnx")
    assert dict(policy.files) == {"policy.onnx": MODEL}
    assert policy.entry == "policy.onnx" and policy.is_policy


def test_an_archive_with_policy_onnx_and_its_settings_is_a_policy():
    data = zip_bytes({"run/policy.onnx": MODEL, "run/policy.json": b'{"output": "probs"}'})
    policy = bundle_from_bytes(data, ref="run.zip")
    assert sorted(policy.files) == ["policy.json", "policy.onnx"] and policy.is_policy


def test_with_agent_py_a_model_is_one_of_the_agents_files():
    data = zip_bytes({"agent.py": b"def act(o, i):\n    return 0\n", "policy.onnx": MODEL,
                      "requirements.txt": b"numpy\n"})
    agent = bundle_from_bytes(data, ref="agent.zip")
    assert agent.entry == "agent.py" and not agent.is_policy


def test_a_policy_with_a_bad_policy_json_or_requirements_is_refused():
    with pytest.raises(BadAgent, match=r"policy\.json is not valid JSON .* \(in 'p\.zip'\)"):
        bundle_from_bytes(zip_bytes({"policy.onnx": MODEL, "policy.json": b"{"}), ref="p.zip")
    with pytest.raises(BadAgent, match="which only Python agents use: remove it, or add an"):
        bundle_from_bytes(zip_bytes({"policy.onnx": MODEL, "requirements.txt": b"torch\n"}),
                          ref="p.zip")


def test_a_model_over_the_upload_limit_says_how_to_shrink_it():
    with pytest.raises(BadAgent, match=r"the model 'big\.onnx' is larger than 100 bytes, the "
                                       r"upload limit: shrink the model"):
        bundle_from_bytes(bytes(101), ref="big.onnx", limits=BundleLimits(max_upload_bytes=100))


def test_a_stable_baselines3_model_zip_is_refused_with_the_way_to_onnx():
    data = zip_bytes({"data": b"{}", "policy.pth": b"\x80\x04", "pytorch_variables.pth": b"",
                      "_stable_baselines3_version": b"2.7.0", "system_info.txt": b""})
    with pytest.raises(BadAgent, match=r"'ppo\.zip' is a Stable-Baselines3 model\.zip: it holds "
                                       r"pickled Python objects .* export the policy to ONNX"):
        bundle_from_bytes(data, ref="ppo.zip")
