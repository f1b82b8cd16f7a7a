"""Identity on the web: the `/auth/*` login routes (Authlib), mounted beside the API.

Accounts, sessions and API tokens themselves are services (`services.accounts`, `sessions`,
`tokens`), which every front end calls; this package is the browser's way in.
"""
