"""The leaderboard route: the busiest read, paged and sorted on the server, without emails.

A page's JSON is kept in the API's process under the env's data version (which every event of
the env moves) and the query, so the many readers of a busy board share one rendering; its ETag
(the same key) lets a client that has the page get a 304 instead. The data version itself is
asked of Redis at most every VERSION_TTL_S per env: a change shows that much later at worst.
A page found in memory is answered on the event loop, without a thread or a Redis round trip.
"""

from __future__ import annotations

import hashlib
from typing import Annotated, Literal

from async_lru import alru_cache
from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import Response
from pydantic import TypeAdapter
from starlette.concurrency import run_in_threadpool

from rl_arena_app.api import PREFIX
from rl_arena_app.api.errors import ApiRoute, error_responses
from rl_arena_app.api.models import PRIVATE_FIELDS, PublicLeaderboardPage
from rl_arena_app.api.params import EnvId, Offset, known_env
from rl_arena_app.services import events
from rl_arena_app.services.ratings import leaderboard
from rl_arena_app.services.read_models import LeaderboardPage

router = APIRouter(prefix=PREFIX, route_class=ApiRoute, tags=["read"],
                   responses=error_responses(400, 404, 422, 503))
Sort = Literal[leaderboard.SORTS]  # type: ignore[valid-type]
_PAGE = TypeAdapter(LeaderboardPage)
_PUBLIC = {"rows": {"__all__": set(PRIVATE_FIELDS)}}
CACHED_PAGES = 256  # pages of 25 kB (50 rows) to 100 kB (200 rows): 25 MB at most
VERSION_TTL_S = 0.25
PageQuery = tuple[str, str, bool, str, int, int]  # env, sort, descending, search, offset, limit


class PageCache:
    """Rendered pages by (data version, query), and each env's data version for a moment.

    Concurrent askers of one missing entry share its one rendering (or Redis round trip);
    renderings run in the thread pool. Errors are not kept.
    """

    def __init__(self, pages: int = CACHED_PAGES, version_ttl_s: float = VERSION_TTL_S) -> None:
        self.version = alru_cache(maxsize=64, ttl=version_ttl_s)(self._version)
        self.page = alru_cache(maxsize=pages)(self._page)

    @staticmethod
    async def _version(env_id: str) -> str | None:
        """The env's data version (None when Redis cannot say)."""
        return await run_in_threadpool(events.data_version, env_id)

    @staticmethod
    async def _page(version: str, query: PageQuery) -> bytes:
        """The page's JSON under a data version."""
        return await run_in_threadpool(render_page, *query)


def render_page(env_id: str, sort: str, descending: bool, search: str, offset: int,
                limit: int) -> bytes:
    """A leaderboard page as public JSON."""
    page = leaderboard.leaderboard_page(env_id, sort=sort, descending=descending, search=search,
                                        offset=offset, limit=limit)
    return _PAGE.dump_json(page, exclude=_PUBLIC)


@router.get("/envs/{env_id}/leaderboard", response_model=PublicLeaderboardPage,
            responses={304: {"description": "Not modified since the page with this ETag"}},
            summary="A page of the environment's leaderboard, sorted and searched")
async def get_leaderboard(
    request: Request,
    env_id: EnvId,
    sort: Annotated[Sort, Query(description="rank (by score) or a column")] = "rank",
    descending: bool = False,
    search: Annotated[str, Query(max_length=leaderboard.MAX_SEARCH,
                                 description="Part of an agent's or owner's name")] = "",
    offset: Offset = 0,
    limit: Annotated[int, Query(ge=1, le=leaderboard.MAX_LIMIT)] = 50,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    query = (known_env(env_id), sort, descending, search, offset, limit)
    cache: PageCache = request.app.state.leaderboard_pages
    version = await cache.version(env_id)
    if version is None:  # Redis cannot say what changed: render the truth, keep no page
        return Response(await run_in_threadpool(render_page, *query),
                        media_type="application/json")
    etag = f'"{version}-{hashlib.blake2b(repr(query).encode(), digest_size=8).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    if if_none_match is not None and _matches(if_none_match, etag):
        return Response(status_code=304, headers=headers)
    return Response(await cache.page(version, query), media_type="application/json",
                    headers=headers)


def _matches(if_none_match: str, etag: str) -> bool:
    """Whether an If-None-Match header names this ETag (or any)."""
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in tags or "*" in tags
