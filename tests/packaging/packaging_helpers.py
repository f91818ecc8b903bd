"""Shared by the packaging tests: paths, a clean environment, a free port, the collection tarball."""
import glob
import os
import socket
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def clean_env(home, **extra):
    """The caller's environment without any PROXMOX_* or ANSIBLE_* setting, with its own ANSIBLE_HOME."""
    env = dict((k, v) for k, v in os.environ.items() if not k.startswith(('PROXMOX_', 'ANSIBLE_', 'MOLECULE_')))
    env.update({'PATH': BIN + os.pathsep + env.get('PATH', ''), 'ANSIBLE_HOME': str(home),
                'ANSIBLE_NOCOLOR': '1', 'ANSIBLE_FORCE_COLOR': '0', 'NO_COLOR': '1', 'PY_COLORS': '0',
                'VIRTUAL_ENV': os.path.dirname(BIN)})
    env.update(extra)
    return env


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def build_collection(out_dir):
    """ansible-galaxy collection build of the checkout; returns the tarball's path."""
    subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'build', '--force', '--output-path',
                    str(out_dir), ROOT], check=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                   universal_newlines=True, cwd=str(out_dir))
    found = glob.glob(os.path.join(str(out_dir), 'deploystand-proxmox-*.tar.gz'))
    assert len(found) == 1, found
    return found[0]


def install_collection(tarball, collections_path, env):
    """ansible-galaxy collection install of a tarball into collections_path (offline: no dependencies)."""
    proc = subprocess.run([os.path.join(BIN, 'ansible-galaxy'), 'collection', 'install', '--offline', '--force',
                           '-p', str(collections_path), tarball], env=env, cwd=os.path.dirname(tarball),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    assert proc.returncode == 0, proc.stdout
