"""Charts of the dashboard: pure functions, DataFrame in, plotly Figure out.

Colours are the Okabe-Ito palette (safe for the common colour-vision deficiencies); figures have
transparent backgrounds and neutral grid lines so they read on the light and the dark theme.
Frame builders turn the services' read models into the DataFrames the figures take.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from rl_arena_app.services.read_models import HeadToHead, LeaderboardRow, RatingHistory

# Okabe & Ito (2008), "Color Universal Design", without black.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442")
SEQUENTIAL = ((0.0, "#D55E00"), (0.5, "#F7F7F7"), (1.0, "#0072B2"))  # lost ... won
GRID = "rgba(128,128,128,0.25)"
INTERVAL_FILL = 0.18  # opacity of a Bradley-Terry band


def colour(index: int) -> str:
    """The palette's colour for series ``index`` (cycling)."""
    return PALETTE[index % len(PALETTE)]


def _with_alpha(hex_colour: str, alpha: float) -> str:
    red, green, blue = (int(hex_colour[k:k + 2], 16) for k in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"


def _layout(figure: go.Figure, **kwargs) -> go.Figure:
    """The dashboard's look: transparent, compact, legend on top, readable on both themes."""
    figure.update_layout(
        paper_bgcolor="rgba(0,0,0,0)", plot_bgcolor="rgba(0,0,0,0)",
        margin={"l": 48, "r": 16, "t": 40, "b": 40}, hovermode="closest",
        legend={"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0}, **kwargs)
    figure.update_xaxes(gridcolor=GRID, zeroline=False)
    figure.update_yaxes(gridcolor=GRID, zeroline=False)
    return figure


@functools.lru_cache(maxsize=64)
def empty_figure(message: str) -> go.Figure:
    """A figure that says why there is nothing to draw: built once per message and shared (a
    hidden page returns it on every update), so callers must not change it; Reflex only reads
    it, to serialise it."""
    figure = go.Figure()
    figure.add_annotation(text=message, showarrow=False, x=0.5, y=0.5, xref="paper",
                          yref="paper", font={"size": 14})
    figure.update_xaxes(visible=False)
    figure.update_yaxes(visible=False)
    return _layout(figure)


# ------------------------------------------------------------------------------ rating history


def elo_frame(history: RatingHistory) -> pd.DataFrame:
    """One row per game: game_number, at, version, elo (after the game), before."""
    return pd.DataFrame({
        "game_number": [p.game_number for p in history.elo],
        "at": pd.to_datetime([p.at for p in history.elo], utc=True),
        "version": [p.version for p in history.elo],
        "elo": [p.after for p in history.elo],
        "before": [p.before for p in history.elo]})


def bt_frame(history: RatingHistory) -> pd.DataFrame:
    """One row per Bradley-Terry estimate: at, version, rating, low, high."""
    return pd.DataFrame({
        "at": pd.to_datetime([p.at for p in history.bradley_terry], utc=True),
        "version": [p.version for p in history.bradley_terry],
        "rating": [p.rating for p in history.bradley_terry],
        "low": [p.low for p in history.bradley_terry],
        "high": [p.high for p in history.bradley_terry]})


def rating_history_figure(elo: pd.DataFrame, bt: pd.DataFrame, *,
                          x: str = "game_number") -> go.Figure:
    """Elo after each game, one trace per version with its start marked; with ``x="at"`` the
    Bradley-Terry estimate and its 95% interval are drawn as a band over time."""
    if elo.empty:
        return empty_figure("No rated games yet")
    figure = go.Figure()
    for k, (version, games) in enumerate(elo.groupby("version", sort=True)):
        figure.add_trace(go.Scatter(
            x=games[x], y=games["elo"], mode="lines+markers" if len(games) <= 200 else "lines",
            name=f"v{version} Elo", line={"color": colour(k), "width": 2},
            marker={"size": 4}, hovertemplate="Elo %{y:.0f}<extra>v" + str(version) + "</extra>"))
        first = games[x].iloc[0]
        figure.add_vline(x=first.timestamp() * 1000 if x == "at" else first,
                         line={"color": colour(k), "dash": "dot", "width": 1},
                         annotation_text=f"v{version}", annotation_position="top left")
        if x == "at" and not bt.empty:
            _bt_band(figure, bt[bt["version"] == version], k, version)
    return _layout(figure, xaxis_title="time" if x == "at" else "game",
                   yaxis_title="rating")


def _bt_band(figure: go.Figure, bt: pd.DataFrame, k: int, version: int) -> None:
    """A version's Bradley-Terry estimate as a line inside its 95% interval band."""
    if bt.empty:
        return
    band = _with_alpha(colour(k), INTERVAL_FILL)
    figure.add_trace(go.Scatter(x=bt["at"], y=bt["high"], mode="lines", line={"width": 0},
                                showlegend=False, hoverinfo="skip"))
    figure.add_trace(go.Scatter(x=bt["at"], y=bt["low"], mode="lines", line={"width": 0},
                                fill="tonexty", fillcolor=band, name=f"v{version} BT 95%",
                                hoverinfo="skip"))
    figure.add_trace(go.Scatter(
        x=bt["at"], y=bt["rating"], mode="lines", name=f"v{version} Bradley-Terry",
        line={"color": colour(k), "dash": "dash", "width": 1.5},
        customdata=bt[["low", "high"]].to_numpy(),
        hovertemplate="BT %{y:.0f} [%{customdata[0]:.0f}, %{customdata[1]:.0f}]<extra></extra>"))


# -------------------------------------------------------------------------------- leaderboard


def bt_frame_of_rows(rows: Sequence[LeaderboardRow]) -> pd.DataFrame:
    """Rated rows as name, rating, low, high (in the given order)."""
    rated = [r for r in rows if r.bt_rating is not None]
    return pd.DataFrame({"name": [f"{r.name} v{r.version}" for r in rated],
                         "rating": [r.bt_rating for r in rated],
                         "low": [r.bt_low for r in rated], "high": [r.bt_high for r in rated]})


def bt_intervals_figure(frame: pd.DataFrame) -> go.Figure:
    """Bradley-Terry estimates with their 95% intervals (dot and whisker), best on top."""
    if frame.empty:
        return empty_figure("No Bradley-Terry estimates yet: they follow the first games")
    ordered = frame.sort_values("rating", ascending=True)
    figure = go.Figure(go.Scatter(
        x=ordered["rating"], y=ordered["name"], mode="markers",
        marker={"color": PALETTE[0], "size": 8},
        error_x={"type": "data", "symmetric": False,
                 "array": ordered["high"] - ordered["rating"],
                 "arrayminus": ordered["rating"] - ordered["low"],
                 "color": PALETTE[0], "thickness": 1.5},
        customdata=ordered[["low", "high"]].to_numpy(),
        hovertemplate="%{y}: %{x:.0f} [%{customdata[0]:.0f}, %{customdata[1]:.0f}]"
                      "<extra></extra>", showlegend=False))
    return _layout(figure, xaxis_title="Bradley-Terry rating (95% interval)",
                   height=max(260, 22 * len(ordered) + 90))


def head_to_head_frames(h2h: HeadToHead) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Win rate (None where they never met) and games played, rows against columns."""
    labels = [f"{a.name} v{a.version}" for a in h2h.agents]
    games = pd.DataFrame(h2h.games, index=labels, columns=labels)
    rates = pd.DataFrame([[score / n if n else None for score, n in zip(s_row, g_row,
                                                                       strict=True)]
                          for s_row, g_row in zip(h2h.score, h2h.games, strict=True)],
                         index=labels, columns=labels)
    return rates, games


def win_rate_heatmap(rates: pd.DataFrame) -> go.Figure:
    """Pairwise win rate of the row agent against the column agent (draws count half)."""
    if rates.empty:
        return empty_figure("No games between the leaders yet")
    figure = go.Figure(go.Heatmap(
        z=rates.to_numpy(dtype=float), x=list(rates.columns), y=list(rates.index),
        zmin=0, zmax=1, colorscale=[list(p) for p in SEQUENTIAL], xgap=1, ygap=1,
        colorbar={"title": "win rate"},
        hovertemplate="%{y} vs %{x}: %{z:.0%}<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, height=max(320, 26 * len(rates) + 120))


def games_heatmap(games: pd.DataFrame) -> go.Figure:
    """Games played between each pair of leaders."""
    if games.empty:
        return empty_figure("No games between the leaders yet")
    figure = go.Figure(go.Heatmap(
        z=games.to_numpy(dtype=float), x=list(games.columns), y=list(games.index),
        colorscale=[[0, "#F7F7F7"], [1, PALETTE[0]]], xgap=1, ygap=1,
        colorbar={"title": "games"}, hovertemplate="%{y} vs %{x}: %{z} games<extra></extra>"))
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, height=max(320, 26 * len(games) + 120))


# ------------------------------------------------------------------------------- solo replays


def episode_frame(initial: Sequence[float], states: Sequence[Sequence[float]],
                  rewards: Sequence[float], names: Sequence[str]) -> pd.DataFrame:
    """One row per step of an episode: step, return so far, and each observation value."""
    columns = {name: [initial[i], *[s[i] for s in states]] for i, name in enumerate(names)}
    returns = [0.0]
    for reward in rewards:
        returns.append(returns[-1] + reward)
    return pd.DataFrame({"step": range(len(states) + 1), "return": returns, **columns})


def episode_figure(frame: pd.DataFrame, step: int | None = None) -> go.Figure:
    """The return so far and the observation values over an episode; ``step`` marked."""
    if frame.empty:
        return empty_figure("This episode has no steps")
    figure = go.Figure()
    figure.add_trace(go.Scatter(x=frame["step"], y=frame["return"], name="return so far",
                                line={"color": "#555555", "width": 2.5}, yaxis="y2"))
    for k, name in enumerate(c for c in frame.columns if c not in ("step", "return")):
        figure.add_trace(go.Scatter(x=frame["step"], y=frame[name], name=name,
                                    line={"color": colour(k), "width": 1.5}))
    if step is not None:
        figure.add_vline(x=step, line={"color": GRID.replace("0.25", "0.9"), "width": 1})
    return _layout(figure, xaxis_title="step", yaxis_title="observation",
                   yaxis2={"title": "return", "overlaying": "y", "side": "right",
                           "showgrid": False})
