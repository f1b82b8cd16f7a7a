"""Ratings: Elo and Bradley-Terry refreshes, and the leaderboards they make."""
