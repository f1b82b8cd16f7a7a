"""Starter agent for Acrobot-v1: pump energy into the swing, like a child on a playground swing.

Save as agent.py and try it locally:
    rl-arena play Acrobot-v1 agent.py --sandbox process

The observation is a numpy float32 array of 6 numbers, from two joint angles: theta1 (shoulder,
0 = first link hanging straight down) and theta2 (elbow, relative to the first link, 0 = in line):
    observation[0], observation[1]  cos(theta1), sin(theta1)
    observation[2], observation[3]  cos(theta2), sin(theta2)
    observation[4]                  theta1 angular velocity (rad/s, within ±4π)
    observation[5]                  theta2 angular velocity (rad/s, within ±9π)
The action is the torque on the elbow: 0 = -1, 1 = 0, 2 = +1. Each step costs -1 until the tip
swings above the line (-cos(theta1) - cos(theta1 + theta2) > 1), at most 500 steps.
"""


def act(observation, info):
    """Torque against the shoulder's swing: the elbow's push-back drives the swing higher."""
    # The elbow motor turns the second link one way and pushes the first link the other way,
    # so torquing against the first link's motion adds energy to it on every swing.
    shoulder_velocity = float(observation[4])
    return 0 if shoulder_velocity > 0 else 2
