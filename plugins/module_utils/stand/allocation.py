# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""VMIDs and EcoRouter MACs: free VMIDs in the range, the VMIDs of the plan, the NIC strings of a
machine and the deterministic EcoRouter MAC per (VMID, NIC).

Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import _as_int, valid_mac
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import _vms
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ECOROUTER_OUI, MAC_VMID_MODULUS, MAX_NICS,
)

__metaclass__ = type


def machine_nics(networks, bridge_map, model=DEFAULTS['nic_model']):
    """A plan machine's networks [{bridge, alias, link_down, management}] + the student's
    {alias: iface} -> the NICs to set [{bridge, model, link_down}].

    A real bridge is used as is; an alias becomes the student's private bridge on its node, as the
    network play made it (the plan's own guess of the interface is not authoritative)."""
    nics = []
    for net in networks or []:
        alias = net.get('alias')
        if alias:
            if alias not in (bridge_map or {}):
                raise StandError('no private bridge was made for the network alias {0!r}'.format(alias))
            bridge = bridge_map[alias]
        else:
            bridge = net.get('bridge')
        nics.append({'bridge': bridge, 'model': model, 'link_down': bool(net.get('link_down'))})
    return nics


def free_vmids(vmid_range, used_ids):
    """VMIDs in [lo, hi] not in used_ids, lowest first (lazy: ranges can be huge)."""
    used = set(int(v) for v in used_ids)
    lo, hi = vmid_range
    vmid = lo
    while vmid <= hi:
        if vmid not in used:
            yield vmid
        vmid += 1


def _used_vmids(cluster):
    return set(int(vm['vmid']) for vm in _vms(cluster))


def _count_free_vmids(vmid_range, used_ids):
    lo, hi = vmid_range
    return (hi - lo + 1) - sum(1 for v in used_ids if lo <= v <= hi)


def assign_vmids(plan_students, cluster, vmid_range):
    """{(userid, machine): preferred_vmid} for the planned VMs that do not exist yet.

    Disjoint and deterministic: students in input order, machines in stand order, each taking
    the lowest VMID free in the cluster. PVE reserves nothing, so the clone module still has to
    retry with the next free id when another client took it meanwhile."""
    free = free_vmids(vmid_range, _used_vmids(cluster))
    assigned = {}
    for student in plan_students:
        for machine in student['machines']:
            if machine.get('vmid') is not None:
                continue
            vmid = next(free, None)
            if vmid is None:
                raise StandError('vmid_range [%d, %d] has no free VMID left' % tuple(vmid_range))
            assigned[(student['userid'], machine['machine'])] = vmid
    return assigned


def ecorouter_mac(vmid, index):
    """Stable EcoRouter MAC of NIC `index` (0..7) of VM `vmid`: 1C:87:76:40:XX:YY.

    XX:YY is the slot (vmid % 8192) * 8 + index, so two EcoRouters never share a MAC unless
    their VMIDs are equal mod 8192: no scan of other VM configs is needed."""
    vmid = _as_int(vmid)
    index = _as_int(index)
    if vmid is None or vmid < 0:
        raise StandError('ecorouter_mac: vmid must be a non-negative integer')
    if index is None or not 0 <= index < MAX_NICS:
        raise StandError('ecorouter_mac: NIC index must be 0..%d, got %r' % (MAX_NICS - 1, index))
    slot = (vmid % MAC_VMID_MODULUS) * MAX_NICS + index
    return '%s:%02X:%02X' % (ECOROUTER_OUI, slot >> 8, slot & 0xFF)


def is_ecorouter_mac(mac):
    return valid_mac(mac) and mac.upper().startswith(ECOROUTER_OUI + ':')
