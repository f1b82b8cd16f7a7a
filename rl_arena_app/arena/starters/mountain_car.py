"""Starter agent for MountainCar-v0: rock back and forth, always accelerating the way you move.

Save as agent.py and try it locally:
    rl-arena play MountainCar-v0 agent.py --sandbox process

The observation is a numpy float32 array of 2 numbers:
    observation[0]  position along the valley (-1.2 .. 0.6; the valley bottom is near -0.52,
                    the flag on the right hill at 0.5)
    observation[1]  velocity (-0.07 .. 0.07, > 0 moving right)
The action is 0 (accelerate left), 1 (coast) or 2 (accelerate right). The engine is too weak to
climb straight up: build momentum by swinging. Each step costs -1, at most 200 steps.
"""


def act(observation, info):
    """Push in the direction of motion, so every swing climbs a little higher than the last."""
    velocity = float(observation[1])
    return 2 if velocity >= 0 else 0
