"""pytest fixtures: sim (default scenario), sim_tiny, sim_factory. time_factor 0 unless asked.

Enable with `pytest_plugins = ['deploystand_sim.pytest_fixtures']` or `-p deploystand_sim.pytest_fixtures`.
"""

import pytest

from .testing import Simulator


@pytest.fixture
def sim():
    """The default three-node scenario, started for one test."""
    with Simulator('default') as running:
        yield running


@pytest.fixture
def sim_tiny():
    """The one-node scenario, started for one test."""
    with Simulator('tiny') as running:
        yield running


@pytest.fixture
def sim_factory():
    """sim_factory(scenario='default', time_factor=0.0, **overrides) -> a started Simulator, stopped at teardown."""
    started = []

    def make(scenario='default', time_factor=0.0, **overrides):
        running = Simulator(scenario, time_factor=time_factor, **overrides).start()
        started.append(running)
        return running
    yield make
    for running in reversed(started):
        running.stop()
