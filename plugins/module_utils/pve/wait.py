# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The shared waiters of deploystand.proxmox: a write whose effect can be read back, a state to wait for.

Every write the ops/ layer sends is either a task (``PveClient.wait_task`` / ``run_task`` wait for it)
or a write checked with ``converge``: after a broken connection (``kind == 'connection'``) it reads
the cluster back and sends again only if the write did not happen. A state that comes about on its
own (a lock that goes, a VM that stops or vanishes) is waited for with ``poll_until``.
"""
from __future__ import absolute_import, division, print_function

import time

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    CONNECTION, WAIT_TIMEOUT, PveApiError,
)

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


class PollTimeout(PveApiError):
    """poll_until's deadline passed: `waited` seconds, `last` the last value read (None if that read failed)."""

    def __init__(self, what, timeout, waited, last):
        super(PollTimeout, self).__init__('still waiting for {0} after {1:.0f} s (timeout {2} s)'.format(
            what, waited, timeout), kind=WAIT_TIMEOUT)
        self.timeout = timeout
        self.waited = waited
        self.last = last


def poll_until(read, done, timeout, sleep, clock=time.monotonic, interval=1.0, max_interval=None, growth=1.0,
               retry_kinds=(), what='the expected state'):
    """Call read() until done(value) holds and return that value; raise PollTimeout once `timeout`
    seconds have passed on `clock` without it.

    The first read is always made, so a timeout of 0 is one look. Between reads it sleeps `interval`
    seconds (times `growth` after each read, at most `max_interval`), never past the deadline, through
    `sleep`: pass the client's, so that the module's sleep (which stops once ansible-playbook is gone)
    applies. A read failing with a PveApiError of a kind in `retry_kinds` counts as not done yet."""
    started = clock()
    last = None
    while True:
        try:
            last = read()
            if done(last):
                return last
        except PveApiError as err:
            if err.kind not in retry_kinds:
                raise
            last = None
        waited = clock() - started
        if waited >= timeout:
            raise PollTimeout(what, timeout, waited, last)
        sleep(min(interval, max(0.0, timeout - waited)))
        interval = interval * growth if max_interval is None else min(interval * growth, max_interval)
