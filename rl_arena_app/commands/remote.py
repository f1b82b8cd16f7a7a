"""The REST API as the CLI's remote commands use it: a token, JSON, one-line errors.

A refusal (4xx) becomes BadInput with the server's reason, and a server that fails or cannot be
reached becomes InfrastructureError, so `handles_errors` prints one line and exits 2 or 3.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import IO, Any

import httpx

from rl_arena_app.errors import BadInput, InfrastructureError

API = "/api/v1"
TIMEOUT_S = 30.0
UPLOAD_TIMEOUT_S = 600.0


class Arena:
    """An arena's API at ``url``, called with ``token``."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.client = httpx.Client(base_url=self.url + API, timeout=TIMEOUT_S,
                                   headers={"Authorization": f"Bearer {token}"})

    def __enter__(self) -> Arena:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.client.close()

    def get(self, path: str) -> Any:
        """GET a JSON document."""
        return self._call("GET", path)

    def upload(self, path: str, fields: dict[str, str], filename: str, stream: IO[bytes]) -> Any:
        """POST a multipart form with one file (read from ``stream`` as it is sent)."""
        return self._call("POST", path, data=fields, files={"file": (filename, stream)},
                          timeout=UPLOAD_TIMEOUT_S)

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self.client.request(method, path, **kwargs)
        except httpx.ConnectError:
            raise InfrastructureError(f"cannot connect to {self.url}: is the arena running at "
                                      f"{self.url}? (give its address with --url)") from None
        except httpx.TimeoutException:
            raise InfrastructureError(f"{self.url} did not answer in time: try again") from None
        except httpx.HTTPError as exc:
            raise InfrastructureError(f"talking to {self.url} failed: {exc}") from None
        if response.is_success:
            try:
                return response.json()
            except ValueError:
                raise InfrastructureError(f"{response.url} did not answer with the API's JSON: is "
                                          "--url the arena's address?") from None
        reason = _reason(response)
        if response.status_code >= 500:
            raise InfrastructureError(f"the arena failed ({response.status_code}): {reason}")
        raise BadInput(reason)


def _reason(response: httpx.Response) -> str:
    """The reason of an error response (the API's JSON, or a word on what came back)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and isinstance(body.get("reason"), str):
        return body["reason"]
    return (f"{response.status_code} {response.reason_phrase} from {response.url}: is --url "
            "the arena's address?")


class ProgressReader(io.BytesIO):
    """Bytes to upload that report how much of them has been read (the upload's progress)."""

    def __init__(self, data: bytes, advance: Callable[[int], None]) -> None:
        super().__init__(data)
        self.advance = advance

    def read(self, size: int | None = -1) -> bytes:
        """The next ``size`` bytes, counted."""
        chunk = super().read(size)
        self.advance(len(chunk))
        return chunk
