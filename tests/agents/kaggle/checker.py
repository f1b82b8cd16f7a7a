"""A Kaggle agent for connect_four and tictactoe that checks every observation it is given.

Dict access (`observation["board"]`), arity 2. It raises (a crash forfeit, failing the test) when
the board, the mark, the step or the configuration disagree with each other or with the game's
rules; it plays the first empty top cell (connect_four) or empty cell (tictactoe).
"""

LOADED_AS = __name__


def check(condition, what):
    if not condition:
        raise AssertionError(what)


def check_board(observation, configuration):
    board, mark = observation["board"], observation["mark"]
    cells = configuration["rows"] * configuration["columns"]
    check(isinstance(board, list) and len(board) == cells, f"board is not {cells} cells")
    check(all(type(cell) is int and cell in (0, 1, 2) for cell in board), f"cells: {board}")
    check(mark in (1, 2), f"mark {mark!r}")
    mine, theirs = board.count(mark), board.count(3 - mark)
    check(observation["step"] == mine + theirs, f"step {observation['step']} for {board}")
    # Mark 1 moved first: before each of its moves both have played as often; mark 2 is one behind.
    check(theirs - mine == (0 if mark == 1 else 1), f"mark {mark} with {mine} vs {theirs}")
    if configuration["rows"] == 6:  # connect_four: pieces rest on the bottom or on another piece
        width = configuration["columns"]
        for index, cell in enumerate(board[:-width]):
            check(cell == 0 or board[index + width] != 0, f"floating piece at {index}: {board}")


def check_configuration(observation, configuration):
    check(configuration["inarow"] == (4 if configuration["rows"] == 6 else 3), "inarow")
    check(configuration["actTimeout"] == configuration["timeout"] > 0, "actTimeout")
    check(0 <= observation["remainingOverageTime"] <= configuration["agentTimeout"], "overage")
    check(configuration["episodeSteps"] == configuration["rows"] * configuration["columns"],
          "episodeSteps")
    check(configuration["runTimeout"] >= configuration["agentTimeout"], "runTimeout")


def agent(observation, configuration):
    check(LOADED_AS != "__main__", "loaded as __main__")
    check_configuration(observation, configuration)
    check_board(observation, configuration)
    board = observation["board"]
    if configuration["rows"] == 6:
        return next(c for c in range(configuration["columns"]) if board[c] == 0)
    return board.index(0)
