"""Administration: the admin actions, their audit log, and the switches of an environment."""
