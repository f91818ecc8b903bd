# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Accessors for the cluster facts (``pve/cluster.py`` ``read_cluster``). The facts may have passed
through JSON, so dict keys can be strings. Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import parse_tags
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import MANAGED_TAG

__metaclass__ = type


def _vms(cluster):
    return list((cluster.get('vms') or {}).values())


def _vm_by_id(cluster, vmid):
    vms = cluster.get('vms') or {}
    return vms.get(vmid) or vms.get(str(vmid))


def _vm_tags(vm):
    tags = vm.get('tags') or []
    return parse_tags(tags) if isinstance(tags, str) else [str(t).lower() for t in tags]


def _node_info(cluster, node):
    return (cluster.get('nodes') or {}).get(node)


def _online_nodes(cluster):
    return sorted(n for n, info in (cluster.get('nodes') or {}).items() if info.get('online'))


def _node_bridges(cluster, node):
    return (cluster.get('bridges') or {}).get(node) or {}


def _template_storages(cluster, vmid):
    storages = cluster.get('template_storages') or {}
    found = storages.get(vmid, storages.get(str(vmid)))
    return None if found is None else list(found)


def _storage_is_shared(cluster, node, storage):
    info = ((cluster.get('storages') or {}).get(node) or {}).get(storage) or {}
    return bool(info.get('shared'))


def _templates_named(cluster, name):
    found = [vm for vm in _vms(cluster) if vm.get('template') and vm.get('name') == name]
    return sorted(found, key=lambda vm: (vm.get('node') or '', int(vm['vmid'])))


def _managed_by_deploystand(vm):
    return MANAGED_TAG in _vm_tags(vm)
