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



def raw(sim, method, path, user='root@pam', password=None, **data):
    """(status, body) of one API request, so a test can read PVE's whole `message` (proxmoxer keeps one line)."""
    import requests
    login = requests.post(sim.url + '/api2/json/access/ticket', verify=sim.cafile,
                          data={'username': user, 'password': password or sim.password}).json()['data']
    response = requests.request(method, sim.url + '/api2/json' + path, verify=sim.cafile, data=data,
                                cookies={'PVEAuthCookie': login['ticket']},
                                headers={'CSRFPreventionToken': login['CSRFPreventionToken']})
    return response.status_code, response.json()


def vm_user(sim, vmid, roles, userid='st1@pve', node='pve1'):
    """A new user holding `roles` on /vms/<vmid> only; returns its proxmoxer handle of that VM."""
    root = client(sim)
    root.access.users.post(userid=userid, password='password1')
    root.access.acl.put(path='/vms/{0}'.format(vmid), roles=roles, users=userid)
    return client(sim, userid, 'password1').nodes(node).qemu(vmid)
