"""A Kaggle-style agent for a solo task: the observation is the env's as a plain list."""


def agent(observation, configuration):
    assert isinstance(observation, list) and configuration.actions == 2
    _, _, angle, angular_velocity = observation
    return 1 if angle + 0.5 * angular_velocity > 0 else 0
