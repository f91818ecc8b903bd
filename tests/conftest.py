"""Puts the checkout on the import path as the collection deploystand.proxmox and the simulator
package beside it, so tests import exactly what ansible-playbook runs."""
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
COLLECTIONS = os.path.join(ROOT, 'collections')
LINK = os.path.join(COLLECTIONS, 'ansible_collections', 'deploystand', 'proxmox')

if not os.path.islink(LINK):
    os.makedirs(os.path.dirname(LINK), exist_ok=True)
    os.symlink(ROOT, LINK)
for path in (COLLECTIONS, os.path.join(ROOT, 'simulator')):
    if path not in sys.path:
        sys.path.insert(0, path)

pytest_plugins = ['deploystand_sim.pytest_fixtures']
