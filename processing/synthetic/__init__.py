"""Signal models with known ground truth, NumPy only.

The edge device simulators import these to produce realistic raw recordings, and the tests use
them as an oracle for the analyses. They must never import Numba (the station box stays light).
"""
