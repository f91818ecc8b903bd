"""deploystand_sim: a simulated Proxmox VE cluster for the deploystand.proxmox collection's tests,
demo and benchmarks. Built on fakepve (subclassed, not copied). See docs/simulator.md."""

from .scenario import ScenarioError, build, load
from .server import LabPve

__all__ = ['LabPve', 'ScenarioError', 'build', 'load']
