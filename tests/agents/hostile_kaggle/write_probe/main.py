"""Kaggle twin of write_probe, a main.py archive: its helper module probes at import."""

import random

import write_probe  # noqa: F401 -- tries writes outside /tmp and past its cap when imported


def my_agent(observation, configuration):
    return random.choice([c for c, mark in enumerate(observation["board"]) if not mark])
