"""Accounts: users, logins, browser sessions and API tokens."""
