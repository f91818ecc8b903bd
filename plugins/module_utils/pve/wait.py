# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared waiter of deploystand.proxmox: a write whose effect can be read back.

Every write the ops/ layer sends is either a task (``PveClient.wait_task`` / ``run_task`` wait for it)
or a write checked with ``converge``: after a broken connection (``kind == 'connection'``) it reads
the cluster back and sends again only if the write did not happen.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import CONNECTION, PveApiError

__metaclass__ = type

ROUNDS = 3                       # how often a write is re-decided after a broken connection


def converge(write, done, rounds=ROUNDS):
    """Send a write whose effect can be read back, without ever resending it blindly.

    A broken connection (`kind == 'connection'`) leaves it open whether the write happened: read
    back with done() and send again only if it did not, at most `rounds` times in all. After such
    a break, an error on the resend (e.g. `exists`) is also checked with done() first, because it
    may only say that the first attempt did arrive."""
    broken = None
    for _attempt in range(rounds):
        try:
            write()
            return
        except PveApiError as err:
            if err.kind != CONNECTION:
                if broken is not None and done():
                    return
                raise
            broken = err
        if done():
            return
    raise broken
