"""The REST API (/api/v1), mounted into the dashboard's server through Reflex's api_transformer."""

PREFIX = "/api/v1"
