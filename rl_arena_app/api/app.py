"""The API's FastAPI application: thin routes over the services' read models."""

from __future__ import annotations

from fastapi import FastAPI, HTTPException
from fastapi.responses import FileResponse

from rl_arena_app.services.errors import BadInput, NotFound
from rl_arena_app.services.match_views import match_replay_file

PREFIX = "/api/v1"


def create_api() -> FastAPI:
    """A new API application (a factory: Reflex's test harness builds the app twice)."""
    api = FastAPI(title="RL Arena API", version="1", openapi_url=f"{PREFIX}/openapi.json",
                  docs_url=None, redoc_url=None)

    @api.get(f"{PREFIX}/matches/{{match_id}}/replay", response_class=FileResponse,
             summary="Download a match's replay (gzip JSON)")
    def match_replay_download(match_id: int) -> FileResponse:
        try:
            path, name = match_replay_file(match_id)
        except NotFound as exc:
            raise HTTPException(404, str(exc)) from None
        except BadInput as exc:
            raise HTTPException(400, str(exc)) from None
        if not path.is_file():
            raise HTTPException(404, f"the replay file of match {match_id} is missing")
        return FileResponse(path, media_type="application/gzip", filename=name)

    return api
