"""Kaggle twin of privilege, a main.py archive: its helper module probes at import."""

import random

import privilege  # noqa: F401 -- tries setuid, mounts, cgroups, docker.sock when imported


def agent(observation):
    return random.choice([c for c, mark in enumerate(observation.board) if mark == 0])
