"""Kaggle twin of network_probe, a main.py archive: its helper module probes at import."""

import random

import network_probe  # noqa: F401 -- probes TCP, UDP and DNS when imported


def my_agent(observation, configuration):
    return random.choice([c for c, mark in enumerate(observation.board) if mark == 0])
