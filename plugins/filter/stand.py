# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters exposing the stand naming rules to playbooks and templates, so a playbook never
re-implements a name or marker (the same code builds the plan)."""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import ecorouter_mac
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    MANAGED_TAG, bridge_marker, pool_id, pool_marker, stand_tag, user_marker, vm_name,
)

try:
    from ansible.errors import AnsibleFilterError
except ImportError:  # unit tests without Ansible on the path
    AnsibleFilterError = ValueError
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError

__metaclass__ = type


def _clear_errors(func):
    """Turn StandError into AnsibleFilterError so a playbook shows the reason, not a traceback."""
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except StandError as exc:
            raise AnsibleFilterError('%s: %s' % (func.__name__, exc))
    wrapper.__name__ = func.__name__
    wrapper.__doc__ = func.__doc__
    return wrapper


def stand_pool_id(userid, stand):
    """'student1@pve' | deploystand.proxmox.stand_pool_id('netlab') -> 'netlab-student1'."""
    return pool_id(stand, userid)


def stand_vm_name(userid, machine):
    """'stu_1@pve' | deploystand.proxmox.stand_vm_name('router') -> 'stu-1-router' (DNS label)."""
    return vm_name(userid, machine)


def stand_user_marker(stand):
    """'netlab' | deploystand.proxmox.stand_user_marker -> 'deploystand:netlab'."""
    return user_marker(stand)


def stand_pool_marker(userid, stand):
    """'student1@pve' | deploystand.proxmox.stand_pool_marker('netlab')
    -> 'deploystand:netlab:student1@pve'."""
    return pool_marker(stand, userid)


def stand_bridge_marker(userid, stand, alias):
    """'student1@pve' | deploystand.proxmox.stand_bridge_marker('netlab', 'lan')
    -> 'deploystand:netlab:student1@pve:lan'."""
    return bridge_marker(stand, userid, alias)


def stand_tags(stand):
    """'netlab' | deploystand.proxmox.stand_tags -> ['deploystand', 'stand-netlab']."""
    return [MANAGED_TAG, stand_tag(stand)]


def stand_ecorouter_mac(vmid, index=0):
    """10001 | deploystand.proxmox.stand_ecorouter_mac(1) -> '1C:87:76:40:38:89'."""
    return ecorouter_mac(vmid, index)


class FilterModule(object):
    """deploystand.proxmox stand naming filters."""

    def filters(self):
        funcs = (stand_pool_id, stand_vm_name, stand_user_marker, stand_pool_marker,
                 stand_bridge_marker, stand_tags, stand_ecorouter_mac)
        return dict((f.__name__, _clear_errors(f)) for f in funcs)
