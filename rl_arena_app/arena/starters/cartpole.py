"""Starter agent for CartPole-v1: push the cart under the pole, the way it is falling.

Save as agent.py and try it locally:
    rl-arena play CartPole-v1 agent.py --sandbox process

The observation is a numpy float32 array of 4 numbers:
    observation[0]  cart position (m, 0 = centre; the episode ends beyond ±2.4)
    observation[1]  cart velocity (m/s)
    observation[2]  pole angle (rad, 0 = upright, > 0 leaning right; ends beyond ±0.2095)
    observation[3]  pole angular velocity (rad/s, > 0 falling to the right)
The action is 0 (push the cart left) or 1 (push it right). Every step the pole stays up earns
+1, up to 500 steps.
"""

import numpy as np

# How much each component counts towards "push right". The angle terms keep the pole up; the
# small position terms pull the cart back towards the centre before it drives off the track.
WEIGHTS = (0.1, 0.2, 1.0, 0.5)


def act(observation, info):
    """A fixed linear rule: no state, no randomness, so every episode replays identically."""
    push_right = float(np.dot(WEIGHTS, observation))
    return 1 if push_right > 0 else 0
