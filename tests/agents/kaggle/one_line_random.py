import random


def my_agent(obs, conf): return random.choice([c for c in range(conf.columns) if obs.board[c] == 0])
