"""What the test modules share: factories of rows, people and agents, and helpers (one home)."""
