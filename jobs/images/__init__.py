"""Docker images: the agent base image and per-agent images cached by content hash."""
