"""Fixtures of the simulator tests."""
import pytest

from sim_helpers import client


@pytest.fixture
def root(sim):
    return client(sim)
