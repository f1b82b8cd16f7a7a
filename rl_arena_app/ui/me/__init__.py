"""The parts of `/me`: the account they share, the upload form, the API tokens, the agents."""
