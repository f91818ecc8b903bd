"""Builders of cluster facts (docs/CONTRACTS.md shape) and stand inputs for the stand tests.

Holds no tests; the other test_stand_* modules import it."""
import copy

GIB = 1024 ** 3


def node(maxmem_gib=64, mem_gib=8, online=True):
    return {'online': online, 'maxmem': maxmem_gib * GIB, 'mem': mem_gib * GIB}


def vm(vmid, name, node_name, pool=None, tags=(), template=False, maxmem_gib=1, status='stopped'):
    return {'vmid': vmid, 'name': name, 'node': node_name, 'pool': pool, 'tags': list(tags),
            'template': template, 'status': status, 'maxmem': maxmem_gib * GIB}


def make_cluster(nodes=None, vms=(), bridges=None, template_storages=None, storages=None,
                 users=None, pools=None):
    """Two online nodes (pve1 56 GiB free, pve2 60 GiB free) with vmbr0, shared 'nfs' and local
    'local-lvm' storage, a linux template 'alpine-tpl' (9001, nfs) on pve1 and an EcoRouter
    template 'ecorouter-tpl' replicated on both nodes (9002 pve1, 9102 pve2, local-lvm)."""
    nodes = nodes if nodes is not None else {'pve1': node(64, 8), 'pve2': node(64, 4)}
    base_vms = [
        vm(9001, 'alpine-tpl', 'pve1', template=True, maxmem_gib=2),
        vm(9002, 'ecorouter-tpl', 'pve1', template=True, maxmem_gib=4),
        vm(9102, 'ecorouter-tpl', 'pve2', template=True, maxmem_gib=4),
    ]
    all_vms = {v['vmid']: v for v in base_vms + list(vms)}
    return {
        'release': '9.0',
        'nodes': nodes,
        'vms': all_vms,
        'storages': storages if storages is not None else {
            n: {'local-lvm': {'shared': False}, 'nfs': {'shared': True}} for n in nodes},
        'bridges': bridges if bridges is not None else {
            n: {'vmbr0': {'comments': '', 'active': True}} for n in nodes},
        'template_storages': template_storages if template_storages is not None else {
            9001: ['nfs'], 9002: ['local-lvm'], 9102: ['local-lvm']},
        'users': users or {},
        'pools': pools or {},
    }


ROUTER = {'name': 'router', 'device_type': 'ecorouter', 'template': 'ecorouter-tpl',
          'networks': [{'bridge': 'lan'}]}
HOST = {'name': 'host1', 'template': 'alpine-tpl', 'networks': [{'bridge': 'lan'}]}


def make_stand(**overrides):
    stand = {'name': 'netlab', 'machines': [copy.deepcopy(ROUTER), copy.deepcopy(HOST)]}
    stand.update(overrides)
    return stand


def linux_stand(**overrides):
    stand = {'name': 'netlab', 'machines': [copy.deepcopy(HOST)]}
    stand.update(overrides)
    return stand


def one_error(errors):
    assert len(errors) == 1, errors
    return errors[0]
