"""Kaggle twin of memory_hog, arity 1: a 1 GB table of ones (the repeat writes every page)."""

GIGABYTE = 1 << 30


def agent(obs):
    hog = b"\x01" * GIGABYTE
    return hog[obs.step]
