"""What several benchmark scripts share: running an Ansible command against a simulator."""

import os
import subprocess

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def ansible(sim, work, *argv):
    """Run argv (ansible-playbook, ansible-inventory, ...) in the checkout with only the simulator's
    PROXMOX_* connection and the repository's ansible.cfg; its output, or exit with its tail on failure."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith('PROXMOX_'))
    env.update(sim.env, ANSIBLE_CONFIG=os.path.join(ROOT, 'ansible.cfg'), ANSIBLE_HOME=os.path.join(work, 'home'))
    proc = subprocess.run(list(argv), cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          universal_newlines=True, timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:])
    return proc.stdout
