"""Ratings: per-game Elo with a provisional K schedule, and Bradley-Terry fits with 95% intervals.

Pure functions over the standard library and numpy only.

Elo: a game is ``(a_id, b_id, score_a)`` with ``score_a`` in {0, 0.5, 1}. Each side moves by its
own K, chosen from the games it had played before this game. Ratings are stored as unrounded
floats, and ``replay_elo``/``replay_elo_arrays`` evaluate exactly the same float expression as
``elo_update``, so rebuilding the ratings from the full history reproduces incremental updates
bit for bit. A new version of an agent starts from its predecessor's rating with provisional K:
pass the predecessor's rating in ``initial`` and leave its games played at 0.

Bradley-Terry: P(i beats j) = p_i / (p_i + p_j), a draw counts as half a win to each side. Every
player also gets a virtual game against a fixed reference of strength 1 (log-strength 0, where
the fitted log-strengths centre) that it wins half and loses half (``prior_games=1.0``). This
tiny symmetric prior keeps the maximum-likelihood estimate finite and unique for players with
all wins or all losses, for disconnected groups and for players with no games; its pull is
negligible once a player has played a few dozen games against varied opponents. On a long
ladder of near-rating pairings the priors' pulls add up along the chain: when the pairings follow
the observed results (as ``core.matchmaking`` does), that pull is about what keeps the 95%
intervals near 95% (simulated seasons cover about 0.92-0.98; weaker priors overshoot the
spread). Pairings chosen by the true strengths, which no arena can make, leak information the
fit ignores; there the prior does compress the spread. Ratings are ``400 * log10(p)`` shifted
so the mean rating over all ``n_players`` (or the anchor player's rating) is 1500.

``fit_bradley_terry`` aggregates games per unordered pair once, then maximises the (strictly
concave) log-posterior with damped Newton steps on a dense Hessian (up to 3000 players) or with
Hunter's MM iterations (more players), until the largest rating change is below ``tol`` Elo
points. The 95% intervals are ``rating ± 1.96 sd``, with the sd chosen by ``bootstrap``:

* ``bootstrap=0`` (default): Laplace approximation of the posterior at the fitted maximum. The
  covariance of the log-strengths is the inverse Hessian of the negative log-posterior (the
  virtual games included); a rating is ``theta_i`` minus the mean (or the anchor's), so its
  variance is ``v' Sigma v`` with ``v = e_i - 1/n`` (or ``e_i - e_anchor``), times
  ``(scale / ln 10) ** 2``. Up to 3000 players the Hessian is inverted exactly. Above that,
  ``Sigma`` is the second-order Neumann series ``D^-1 + D^-1 A D^-1 + D^-1 A D^-1 A D^-1`` of
  the Hessian ``D - A`` (D its diagonal): within about 1% of the exact value when players meet
  many different opponents, but too small when games form long chains of near neighbours (in a
  simulation of 500 players each paired within 5 ranks it gave about 0.45 of the exact
  variance); use the bootstrap there if it matters.
* ``bootstrap=N > 0`` (at least ``MIN_BOOTSTRAP``): parametric bootstrap from the fitted model.
  Each round re-draws every game as a win with its fitted probability, else a loss (a draw
  counts as half a win, so the model has no separate draw outcome; this is the variance its
  likelihood assumes), refits warm-started from the fit, and the sd is the root mean square of
  the refitted ratings around the fitted ones. A player without games has only the prior,
  which the simulation cannot vary: it keeps the Laplace sd.

Every interval contains its estimate. A Laplace interval is never zero wide (but the anchor's or
a lone player's: they define the scale); a bootstrap one is only if every round re-drew the same
outcomes, which ``MIN_BOOTSTRAP`` rounds make vanishingly unlikely. ``rank_ub`` is Chatbot
Arena's Rank(UB): 1 + the number of players whose lower bound exceeds this player's upper bound.
``provisional`` flags players with < ``min_games``.
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, NamedTuple, overload

import numpy as np
from numpy.typing import ArrayLike, NDArray

__all__ = [
    "DEFAULT_ELO",
    "MIN_BOOTSTRAP",
    "BTResult",
    "EloConfig",
    "EloReplay",
    "EloResult",
    "EncodedGames",
    "RatingEvent",
    "elo_update",
    "encode_games",
    "expected_score",
    "fit_bradley_terry",
    "k_factor",
    "rank_upper_bound",
    "replay_elo",
    "replay_elo_arrays",
]

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
BoolArray = NDArray[np.bool_]

_SCORES = (0.0, 0.5, 1.0)
_LN10 = math.log(10.0)
# Above this many players the dense Newton Hessian (n x n floats) gets too big: use MM.
_NEWTON_MAX_PLAYERS = 3000
_Z95 = 1.959963984540054  # the standard normal's 97.5% quantile: a two-sided 95% interval
MIN_BOOTSTRAP = 10  # fewer parametric-bootstrap rounds cannot estimate a spread


# --------------------------------------------------------------------------------------- Elo


@dataclass(frozen=True, slots=True)
class EloConfig:
    """Elo parameters: starting rating, logistic scale and the K schedule by games played."""

    start: float = 1500.0
    scale: float = 400.0
    # (limit, K): K applies while the games played before this game is < limit (first match).
    k_schedule: tuple[tuple[int, float], ...] = ((10, 40.0), (20, 32.0))
    k_final: float = 24.0

    def __post_init__(self) -> None:
        """Reject schedules that are not strictly increasing in the games-played limit."""
        if not self.scale > 0:
            raise ValueError("scale must be positive")
        limits = [limit for limit, _ in self.k_schedule]
        if any(limit <= 0 for limit in limits) or limits != sorted(set(limits)):
            raise ValueError("k_schedule limits must be positive and strictly increasing")

    def k_table(self) -> list[float]:
        """K for games played 0 .. last limit - 1; ``k_final`` applies from there on."""
        last = self.k_schedule[-1][0] if self.k_schedule else 0
        return [k_factor(played, self) for played in range(last)]


DEFAULT_ELO = EloConfig()


def expected_score(ra: float, rb: float, scale: float = 400.0) -> float:
    """Expected score of a player rated ``ra`` against one rated ``rb``."""
    return 1.0 / (1.0 + 10.0 ** ((rb - ra) / scale))


def k_factor(games_played: int, config: EloConfig = DEFAULT_ELO) -> float:
    """K for a player's next game, given the games it had played before it."""
    for limit, k in config.k_schedule:
        if games_played < limit:
            return k
    return config.k_final


def _check_score(score: float) -> None:
    """Raise unless the score is a loss, a draw or a win."""
    if score not in _SCORES:
        raise ValueError(f"score_a must be 0, 0.5 or 1, got {score!r}")


def elo_update(
    ra: float,
    rb: float,
    score_a: float,
    games_a: int = 0,
    games_b: int = 0,
    config: EloConfig = DEFAULT_ELO,
) -> tuple[float, float]:
    """New (a, b) ratings after one game; each side uses its own K from its games before it."""
    _check_score(score_a)
    delta = score_a - 1.0 / (1.0 + 10.0 ** ((rb - ra) / config.scale))
    return ra + k_factor(games_a, config) * delta, rb - k_factor(games_b, config) * delta


class EloReplay(NamedTuple):
    """Arrays from ``replay_elo_arrays``: final state and per-game before/after ratings."""

    ratings: FloatArray
    games: IntArray
    before_a: FloatArray
    after_a: FloatArray
    before_b: FloatArray
    after_b: FloatArray


def _as_games(
    a_idx: ArrayLike, b_idx: ArrayLike, score: ArrayLike, n_players: int
) -> tuple[IntArray, IntArray, FloatArray]:
    """Validate integer-indexed games and return them as int64/float64 arrays."""
    a = np.asarray(a_idx)
    b = np.asarray(b_idx)
    s = np.asarray(score, dtype=np.float64)
    if a.ndim != 1 or a.shape != b.shape or a.shape != s.shape:
        raise ValueError("a_idx, b_idx and score must be 1-d arrays of the same length")
    if a.size and not (np.issubdtype(a.dtype, np.integer) and np.issubdtype(b.dtype, np.integer)):
        raise TypeError("a_idx and b_idx must hold integers")
    a = a.astype(np.int64, copy=False)
    b = b.astype(np.int64, copy=False)
    if n_players < 0:
        raise ValueError("n_players must be >= 0")
    if a.size:
        low, high = min(a.min(), b.min()), max(a.max(), b.max())
        if low < 0 or high >= n_players:
            raise ValueError("player index out of range [0, n_players)")
        if np.any(a == b):
            raise ValueError("a player cannot play itself")
        if not np.all((s == 0.0) | (s == 0.5) | (s == 1.0)):
            raise ValueError("scores must be 0, 0.5 or 1")
    return a, b, s


def replay_elo_arrays(
    a_idx: ArrayLike,
    b_idx: ArrayLike,
    score: ArrayLike,
    n_players: int,
    config: EloConfig = DEFAULT_ELO,
    *,
    initial: ArrayLike | None = None,
    initial_games: ArrayLike | None = None,
) -> EloReplay:
    """Replay integer-indexed games in order (fast path); bit-identical to ``elo_update``."""
    a, b, s = _as_games(a_idx, b_idx, score, n_players)
    if initial is None:
        ratings = [float(config.start)] * n_players
    else:
        start = np.asarray(initial, dtype=np.float64)
        if start.shape != (n_players,):
            raise ValueError("initial must have one rating per player")
        ratings = start.tolist()
    if initial_games is None:
        games = [0] * n_players
    else:
        played = np.asarray(initial_games, dtype=np.int64)
        if played.shape != (n_players,) or (played < 0).any():
            raise ValueError("initial_games must have one count >= 0 per player")
        games = played.tolist()
    k_table = config.k_table()
    cap = len(k_table)
    k_final = float(config.k_final)
    scale = float(config.scale)
    before_a, after_a, before_b, after_b = array("d"), array("d"), array("d"), array("d")
    push_ba, push_aa = before_a.append, after_a.append
    push_bb, push_ab = before_b.append, after_b.append
    # One tight loop over Python lists and locals; the float expression matches elo_update.
    for x, y, sc in zip(a.tolist(), b.tolist(), s.tolist(), strict=True):
        ra = ratings[x]
        rb = ratings[y]
        gx = games[x]
        gy = games[y]
        delta = sc - 1.0 / (1.0 + 10.0 ** ((rb - ra) / scale))
        ratings[x] = na = ra + (k_table[gx] if gx < cap else k_final) * delta
        ratings[y] = nb = rb - (k_table[gy] if gy < cap else k_final) * delta
        games[x] = gx + 1
        games[y] = gy + 1
        push_ba(ra)
        push_aa(na)
        push_bb(rb)
        push_ab(nb)
    return EloReplay(
        np.array(ratings, dtype=np.float64),
        np.array(games, dtype=np.int64),
        np.frombuffer(before_a, dtype=np.float64),
        np.frombuffer(after_a, dtype=np.float64),
        np.frombuffer(before_b, dtype=np.float64),
        np.frombuffer(after_b, dtype=np.float64),
    )


class EncodedGames(NamedTuple):
    """Games with ids mapped to dense indices: ``ids[k]`` is the id of player index ``k``."""

    ids: tuple[Hashable, ...]
    a_idx: IntArray
    b_idx: IntArray
    score: FloatArray


def encode_games(
    games: Iterable[tuple[Hashable, Hashable, float]], known: Iterable[Hashable] = ()
) -> EncodedGames:
    """Map ids to indices (``known`` first, then by first appearance) and games to arrays."""
    index: dict[Hashable, int] = {}
    for pid in known:
        index.setdefault(pid, len(index))
    a_list: list[int] = []
    b_list: list[int] = []
    scores: list[float] = []
    push_a, push_b, push_s = a_list.append, b_list.append, scores.append
    for a_id, b_id, score_a in games:
        push_a(index.setdefault(a_id, len(index)))
        push_b(index.setdefault(b_id, len(index)))
        push_s(score_a)
    return EncodedGames(
        tuple(index),
        np.array(a_list, dtype=np.int64),
        np.array(b_list, dtype=np.int64),
        np.array(scores, dtype=np.float64),
    )


class RatingEvent(NamedTuple):
    """One game's rating change for both sides."""

    game_index: int
    a_before: float
    a_after: float
    b_before: float
    b_after: float


class _Events(Sequence[RatingEvent]):
    """A lazy, read-only sequence of RatingEvent over the replay arrays."""

    __slots__ = ("_replay",)

    def __init__(self, replay: EloReplay) -> None:
        """Wrap the replay arrays; nothing is copied."""
        self._replay = replay

    def __len__(self) -> int:
        """Number of games."""
        return len(self._replay.before_a)

    @overload
    def __getitem__(self, i: int) -> RatingEvent: ...
    @overload
    def __getitem__(self, i: slice) -> list[RatingEvent]: ...
    def __getitem__(self, i: int | slice) -> RatingEvent | list[RatingEvent]:
        """The event of game ``i`` (or a list for a slice)."""
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        n = len(self)
        k = i + n if i < 0 else i
        if not 0 <= k < n:
            raise IndexError("event index out of range")
        r = self._replay
        return RatingEvent(
            k,
            float(r.before_a[k]),
            float(r.after_a[k]),
            float(r.before_b[k]),
            float(r.after_b[k]),
        )

    def __iter__(self) -> Iterator[RatingEvent]:
        """All events in game order."""
        r = self._replay
        columns = (r.before_a.tolist(), r.after_a.tolist(), r.before_b.tolist(), r.after_b.tolist())
        for k, (ba, aa, bb, ab) in enumerate(zip(*columns, strict=True)):
            yield RatingEvent(k, ba, aa, bb, ab)


@dataclass(frozen=True, slots=True)
class EloResult:
    """Final ratings and games played per id, plus the per-game replay arrays."""

    ratings: dict[Hashable, float]
    games: dict[Hashable, int]
    ids: tuple[Hashable, ...]
    replay: EloReplay

    @property
    def events(self) -> Sequence[RatingEvent]:
        """Per game (game_index, a_before, a_after, b_before, b_after), built lazily."""
        return _Events(self.replay)


def replay_elo(
    games: Iterable[tuple[Hashable, Hashable, float]],
    config: EloConfig = DEFAULT_ELO,
    initial: Mapping[Hashable, float] | None = None,
    initial_games: Mapping[Hashable, int] | None = None,
) -> EloResult:
    """Replay games ``(a_id, b_id, score_a)`` in order from scratch (or from ``initial``)."""
    initial = initial or {}
    initial_games = initial_games or {}
    encoded = encode_games(games, known=[*initial, *initial_games])
    ids = encoded.ids
    start = np.array([initial.get(pid, config.start) for pid in ids], dtype=np.float64)
    played = np.array([initial_games.get(pid, 0) for pid in ids], dtype=np.int64)
    replay = replay_elo_arrays(
        encoded.a_idx, encoded.b_idx, encoded.score, len(ids), config,
        initial=start, initial_games=played,
    )
    return EloResult(
        ratings=dict(zip(ids, replay.ratings.tolist(), strict=True)),
        games=dict(zip(ids, replay.games.tolist(), strict=True)),
        ids=ids,
        replay=replay,
    )


# ----------------------------------------------------------------------------- Bradley-Terry


@dataclass(frozen=True, slots=True)
class BTResult:
    """Bradley-Terry ratings on the Elo scale with 95% intervals, per player index."""

    rating: FloatArray
    ci_low: FloatArray
    ci_high: FloatArray
    games: IntArray
    provisional: BoolArray
    rank_ub: IntArray
    bootstrap: int  # rounds of the parametric bootstrap; 0: Laplace intervals
    converged: bool


@dataclass(slots=True)
class _Pairs:
    """Games aggregated per unordered pair (i < j): the fit's sufficient statistics."""

    i: IntArray
    j: IntArray
    game_pair: IntArray  # pair index of every game
    game_score: FloatArray  # every game's score for the pair's lower index i
    n_players: int
    flat_ij: IntArray | None = None
    flat_ji: IntArray | None = None

    def counts(self) -> tuple[FloatArray, FloatArray]:
        """Games and i's total score per pair."""
        size = len(self.i)
        n = np.bincount(self.game_pair, minlength=size).astype(np.float64)
        w = np.bincount(self.game_pair, weights=self.game_score, minlength=size)
        return n, w

    def spread(self, values: FloatArray) -> FloatArray:
        """Per-player sums of a per-pair quantity over both of its players."""
        size = self.n_players
        return np.bincount(self.i, values, size) + np.bincount(self.j, values, size)

    def neighbours(self, h: FloatArray, x: FloatArray) -> FloatArray:
        """``A @ x`` for the symmetric matrix A with ``h`` at (i, j) and (j, i)."""
        size = self.n_players
        return np.bincount(self.i, h * x[self.j], size) + np.bincount(self.j, h * x[self.i], size)


def _aggregate(a: IntArray, b: IntArray, s: FloatArray, n_players: int) -> _Pairs:
    """Aggregate games into unordered pairs once (the sufficient statistics of the fit)."""
    low = np.minimum(a, b)
    high = np.maximum(a, b)
    keys, game_pair = np.unique(low * n_players + high, return_inverse=True)
    game_score = np.where(a < b, s, 1.0 - s)
    return _Pairs(
        i=keys // n_players,
        j=keys % n_players,
        game_pair=game_pair.reshape(-1).astype(np.int64, copy=False),
        game_score=game_score,
        n_players=n_players,
    )


def _sigmoid(x: FloatArray) -> FloatArray:
    """Logistic function; overflow of exp for very negative inputs just gives 0."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _objective(theta: FloatArray, pairs: _Pairs, n: FloatArray, w: FloatArray,
               prior: float) -> float:
    """Negative log-likelihood (with the prior) at natural log-strengths ``theta``."""
    d = theta[pairs.i] - theta[pairs.j]
    # -[w log s(d) + (n - w) log s(-d)] = n softplus(d) - w d ; prior: half win, half loss vs 0.
    pair_terms = float(np.dot(n, np.logaddexp(0.0, d)) - np.dot(w, d))
    prior_terms = prior * float(np.sum(np.logaddexp(0.0, theta)) - 0.5 * np.sum(theta))
    return pair_terms + prior_terms


def _curvature(theta: FloatArray, pairs: _Pairs, n: FloatArray,
               prior: float) -> tuple[FloatArray, FloatArray]:
    """Hessian pieces at ``theta``: per-pair ``n s (1 - s)`` and the prior's diagonal."""
    s = _sigmoid(theta[pairs.i] - theta[pairs.j])
    s0 = _sigmoid(theta)
    return n * s * (1.0 - s), prior * s0 * (1.0 - s0)


def _fill_hessian(out: FloatArray, pairs: _Pairs, h: FloatArray, prior_curv: FloatArray) -> None:
    """Write the dense Hessian of the negative log-posterior (a weighted Laplacian + prior)."""
    size = pairs.n_players
    if pairs.flat_ij is None or pairs.flat_ji is None:
        pairs.flat_ij = pairs.i * size + pairs.j
        pairs.flat_ji = pairs.j * size + pairs.i
    flat = out.reshape(-1)
    out.fill(0.0)
    flat[pairs.flat_ij] = -h
    flat[pairs.flat_ji] = -h
    flat[np.arange(size) * (size + 1)] = pairs.spread(h) + prior_curv


def _gradient(theta: FloatArray, pairs: _Pairs, n: FloatArray, w: FloatArray,
              prior: float) -> FloatArray:
    """Gradient of the log-posterior at ``theta``."""
    r = w - n * _sigmoid(theta[pairs.i] - theta[pairs.j])  # d loglik / d(theta_i - theta_j)
    size = pairs.n_players
    return (np.bincount(pairs.i, r, size) - np.bincount(pairs.j, r, size)
            + prior * (0.5 - _sigmoid(theta)))


def _chord(pairs: _Pairs, n: FloatArray, w: FloatArray, prior: float, theta0: FloatArray,
           tol: float, inverse: FloatArray) -> FloatArray | None:
    """Newton steps with a fixed inverse Hessian (the fit's); None unless they converge fast."""
    theta = theta0.copy()
    previous = math.inf
    for _ in range(50):
        step = inverse @ _gradient(theta, pairs, n, w, prior)
        moved = float(np.abs(step).max()) if len(step) else 0.0
        if not moved < 0.5 * previous:  # not contracting (or nan): let the full solver do it
            return None
        theta += step
        if moved < tol:
            return theta
        previous = moved
    return None


def _newton(pairs: _Pairs, n: FloatArray, w: FloatArray, prior: float, theta0: FloatArray,
            tol: float, max_iter: int) -> tuple[FloatArray, bool]:
    """Damped Newton on the concave log-likelihood in log-strength space (dense Hessian)."""
    size = pairs.n_players
    theta = theta0.copy()
    previous = math.inf  # last undamped step
    hessian = np.empty((size, size))
    for _ in range(max_iter):
        _fill_hessian(hessian, pairs, *_curvature(theta, pairs, n, prior))
        step = np.linalg.solve(hessian, _gradient(theta, pairs, n, w, prior))
        biggest = float(np.abs(step).max()) if size else 0.0
        if not math.isfinite(biggest):
            return theta, False
        damped = biggest > 0.25
        if damped:
            # Far from the optimum (cold start, extreme data): cap and backtrack on the objective.
            if biggest > 2.0:
                step *= 2.0 / biggest
                biggest = 2.0
            current = _objective(theta, pairs, n, w, prior)
            t = 1.0
            while t > 1e-4 and _objective(theta + t * step, pairs, n, w, prior) > current:
                t *= 0.5
            step *= t
            biggest *= t
        theta += step
        moved = biggest
        if moved < tol:
            return theta, True
        if not damped:
            # Quadratic convergence: the next step would be about moved**3 / previous**2.
            if moved < 0.1 * previous < math.inf and moved**3 < tol * previous**2:
                return theta, True
            previous = moved
        else:
            previous = math.inf
    return theta, False


def _components(i: IntArray, j: IntArray, size: int) -> IntArray:
    """Connected-component label (the smallest member index) of every player, via min-labels."""
    labels = np.arange(size)
    while True:
        low = np.minimum(labels[i], labels[j])
        new = labels.copy()
        np.minimum.at(new, i, low)
        np.minimum.at(new, j, low)
        new = new[new]  # pointer jumping: follow the label's own label
        if np.array_equal(new, labels):
            return labels
        labels = new


def _mm(pairs: _Pairs, n: FloatArray, w: FloatArray, prior: float, theta0: FloatArray,
        tol: float, max_iter: int) -> tuple[FloatArray, bool]:
    """Hunter's MM iterations, each followed by the exact optimal shift of every component."""
    size = pairs.n_players
    half = 0.5 * prior
    wins = np.bincount(pairs.i, w, size) + np.bincount(pairs.j, n - w, size) + half
    active = n > 0
    group = _components(pairs.i[active], pairs.j[active], size)
    members = np.bincount(group, minlength=size)
    theta = theta0.copy()
    previous = math.inf
    for _ in range(max_iter):
        p = np.exp(theta)
        q = n / (p[pairs.i] + p[pairs.j])
        denom = np.bincount(pairs.i, q, size) + np.bincount(pairs.j, q, size) + prior / (p + 1.0)
        new = np.log(wins / denom)
        # Pair terms are invariant to shifting a whole connected component; only the prior pins
        # its level, which plain MM moves very slowly. Solve sum_comp s(x + c) = |comp| / 2.
        shift = np.zeros(size)
        for _ in range(50):
            s0 = _sigmoid(new + shift[group])
            g = 0.5 * members - np.bincount(group, s0, size)
            shift += g / np.maximum(np.bincount(group, s0 * (1.0 - s0), size), 1e-300)
            if np.abs(g).max() < 1e-12:
                break
        new += shift[group]
        change = float(np.abs(new - theta).max()) if size else 0.0
        theta = new
        # Linear convergence at rate r leaves about change * r / (1 - r) still to go.
        rate = change / previous if previous > 0 else 0.0
        if change < tol and rate < 1.0 and change * rate < tol * (1.0 - rate):
            return theta, True
        previous = change
    return theta, False


def _centre(theta: FloatArray, anchor: int | None) -> FloatArray:
    """Log-strengths relative to their mean (or to the anchor's)."""
    if not theta.size:
        return theta.copy()
    return theta - (theta.mean() if anchor is None else theta[anchor])


def _to_elo(theta: FloatArray, anchor: int | None, base: float, scale: float) -> FloatArray:
    """Natural log-strengths to the Elo scale, with the mean (or the anchor) at ``base``."""
    return base + (scale / _LN10) * _centre(theta, anchor)


def rank_upper_bound(ci_low: ArrayLike, ci_high: ArrayLike) -> IntArray:
    """Rank(UB): 1 + number of players whose lower bound exceeds this player's upper bound."""
    low = np.sort(np.asarray(ci_low, dtype=np.float64))
    high = np.asarray(ci_high, dtype=np.float64)
    return (1 + len(low) - np.searchsorted(low, high, side="right")).astype(np.int64)


def _contrast_variance(cov: FloatArray, anchor: int | None) -> FloatArray:
    """``v' cov v`` for every ``v = e_i - 1/n`` (or ``e_i - e_anchor``), from a dense cov."""
    diag = np.diag(cov)
    if anchor is None:
        size = len(diag)
        return diag - 2.0 * cov.sum(axis=1) / size + cov.sum() / size**2
    return diag - 2.0 * cov[:, anchor] + cov[anchor, anchor]


def _neumann_variance(pairs: _Pairs, h: FloatArray, prior_curv: FloatArray,
                      anchor: int | None) -> FloatArray:
    """``v' S v`` with S = D^-1 + D^-1 A D^-1 + D^-1 A D^-1 A D^-1, the Hessian being D - A."""
    size = pairs.n_players
    inv_d = 1.0 / (pairs.spread(h) + prior_curv)

    def series(x: FloatArray) -> FloatArray:
        first = inv_d * x
        second = inv_d * pairs.neighbours(h, first)
        return first + second + inv_d * pairs.neighbours(h, second)

    # diag(S): the middle term has none; the last has sum_j A_ij^2 / D_jj, scaled by D_ii^-2.
    diag = inv_d + inv_d**2 * (np.bincount(pairs.i, h**2 * inv_d[pairs.j], size)
                               + np.bincount(pairs.j, h**2 * inv_d[pairs.i], size))
    if anchor is None:
        column = series(np.full(size, 1.0 / size))  # S 1 / n
        return diag - 2.0 * column + column.sum() / size
    column = series(np.eye(1, size, anchor).ravel())  # S e_anchor
    return diag - 2.0 * column + column[anchor]


def _inverse_hessian(theta: FloatArray, pairs: _Pairs, n: FloatArray,
                     prior: float) -> FloatArray | None:
    """The posterior covariance (inverse Hessian) at ``theta``; None above the dense limit."""
    size = pairs.n_players
    if size > _NEWTON_MAX_PLAYERS:
        return None
    hessian = np.empty((size, size))
    _fill_hessian(hessian, pairs, *_curvature(theta, pairs, n, prior))
    return np.linalg.inv(hessian)


def _laplace_sd(theta: FloatArray, pairs: _Pairs, n: FloatArray, prior: float,
                anchor: int | None, covariance: FloatArray | None) -> FloatArray:
    """Posterior sd of every reported log-strength (centred or anchored), Laplace at ``theta``."""
    if not pairs.n_players:
        return np.zeros(0)
    if covariance is not None:
        variance = _contrast_variance(covariance, anchor)
    else:
        variance = _neumann_variance(pairs, *_curvature(theta, pairs, n, prior), anchor)
    return np.sqrt(np.maximum(variance, 0.0))  # the anchor's own 0 may come out as -1e-17


_Solver = Callable[[_Pairs, FloatArray, FloatArray, float, FloatArray, float, int],
                  tuple[FloatArray, bool]]


def _bootstrap_sd(theta: FloatArray, pairs: _Pairs, n: FloatArray, prior: float,
                  anchor: int | None, rounds: int, seed: int, solve: _Solver, tol: float,
                  max_iter: int, covariance: FloatArray | None) -> tuple[FloatArray, bool]:
    """RMS of the centred log-strengths around the fit's over parametric-bootstrap refits.

    A refit starts with cheap Newton steps that reuse the fit's inverse Hessian (dense case), and
    falls back to the full solver when those do not converge quickly.
    """
    fitted = _centre(theta, anchor)
    p_win = _sigmoid(theta[pairs.i] - theta[pairs.j])
    games = n.astype(np.int64)
    rng = np.random.default_rng(seed)
    squares = np.zeros(pairs.n_players)
    converged = True
    for _ in range(rounds):
        wins = rng.binomial(games, p_win).astype(np.float64)
        quick = None if covariance is None else _chord(pairs, n, wins, prior, theta, tol,
                                                        covariance)
        theta_k, ok = (quick, True) if quick is not None else solve(pairs, n, wins, prior,
                                                                    theta, tol, max_iter)
        converged = converged and ok
        squares += (_centre(theta_k, anchor) - fitted) ** 2
    return np.sqrt(squares / rounds), converged


def fit_bradley_terry(
    a_idx: ArrayLike,
    b_idx: ArrayLike,
    score: ArrayLike,
    n_players: int,
    *,
    bootstrap: int = 0,
    seed: int = 0,
    min_games: int = 10,
    prior_games: float = 1.0,
    anchor: int | None = None,
    base: float = 1500.0,
    scale: float = 400.0,
    method: Literal["auto", "newton", "mm"] = "auto",
    tol: float = 1e-6,
    max_iter: int = 10_000,
) -> BTResult:
    """Bradley-Terry MAP on the Elo scale; 95% intervals by Laplace (0) or parametric bootstrap."""
    a, b, s = _as_games(a_idx, b_idx, score, n_players)
    if not prior_games > 0:
        raise ValueError("prior_games must be positive (it keeps the estimate finite)")
    if bootstrap < 0 or 0 < bootstrap < MIN_BOOTSTRAP:
        raise ValueError(f"bootstrap must be 0 (Laplace intervals) or at least {MIN_BOOTSTRAP} "
                         "rounds, fewer cannot measure a spread")
    if anchor is not None and not 0 <= anchor < n_players:
        raise ValueError("anchor out of range")
    if not (scale > 0 and tol > 0):
        raise ValueError("scale and tol must be positive")
    if method not in ("auto", "newton", "mm"):
        raise ValueError(f"unknown method {method!r}")
    if method == "auto":
        method = "newton" if n_players <= _NEWTON_MAX_PLAYERS else "mm"
    solve: _Solver = {"newton": _newton, "mm": _mm}[method]
    games = np.bincount(a, minlength=n_players) + np.bincount(b, minlength=n_players)
    pairs = _aggregate(a, b, s, n_players)
    n, w = pairs.counts()
    tol_nats = tol * _LN10 / scale  # the solvers work in natural log-strengths
    theta, converged = np.zeros(n_players), True
    if len(s):
        theta, converged = solve(pairs, n, w, prior_games, theta, tol_nats, max_iter)
    rating = _to_elo(theta, anchor, base, scale)
    covariance = _inverse_hessian(theta, pairs, n, prior_games)
    sd = _laplace_sd(theta, pairs, n, prior_games, anchor, covariance)
    rounds = bootstrap if len(s) else 0
    if rounds:
        boot_sd, ok = _bootstrap_sd(theta, pairs, n, prior_games, anchor, rounds, seed, solve,
                                    tol_nats, max_iter, covariance)
        converged = converged and ok
        sd = np.where(games > 0, boot_sd, sd)
    half_width = _Z95 * (scale / _LN10) * sd
    ci_low, ci_high = rating - half_width, rating + half_width
    return BTResult(
        rating=rating,
        ci_low=ci_low,
        ci_high=ci_high,
        games=games.astype(np.int64),
        provisional=games < min_games,
        rank_ub=rank_upper_bound(ci_low, ci_high),
        bootstrap=rounds,
        converged=converged,
    )
