"""Sandboxes that run one untrusted agent each: docker (real isolation), process, inprocess."""
