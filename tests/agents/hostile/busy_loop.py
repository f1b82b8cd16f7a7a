"""Attacks the move clock: act() spins forever and never answers."""


def act(observation, info):
    while True:
        pass
