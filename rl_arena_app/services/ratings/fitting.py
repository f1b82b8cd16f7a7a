"""Ratings fitted from a file of games (`rl-arena ratings fit`): Elo replayed in order, or
Bradley-Terry with intervals, for organisers who hold their games outside the arena."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path
from typing import Any, Literal

from rl_arena_app.core.ratings import (
    MIN_BOOTSTRAP,
    EncodedGames,
    encode_games,
    fit_bradley_terry,
    replay_elo_arrays,
)
from rl_arena_app.errors import BadInput


def fit_ratings(path: Path, method: Literal["elo", "bt"] | str, *, bootstrap: int = 0,
                seed: int = 0) -> dict[str, Any]:
    """The `rl-arena ratings fit --json` object of a games CSV: method, games, ratings (best
    first); ``bootstrap`` rounds (0: Laplace) and ``seed`` shape Bradley-Terry intervals."""
    if 0 < bootstrap < MIN_BOOTSTRAP:
        raise BadInput(f"--bootstrap {bootstrap} is too few rounds to measure a spread: give 0 "
                       f"(Laplace intervals) or at least {MIN_BOOTSTRAP}")
    games = encode_games(read_games_csv(path))
    rows = _elo_rows(games) if method == "elo" else _bradley_terry_rows(games, bootstrap, seed)
    rows.sort(key=lambda row: -row["rating"])
    return {"method": method, "games": len(games.score), "ratings": rows}


def _elo_rows(games: EncodedGames) -> list[dict[str, Any]]:
    """Each player's Elo rating after replaying the games in file order."""
    replay = replay_elo_arrays(games.a_idx, games.b_idx, games.score, len(games.ids))
    return [{"id": pid, "rating": float(replay.ratings[k]), "games": int(replay.games[k])}
            for k, pid in enumerate(games.ids)]


def _bradley_terry_rows(games: EncodedGames, bootstrap: int, seed: int) -> list[dict[str, Any]]:
    """Each player's Bradley-Terry rating, interval and Rank(UB)."""
    fit = fit_bradley_terry(games.a_idx, games.b_idx, games.score, len(games.ids),
                            bootstrap=bootstrap, seed=seed)
    return [{"id": pid, "rating": float(fit.rating[k]), "ci_low": float(fit.ci_low[k]),
             "ci_high": float(fit.ci_high[k]), "rank_ub": int(fit.rank_ub[k]),
             "games": int(fit.games[k]), "provisional": bool(fit.provisional[k])}
            for k, pid in enumerate(games.ids)]


_GAMES_COLUMNS = ("a", "b", "score_a")
_MAX_ID_CHARS = 200


def read_games_csv(path: Path) -> list[tuple[str, str, float]]:
    """Rows (a, b, score_a) of a UTF-8 games CSV; bad input names the file and line.

    The first non-blank row is the header; it must name a, b and score_a (other columns are
    ignored). Blank rows are skipped and spaces around a field are dropped.
    """
    text = _games_csv_text(path)
    reader = csv.reader(io.StringIO(text, newline=""))
    columns: tuple[int, dict[str, int]] | None = None  # header width, positions of a,b,score_a
    games: list[tuple[str, str, float]] = []
    seen_ids: set[str] = set()
    line = 1
    try:
        for row in reader:
            fields = [field.strip() for field in row]
            if any(fields):
                where = f"{path}:{line}"
                if columns is None:
                    columns = _games_csv_header(fields, where)
                else:
                    games.append(_games_csv_row(fields, columns, seen_ids, where))
            line = reader.line_num + 1
    except csv.Error as exc:
        limit = csv.field_size_limit()
        why = (f"a field is longer than {limit} characters (ids are at most {_MAX_ID_CHARS})"
               if "field limit" in str(exc) else f"not a CSV row ({exc})")
        raise BadInput(f"{path}:{line}: {why}; fix or remove that row") from None
    if columns is None:
        raise BadInput(f"{path}:1: the file is empty; start it with the header a,b,score_a")
    if not games:
        raise BadInput(f"{path}:{line}: no games after the header; add rows a,b,score_a")
    return games


def _games_csv_text(path: Path) -> str:
    """The file decoded as UTF-8 (a BOM is dropped); unreadable or other encodings are bad input."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}:1: cannot read the file ({exc.strerror}); check it and its "
                       "permissions") from None
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise BadInput(f"{path}:1: the file is UTF-16; save it as UTF-8 (CSV UTF-8)")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise BadInput(f"{path}:{line}: not UTF-8 text (byte 0x{data[exc.start]:02x}); save the "
                       "file as UTF-8") from None


def _games_csv_header(fields: list[str], where: str) -> tuple[int, dict[str, int]]:
    """The header's width and the positions of a, b and score_a in it."""
    missing = [name for name in _GAMES_COLUMNS if name not in fields]
    if missing:
        raise BadInput(f"{where}: the first row must be the header a,b,score_a (more columns may "
                       f"follow); missing {','.join(missing)} in {_shown(','.join(fields))}")
    twice = [name for name in _GAMES_COLUMNS if fields.count(name) > 1]
    if twice:
        raise BadInput(f"{where}: the header names {','.join(twice)} more than once; keep one")
    return len(fields), {name: fields.index(name) for name in _GAMES_COLUMNS}


def _games_csv_row(fields: list[str], columns: tuple[int, dict[str, int]], seen_ids: set[str],
                   where: str) -> tuple[str, str, float]:
    """One game (a, b, score_a) from a data row."""
    width, at = columns
    if any("\n" in field or "\r" in field for field in fields):
        raise BadInput(f"{where}: a field runs over several lines; close the quote it opens "
                       "(or remove the stray \")")
    if len(fields) != width:
        raise BadInput(f"{where}: expected {width} fields like the header, got {len(fields)}; "
                       "write a,b,score_a (quote ids that contain commas)")
    a, b, raw_score = fields[at["a"]], fields[at["b"]], fields[at["score_a"]]
    for column, pid in (("a", a), ("b", b)):
        if pid not in seen_ids:
            _check_player_id(column, pid, where)
            seen_ids.add(pid)
    if a == b:
        raise BadInput(f"{where}: {_shown(a)} plays itself; a and b must be different players")
    try:
        score = float(raw_score)
    except ValueError:
        score = -1.0
    if score not in (0.0, 0.5, 1.0):
        raise BadInput(f"{where}: score_a must be 1 (a wins), 0.5 (draw) or 0 (b wins), got "
                       f"{_shown(raw_score)}")
    return a, b, score


def _check_player_id(column: str, pid: str, where: str) -> None:
    """Refuse an empty, overlong or unprintable player id."""
    if not pid:
        raise BadInput(f"{where}: the {column} id is empty; name both players")
    if len(pid) > _MAX_ID_CHARS:
        raise BadInput(f"{where}: the {column} id is {len(pid)} characters long; ids are at "
                       f"most {_MAX_ID_CHARS}; shorten it")
    bad = next((ch for ch in pid if unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Zl", "Zp")),
               None)
    if bad is not None:
        raise BadInput(f"{where}: the {column} id {_shown(pid)} holds the control character "
                       f"U+{ord(bad):04X}; ids must be printable")


def _shown(value: str) -> str:
    """A value for an error line: escaped, and cut after 40 characters."""
    return repr(value[:40]) + ("..." if len(value) > 40 else "")
