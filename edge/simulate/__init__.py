"""Device simulators: a seeded cohort whose readings are published as station devices would."""

from edge.simulate.cohort import KINDS, Cohort, DeviceMessage, Participant, Truth

__all__ = ["KINDS", "Cohort", "DeviceMessage", "Participant", "Truth"]
