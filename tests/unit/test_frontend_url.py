"""The public URL a built dashboard names, rewritten at start (jobs.frontend_url) on a temp copy
shaped like a `reflex export` build."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from jobs.frontend_url import built_urls, replace_url, retarget, websocket_url
from rl_arena_app.errors import InfrastructureError

BAKED = "http://baked.example:3000"
# As Reflex 0.10.1 writes them (assets/reflex-env-<hash>.js, sitemap.xml).
ENV_JS = ("var e={{PING:`{u}/ping`,EVENT:`{w}/_event`,UPLOAD:`{u}/_upload`,"
          "AUTH_CODESPACE:`{u}/auth-codespace`,HEALTH:`{u}/_health`,ALL_ROUTES:`{u}/_all_routes`,"
          "TRANSPORT:`websocket`,TEST_MODE:!1}};export{{e as t}};")
SITEMAP = ("<?xml version='1.0' encoding='utf-8'?>\n<urlset xmlns=\"http://www.sitemaps.org/"
           "schemas/sitemap/0.9\">\n  <url>\n    <loc>{u}/</loc>\n  </url>\n  <url>\n"
           "    <loc>{u}/matches</loc>\n  </url>\n</urlset>")
OTHER_JS = "const docs=`{u}0/elsewhere`,own=`{u}/ping`;"  # a longer port, then the build's URL


def env_js(url: str) -> str:
    return ENV_JS.format(u=url, w=websocket_url(url))


def write(path: Path, text: str, *, gz: bool = True) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    if gz:
        path.with_name(path.name + ".gz").write_bytes(gzip.compress(text.encode()))


@pytest.fixture
def build(tmp_path: Path) -> Path:
    """A built frontend for BAKED: env script, sitemap, other files, their gzip copies."""
    client = tmp_path / "client"
    write(client / "assets" / "reflex-env-DJUk8Ema.js", env_js(BAKED))
    write(client / "sitemap.xml", SITEMAP.format(u=BAKED))
    write(client / "assets" / "other-x1.js", OTHER_JS.format(u=BAKED))
    write(client / "index.html", "<script src=\"/assets/reflex-env-DJUk8Ema.js\"></script>")
    (client / "assets" / "font.woff2").write_bytes(b"\xff\xfe" + BAKED.encode() + b"\x80")
    (client / "sitemap.xml.br").write_bytes(b"stale brotli")
    return client


def served(path: Path) -> tuple[str, str]:
    """A file's text and its gzip copy's."""
    zipped = path.with_name(path.name + ".gz").read_bytes()
    return path.read_text(), gzip.decompress(zipped).decode()


def test_the_build_names_the_new_url_everywhere_it_named_the_old(build: Path) -> None:
    new = "https://arena.example.org"
    changed = retarget(build, new)
    env = build / "assets" / "reflex-env-DJUk8Ema.js"
    assert sorted(p.name for p in changed) == ["other-x1.js", "reflex-env-DJUk8Ema.js",
                                               "sitemap.xml"]
    for text in served(env):
        assert text == env_js(new)
        assert "EVENT:`wss://arena.example.org/_event`" in text
    for text in served(build / "sitemap.xml"):
        assert text == SITEMAP.format(u=new)
    assert built_urls(build) == (new, "wss://arena.example.org")
    assert not (build / "sitemap.xml.br").exists(), "a stale brotli copy would be served"


def test_a_longer_host_port_or_path_that_starts_with_the_url_is_left_alone(build: Path) -> None:
    retarget(build, "https://arena.example.org/arena")
    text, zipped = served(build / "assets" / "other-x1.js")
    expected = "const docs=`http://baked.example:30000/elsewhere`," \
               "own=`https://arena.example.org/arena/ping`;"
    assert text == zipped == expected
    assert replace_url("http://a:3000/x http://a:30001/x http://a:3000", "http://a:3000",
                       "http://b") == "http://b/x http://a:30001/x http://b"


def test_files_that_do_not_name_it_or_are_not_text_stay_as_built(build: Path) -> None:
    font = (build / "assets" / "font.woff2").read_bytes()
    index = build / "index.html"
    before = index.stat().st_mtime_ns
    retarget(build, "http://other:8080")
    assert (build / "assets" / "font.woff2").read_bytes() == font
    assert index.stat().st_mtime_ns == before


def test_the_same_url_again_rewrites_nothing_and_a_later_change_still_applies(build: Path) -> None:
    assert retarget(build, BAKED) == []
    assert retarget(build, BAKED + "/") == []  # the trailing slash settings strip
    retarget(build, "http://first:1")
    assert retarget(build, "http://first:1") == []
    retarget(build, BAKED)
    assert served(build / "assets" / "reflex-env-DJUk8Ema.js") == (env_js(BAKED), env_js(BAKED))
    assert served(build / "sitemap.xml")[1] == SITEMAP.format(u=BAKED)


def test_a_build_without_its_env_script_is_refused_with_advice(tmp_path: Path) -> None:
    write(tmp_path / "sitemap.xml", SITEMAP.format(u=BAKED))
    with pytest.raises(InfrastructureError, match="rl-arena web --rebuild"):
        retarget(tmp_path, "http://x")
    write(tmp_path / "assets" / "reflex-env-a.js", "var e={TRANSPORT:`websocket`}")
    with pytest.raises(InfrastructureError, match="names no PING"):
        retarget(tmp_path, "http://x")


def test_the_frontend_fingerprint_ignores_the_public_url(monkeypatch) -> None:
    """One build serves every URL: changing it must not make `rl-arena web` rebuild."""
    from jobs.web import fingerprint
    from rl_arena_app.settings import get_settings

    fingerprints = set()
    for url in ("http://localhost:3000", "https://arena.example.org"):
        monkeypatch.setenv("RL_ARENA_PUBLIC_URL", url)
        get_settings.cache_clear()
        fingerprints.add(fingerprint())
    get_settings.cache_clear()
    assert len(fingerprints) == 1
