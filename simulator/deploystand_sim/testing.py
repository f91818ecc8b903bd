"""Simulator: a LabPve served over HTTPS on its own event loop in a daemon thread.

    with Simulator('default') as sim:
        api = ProxmoxAPI(sim.host, port=sim.port, user='root@pam', password=sim.password,
                         verify_ssl=sim.cafile)
"""

import asyncio
import inspect
import os
import shutil
import tempfile
import threading

from fakepve.certs import make_cert
from fakepve.server import settle

from . import scenario as scenarios

START_TIMEOUT = 30


class Simulator(object):
    """A simulated cluster for one test, demo or benchmark; see docs/simulator.md."""

    def __init__(self, scenario='default', time_factor=0.0, host='127.0.0.1', port=0, certdir=None,
                 **overrides):
        # overrides: password, durations (dict), faults (dict), seed
        self.pve = scenarios.build(scenario, time_factor=time_factor, host=host, port=port, **overrides)
        self._certdir = certdir
        self._owns_certdir = certdir is None
        self.cafile = None
        self._loop = None
        self._thread = None

    # ------------------------------------------------------------ lifecycle

    def start(self):
        if self._loop is not None:
            return self
        if self._certdir is None:
            self._certdir = tempfile.mkdtemp(prefix='deploystand-sim-')
        os.makedirs(self._certdir, exist_ok=True)
        certfile, keyfile, _ = make_cert(self._certdir, name='ca', hosts=(self.pve.host,))
        self.cafile = certfile
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run, name='deploystand-sim', daemon=True)
        self._thread.start()
        try:
            self._submit(self.pve.start(certfile, keyfile))
        except BaseException:
            self._halt()
            raise
        return self

    def _run(self):
        asyncio.set_event_loop(self._loop)
        self._loop.run_forever()

    def _submit(self, coro, timeout=START_TIMEOUT):
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def _halt(self):
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(START_TIMEOUT)
        if not self._thread.is_alive():
            self._loop.close()
        self._loop = None

    def stop(self):
        if self._loop is None:
            return
        try:
            self._submit(settle())
            self._submit(self.pve.stop())
        finally:
            self._halt()
            if self._owns_certdir and self._certdir:
                shutil.rmtree(self._certdir, ignore_errors=True)
                self._certdir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    # ------------------------------------------------------------ addresses

    @property
    def host(self):
        return self.pve.host

    @property
    def port(self):
        return self.pve.port

    @property
    def url(self):
        return self.pve.url

    @property
    def password(self):
        return self.pve.password

    @property
    def env(self):
        """The community.proxmox / deploystand environment variables for root@pam."""
        return {'PROXMOX_HOST': self.host, 'PROXMOX_PORT': str(self.port), 'PROXMOX_USER': 'root@pam',
                'PROXMOX_PASSWORD': self.password, 'PROXMOX_CA_PATH': self.cafile or '',
                'PROXMOX_VALIDATE_CERTS': 'true'}

    # ---------------------------------------------------------------- state

    def call(self, fn, *args):
        """Run fn(pve, *args) on the server's loop (a coroutine function is awaited); returns its result."""
        async def run():
            result = fn(self.pve, *args)
            if inspect.isawaitable(result):
                result = await result
            return result
        if self._loop is None:
            raise RuntimeError('simulator is not running')
        return self._submit(run(), timeout=None)

    def state(self):
        return self.call(lambda pve: pve.state())

    def set_faults(self, **faults):
        return self.call(lambda pve: pve.set_faults(**faults))

    def set_durations(self, **durations):
        return self.call(lambda pve: pve.set_durations(**durations))

    def add_user(self, userid, password=None, **fields):
        self.call(lambda pve: pve.add_user(userid, password, **fields))

    def add_token(self, userid, tokenid, privsep=True, expire=0):
        return self.call(lambda pve: pve.add_token(userid, tokenid, privsep=privsep, expire=expire))

    def set_acl(self, path, roles, users=(), tokens=(), propagate=True):
        def apply(pve):
            for role in roles.split(',') if isinstance(roles, str) else roles:
                for u in users:
                    pve.set_acl(path, role, u, 'user', propagate)
                for t in tokens:
                    pve.set_acl(path, role, t, 'token', propagate)
        self.call(apply)

    def set_guest(self, vmid, **traits):
        """What runs inside a VM's guest: agent, hangs, addresses, acpi, shutdown_secs (see GuestAgent.set_guest)."""
        return self.call(lambda pve: pve.set_guest(vmid, **traits))

    def counters(self):
        return self.call(lambda pve: pve.counters())

    def reset_counters(self):
        self.call(lambda pve: pve.reset_counters())
