# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A bound on simultaneous clone submissions per storage, shared by every process on the controller.

PVE clones every disk under a storage lock with a 10 s acquire timeout (pve-storage
`Plugin::cluster_lock_storage`): forty students' clones started at once onto one storage time out in that lock. Ansible runs the
students' hosts in parallel forks, which are separate processes, so the bound lives in lock
files: `slots` files per (API address, storage) under one directory, each held with an exclusive
`fcntl.flock` for as long as one clone runs. A process that dies releases its slot with its file
descriptors, so a crashed fork never leaks one.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import errno
import hashlib
import os
import random
import re
import tempfile
import time

try:
    import fcntl
    HAS_FCNTL = True
except ImportError:  # not POSIX: no bound (documented)
    HAS_FCNTL = False

ENV_DIR = 'DEPLOYSTAND_CLONE_SLOTS_DIR'


class CloneSlotTimeout(Exception):
    """No slot became free in time."""


def slots_dir(directory=None):
    """Where the lock files live: $DEPLOYSTAND_CLONE_SLOTS_DIR, else <tmp>/deploystand-clone-slots-<uid>."""
    if directory:
        return directory
    if os.environ.get(ENV_DIR):
        return os.environ[ENV_DIR]
    uid = os.getuid() if hasattr(os, 'getuid') else 0
    return os.path.join(tempfile.gettempdir(), 'deploystand-clone-slots-{0}'.format(uid))


def slot_storages(storages, node, shared):
    """The names clone slots are counted under, as PVE locks them (pve-storage `cluster_lock_storage`): a shared
    storage by its id (one pmxcfs lock `storage-<id>` for the whole cluster), a local storage per
    node, `<id>@<node>` (a node-local flock), so the nodes of a cluster clone side by side.
    `shared` maps storage id -> bool; a storage missing from it counts as shared (the safe side)."""
    return [s if shared.get(s, True) else '{0}@{1}'.format(s, node) for s in storages]


def slot_scope(host, port):
    """What the slots are counted per: the API address, host (case-insensitive) and port, so two
    clusters reached at one host (two tunnels or port forwards) do not share slots. The cluster name is
    not asked for: GET /cluster/status needs Sys.Audit on `/`, which the least-privilege automation
    token does not hold (docs/decisions.md)."""
    return '{0}:{1}'.format(str(host).lower(), int(port))


def _safe(text):
    return re.sub(r'[^A-Za-z0-9_.-]', '_', str(text))[:60]


class CloneSlots(object):
    """Context manager holding one slot on each of `storages` (taken in sorted order, so two
    processes wanting the same storages never deadlock).

        with CloneSlots(slot_scope('pve.example.org', 8006), ['local-lvm'], slots=4, timeout=600):
            ...submit the clone and wait for its task...

    slots <= 0 or no fcntl: no bound at all.
    """

    def __init__(self, scope, storages, slots=4, timeout=600, directory=None, poll=0.2,
                 sleep=time.sleep, clock=time.monotonic):
        self.scope = scope            # slot_scope(host, port): one set of slots per API address
        self.storages = sorted(set(s for s in storages if s))
        self.slots = int(slots or 0)
        self.timeout = timeout
        self.directory = slots_dir(directory)
        self.poll = poll
        self._sleep = sleep
        self._clock = clock
        self._held = []      # (storage, slot index, fd)
        self.waited = 0.0

    def _path(self, storage, index):
        host = hashlib.sha1(str(self.scope).encode('utf-8')).hexdigest()[:12]
        return os.path.join(self.directory, '{0}-{1}.{2}.lock'.format(host, _safe(storage), index))

    def _try(self, storage):
        """Take any free slot of `storage`; returns True when one was taken."""
        order = list(range(self.slots))
        random.shuffle(order)  # spread waiters over the files
        for index in order:
            fd = os.open(self._path(storage, index), os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except (IOError, OSError) as exc:
                os.close(fd)
                if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EWOULDBLOCK):
                    continue
                raise
            self._held.append((storage, index, fd))
            return True
        return False

    def acquire(self):
        if self.slots <= 0 or not HAS_FCNTL or not self.storages:
            return self
        if not os.path.isdir(self.directory):
            try:
                os.makedirs(self.directory, 0o700)
            except OSError as exc:
                if exc.errno != errno.EEXIST:
                    raise
        started = self._clock()
        try:
            for storage in self.storages:
                while not self._try(storage):
                    waited = self._clock() - started
                    if waited >= self.timeout:
                        raise CloneSlotTimeout(
                            'no clone slot on storage {0} became free within {1:.0f} s: {2} clones onto it are '
                            'already running from this controller (clone_slots); raise clone_slots or '
                            'timeout'.format(storage, waited, self.slots))
                    self._sleep(self.poll * (0.5 + random.random()))
        except BaseException:
            self.release()          # __exit__ does not run when __enter__ raises
            raise
        self.waited = self._clock() - started
        return self

    def release(self):
        while self._held:
            _storage, _index, fd = self._held.pop()
            try:
                fcntl.flock(fd, fcntl.LOCK_UN)
            finally:
                os.close(fd)

    @property
    def held(self):
        return [(storage, index) for storage, index, _fd in self._held]

    def __enter__(self):
        return self.acquire()

    def __exit__(self, *exc):
        self.release()
        return False
