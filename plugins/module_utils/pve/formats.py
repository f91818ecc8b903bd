# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Proxmox VE's own string formats: a NIC (``net<N>``) string, the tag list, MAC addresses, a
bridge id and PVE's boolean and integer spellings.

Standard library only. The NIC keys and models are qemu-server's (PVE/QemuServer.pm ``$net_fmt``,
``$nic_model_list``); a tag is pve-common's ``pve-tag`` format (src/PVE/JSONSchema.pm ``pve_verify_tag``).
"""
from __future__ import absolute_import, division, print_function

import re

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError

__metaclass__ = type

BRIDGE_ID_RE = re.compile(r'^[-_.\w]+$')       # pve-bridge-id, what a NIC's bridge= accepts
NET_KEY_RE = re.compile(r'^net(\d+)$')          # a VM config key holding a NIC
TAG_RE = re.compile(r'^[a-z0-9_][a-z0-9_\-+.]*$', re.I)   # pve-tag
MAC_PREFIX_RE = re.compile(r'^[0-9a-f][02468ace](:[0-9a-f]{2}){3}$', re.I)   # 4 octets, unicast

MAC_RE = re.compile(r'^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$', re.IGNORECASE)

_TRUE_STRINGS = ('true', 'yes', 'on', '1')
_FALSE_STRINGS = ('false', 'no', 'off', '0')


def _as_bool(value):
    """bool, or the strings Ansible treats as booleans (surveys and -e give strings); else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str):
        low = value.strip().lower()
        if low in _TRUE_STRINGS:
            return True
        if low in _FALSE_STRINGS:
            return False
    return None


def _as_int(value):
    """int, or a string of digits; bool is not an int here."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def valid_mac(mac):
    """PVE's mac-addr rule: six hex octets, unicast (second hex digit even); case-insensitive."""
    return isinstance(mac, str) and bool(MAC_RE.match(mac))


NIC_MODELS = ('e1000', 'e1000-82540em', 'e1000-82544gc', 'e1000-82545em', 'e1000e', 'i82551',
              'i82557b', 'i82559er', 'ne2k_isa', 'ne2k_pci', 'pcnet', 'rtl8139', 'virtio', 'vmxnet3')


def parse_net(value):
    """PVE `netN` value -> {'model', 'mac', 'bridge', 'link_down', ...other options as strings}.

    Accepts both `virtio=MAC,...` and `model=virtio,macaddr=MAC,...`."""
    result = {'model': None, 'mac': None, 'bridge': None, 'link_down': False}
    for part in (p.strip() for p in str(value or '').split(',')):
        if not part:
            continue
        key, sep, val = part.partition('=')
        if key in NIC_MODELS:
            result['model'] = key
            result['mac'] = val if sep else None
        elif key == 'model':
            result['model'] = val
        elif key == 'macaddr':
            result['mac'] = val
        elif key == 'link_down':
            result['link_down'] = _as_bool(val) is True
        else:
            result[key] = val if sep else None
    return result


def format_net(d):
    """Inverse of parse_net: `model=MAC` (or `model`), bridge, then other options sorted."""
    if not d.get('model'):
        raise StandError('format_net: a NIC needs a model')
    parts = ['%s=%s' % (d['model'], d['mac']) if d.get('mac') else d['model']]
    if d.get('bridge'):
        parts.append('bridge=%s' % d['bridge'])
    others = dict((k, v) for k, v in d.items() if k not in ('model', 'mac', 'bridge', 'link_down'))
    if d.get('link_down'):
        others['link_down'] = '1'
    for key in sorted(others):
        value = others[key]
        if value is None:
            continue
        if isinstance(value, bool):
            value = int(value)
        parts.append('%s=%s' % (key, value))
    return ','.join(parts)


def parse_tags(text):
    """PVE tag list -> sorted, unique, lower-case list (how PVE stores them by default)."""
    if not text:
        return []
    if isinstance(text, (list, tuple)):
        text = ' '.join(str(t) for t in text)
    return sorted(set(t.lower() for t in re.split(r'[,;\s]+', str(text)) if t))


def format_tags(tags):
    return ';'.join(parse_tags(tags))
