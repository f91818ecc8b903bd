"""Helpers for the simulator tests: proxmoxer clients over verified TLS."""
import time

from proxmoxer import ProxmoxAPI


def client(sim, user='root@pam', password=None, token=None, secret=None):
    """A proxmoxer client verifying the simulator's certificate (REQUESTS_CA_BUNDLE is ignored)."""
    if token:
        return ProxmoxAPI(sim.host, port=sim.port, user=user, token_name=token, token_value=secret,
                          verify_ssl=sim.cafile)
    return ProxmoxAPI(sim.host, port=sim.port, user=user, password=password or sim.password,
                      verify_ssl=sim.cafile)


def wait(api, node, upid, timeout=20):
    """The task's final status dict."""
    deadline = time.time() + timeout
    while True:
        status = api.nodes(node).tasks(upid).status.get()
        if status['status'] == 'stopped' or time.time() > deadline:
            return status
        time.sleep(0.02)

