"""The public URL inside a built dashboard, rewritten at start so one build serves any deployment.

`reflex export` writes the URL browsers use into the build: `assets/reflex-env-<hash>.js` holds
the backend's endpoints (PING, EVENT over ws(s), UPLOAD, ...) and `sitemap.xml` the pages' URLs,
each beside a gzip copy the server sends to browsers that accept it. The URL a build names is
read back from its PING endpoint (the build is the only record), and every file of the build that
names it is rewritten to the running deployment's URL, its compressed copies with it.
"""

from __future__ import annotations

import gzip
import os
import re
from pathlib import Path

from rl_arena_app.errors import InfrastructureError

ENV_SCRIPT_GLOB = "assets/reflex-env-*.js"
# Where the backend's URLs start in the env script: PING is `<url>/ping`, EVENT `<ws url>/_event`.
ENDPOINT = r"\b{name}:\s*[`'\"]([^`'\"]*){suffix}[`'\"]"
PING = re.compile(ENDPOINT.format(name="PING", suffix="/ping"))
EVENT = re.compile(ENDPOINT.format(name="EVENT", suffix="/_event"))
# What may follow a URL where the build names it: a path, a query, the end of a string or tag.
URL_END = r"(?=[/?#`'\"<\s]|$)"
GZIP = ".gz"
OTHER_ENCODINGS = (".br", ".zst")  # precompressed copies that cannot be remade here: dropped


def websocket_url(url: str) -> str:
    """``url`` with ws(s) for http(s), as Reflex derives its event URL."""
    return "ws" + url[len("http"):] if url.startswith("http") else url


def env_script(client_dir: Path) -> Path:
    """The build's env script (the one file that records the URL it was built for)."""
    found = sorted(client_dir.glob(ENV_SCRIPT_GLOB))
    if len(found) != 1:
        raise InfrastructureError(f"the built dashboard has {len(found)} reflex-env scripts "
                                  "where one was expected: rebuild it with "
                                  "`rl-arena web --rebuild`")
    return found[0]


def built_urls(client_dir: Path) -> tuple[str, str]:
    """The http(s) and ws(s) base URLs the build names, read from its env script."""
    text = env_script(client_dir).read_text(encoding="utf-8")
    ping, event = PING.search(text), EVENT.search(text)
    if ping is None or event is None or not ping.group(1).startswith("http"):
        raise InfrastructureError("the built dashboard's reflex-env script names no PING or "
                                  "EVENT URL of its own: rebuild it with `rl-arena web --rebuild`")
    return ping.group(1), event.group(1)


def replace_url(text: str, old: str, new: str) -> str:
    """``text`` with each whole occurrence of URL ``old`` (not a longer host, port or path
    segment that starts with it) made ``new``."""
    return re.sub(re.escape(old) + URL_END, lambda _: new, text)


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` atomically (the server may be reading it)."""
    staged = path.with_name(f".{path.name}.rl-arena-tmp")
    staged.write_bytes(data)
    os.replace(staged, path)


def _sources(client_dir: Path) -> list[Path]:
    """Every file of the build but the precompressed copies (made from their source)."""
    compressed = (GZIP, *OTHER_ENCODINGS)
    return [p for p in client_dir.rglob("*")
            if p.is_file() and not p.name.endswith(compressed)]


def _rewrite(path: Path, text: str) -> None:
    """Write ``path`` and its gzip copy, and drop copies in encodings made elsewhere."""
    data = text.encode("utf-8")
    _write(path, data)
    compressed = path.with_name(path.name + GZIP)
    if compressed.exists():
        _write(compressed, gzip.compress(data, mtime=0))
    for suffix in OTHER_ENCODINGS:
        path.with_name(path.name + suffix).unlink(missing_ok=True)


def retarget(client_dir: Path, url: str) -> list[Path]:
    """Make the build at ``client_dir`` name ``url`` wherever it names the URL it was built
    for; the files rewritten (none when it already names ``url``)."""
    old_http, old_ws = built_urls(client_dir)
    new_http, new_ws = url.rstrip("/"), websocket_url(url.rstrip("/"))
    if (old_http, old_ws) == (new_http, new_ws):
        return []
    needles = (old_http.encode(), old_ws.encode())
    changed = []
    for path in _sources(client_dir):
        data = path.read_bytes()
        if not any(needle in data for needle in needles):
            continue
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:  # an image or a font: no URL of the build's to rewrite
            continue
        text = replace_url(replace_url(text, old_ws, new_ws), old_http, new_http)
        if text.encode("utf-8") != data:
            _rewrite(path, text)
            changed.append(path)
    return changed
