"""Who calls the API: a personal token sent as ``Authorization: Bearer rla_...``.

A submit-scoped token submits and retires; an admin-scoped one (an admin's) also administers.
Routes hand the services the caller as the token allows: the account without its admin rights
for a submit-scoped token (an admin's too), and None without a token on admin routes, so the
services themselves refuse (and audit) what the token may not do.

Refused tokens are counted per client address (RL_ARENA_RATE_LIMIT_BAD_TOKEN): past the limit,
a token from that address gets 429 before it is even looked up, right or wrong, so guessing
learns nothing more until the window ends.
"""

from __future__ import annotations

import dataclasses
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from rl_arena_app.api.client_address import client_address
from rl_arena_app.services import rate_limits
from rl_arena_app.services.accounts import tokens
from rl_arena_app.services.read_models import Account

ADMIN_SCOPE = "admin"

bearer = HTTPBearer(auto_error=False, scheme_name="token",
                    description="A personal API token (`rla_...`), created on /me or with "
                                "`rl-arena token create EMAIL`")


def _credential(request: Request,
                sent: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
                ) -> tuple[Account, str] | None:
    """The account and scope of the request's token; None without one; 401 for a bad one
    (429 once the address has sent too many bad ones).

    A valid token always passes: many people share an address (a campus, a proxy), and one of
    them guessing must not lock the others out; guessing itself cannot pay (256-bit tokens)."""
    if sent is None:
        return None
    found = tokens.token_account(sent.credentials)
    if found is None:
        rate_limits.hit(rate_limits.BAD_TOKEN,
                        rate_limits.address_key(client_address(request.scope)))
        raise HTTPException(401, "the API token is not valid (mistyped, revoked, or its admin "
                                 "rights are gone): create a new one on /me",
                            headers={"WWW-Authenticate": 'Bearer error="invalid_token"'})
    return found


Credential = Annotated[tuple[Account, str] | None, Depends(_credential)]


def _as_scoped(account: Account, scope: str) -> Account:
    """The account with the powers its token carries: admin rights need an admin scope."""
    return account if scope == ADMIN_SCOPE else dataclasses.replace(account, is_admin=False)


def _holder(credential: Credential) -> tuple[Account, str]:
    """The token's account and scope; 401 when the request has no token."""
    if credential is None:
        raise HTTPException(401, "send your API token as 'Authorization: Bearer rla_...' "
                                 "(create one on /me, or ask an operator for "
                                 "`rl-arena token create EMAIL`)")
    return credential


def _submitter(holder: Annotated[tuple[Account, str], Depends(_holder)]) -> Account:
    """The token's account as its scope allows; 401 when the request has no token."""
    return _as_scoped(*holder)


def _admin_actor(credential: Credential) -> Account | None:
    """The caller as the admin services should judge it (they refuse; an account's refusal is
    audited)."""
    return None if credential is None else _as_scoped(*credential)


TokenHolder = Annotated[tuple[Account, str], Depends(_holder)]
Submitter = Annotated[Account, Depends(_submitter)]
AdminActor = Annotated[Account | None, Depends(_admin_actor)]
