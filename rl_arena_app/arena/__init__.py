"""Game side of the arena: environments, referee, replays, agent protocol, baseline agents."""
