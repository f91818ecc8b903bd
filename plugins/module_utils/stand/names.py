# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The names and markers of a stand: the managed tag, the notes/comment markers, user, pool and VM
names, and the naming rules (regexes and limits) every input is checked against.

Pure: standard library only, no Ansible import and no HTTP. See docs/stand-model.md "markers".
"""
from __future__ import absolute_import, division, print_function

import re
import string

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError

__metaclass__ = type

MANAGED_TAG = 'deploystand'
MARKER_PREFIX = 'deploystand'
ECOROUTER_OUI = DEFAULTS['mac_prefix']   # the EcoRouter MACs' first four octets
MAX_NICS = 8
MAC_VMID_MODULUS = 8192      # 8192 VMIDs x 8 NICs = the 65536 addresses of the last two octets

DEFAULT_VMID_RANGE = DEFAULTS['vmid_range']
DEFAULT_BRIDGE_RANGE = DEFAULTS['bridge_range']
DEFAULT_ROLE = DEFAULTS['role']
DEFAULT_MANAGEMENT_BRIDGE = DEFAULTS['management_bridge']

STAND_KEYS = ('name', 'clone', 'vmid_range', 'bridge_range', 'start', 'node', 'role',
              'management_bridge', 'storage', 'format', 'memory_overcommit', 'baseline', 'expires',
              'machines', 'network', 'ha')
MACHINE_KEYS = ('name', 'device_type', 'template', 'template_vmid', 'template_node',
                'networks', 'full_clone', 'storage', 'format', 'start_order', 'ha')
NETWORK_KEYS = ('bridge', 'link_down')
USER_KEYS = ('name', 'password', 'node')

CLONE_MODES = ('linked', 'full')
LINUX = DEFAULTS['device_type']   # the default device type
ECOROUTER = 'ecorouter'          # the device type, and the tag its VM carries
DEVICE_TYPES = (LINUX, ECOROUTER)
DISK_FORMATS = ('raw', 'qcow2', 'vmdk')

STAND_NAME_RE = re.compile(r'^[a-z][a-z0-9-]*$')
STAND_NAME_MAX = 20
REALM_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
USER_NAME_FORBIDDEN_RE = re.compile(r'[\s:/]')
POOL_ID_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]*$')
DNS_LABEL_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')   # a VM name is a DNS label (pve dns-name)
MACHINE_NAME_RE = DNS_LABEL_RE   # a machine's name is part of its VM name: the same rule
DNS_LABEL_MAX = 63
ALIAS_RE = re.compile(r'^[a-z][a-z0-9_]{0,14}$')
VMBR_RE = re.compile(r'^vmbr(\d+)$')

ROLE_RE = re.compile(r'^[A-Za-z0-9.\-_]+$')
NODE_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$')
STORAGE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$')

VMID_MIN, VMID_MAX = 100, 999999999
OVERCOMMIT_MAX = 10.0             # stand.memory_overcommit: at most 10x a node's memory
BRIDGE_NUMBER_MAX = 9999          # vmbr0..vmbr9999: the bridge name every PVE 8.x/9.x accepts
USERID_LEN = (3, 64)
PASSWORD_LEN = (8, 64)

PASSWORD_ALPHABET = ''.join(c for c in string.ascii_letters + string.digits if c not in '0Oo1lI')


def stand_tag(stand):
    return 'stand-%s' % stand


def user_marker(stand):
    return '%s:%s' % (MARKER_PREFIX, stand)


def pool_marker(stand, userid):
    return '%s:%s' % (user_marker(stand), userid)


def bridge_marker(stand, userid, alias):
    return '%s:%s' % (pool_marker(stand, userid), alias)


def _marker_tokens(text):
    """Whitespace-separated tokens of a comment that look like our markers."""
    if not text:
        return []
    return [t for t in str(text).split() if t.startswith(MARKER_PREFIX + ':')]


def parse_marker(text):
    """First well-formed marker in a free-text comment, as {'stand', 'userid', 'alias'}.

    Missing parts are None; returns None when the text holds no marker."""
    for token in _marker_tokens(text):
        parts = token.split(':')[1:]
        if not 1 <= len(parts) <= 3 or not STAND_NAME_RE.match(parts[0]):
            continue
        userid = parts[1] if len(parts) > 1 else None
        alias = parts[2] if len(parts) > 2 else None
        if userid is not None and '@' not in userid:
            continue
        if alias is not None and not alias:
            continue
        return {'stand': parts[0], 'userid': userid, 'alias': alias}
    return None


def owns(comment, marker):
    """True when the comment carries exactly this marker as a whole token.

    A prefix is not enough: 'deploystand:net' does not own 'deploystand:netlab:...', and a user
    marker does not own a pool marker of the same stand."""
    return marker in _marker_tokens(comment)


def split_userid(userid):
    """'student1@pve' -> ('student1', 'pve'); without '@' the realm is None.

    Splits at the last '@', as PVE's userid regex does (the name part may hold '@')."""
    name, sep, realm = str(userid).rpartition('@')
    if not sep:
        return str(userid), None
    return name, realm


def stand_name_problem(stand):
    """The message for a `stand` module option that is not a stand name, or None when it is one."""
    if isinstance(stand, str) and STAND_NAME_RE.match(stand) and len(stand) <= STAND_NAME_MAX:
        return None
    return ("stand: %r is not a stand name (a lower-case letter, then a-z, 0-9 or '-', at most %d "
            "characters)" % (stand, STAND_NAME_MAX))


def pool_id(stand, userid):
    """`<stand>-<user name>`; starts with a letter because stand names do (PVE 9 rule)."""
    return '%s-%s' % (stand, split_userid(userid)[0])


def pool_id_problem(stand, userid):
    """Why `pool_id(stand, userid)` would be refused by PVE, or None."""
    pid = pool_id(stand, userid)
    if not POOL_ID_RE.match(pid):
        return ("gives pool id %r, which PVE refuses (letters, digits, '.', '-' and '_' only, "
                "starting with a letter)" % pid)
    return None


def dns_user_part(userid):
    """The user name as it appears in VM names: lower-case, '_' and '.' mapped to '-'."""
    return split_userid(userid)[0].lower().replace('_', '-').replace('.', '-')


def vm_name_problem(userid, machine):
    """Why `<user>-<machine>` cannot be a PVE dns-name label, or None."""
    name = '%s-%s' % (dns_user_part(userid), machine)
    if len(name) > DNS_LABEL_MAX:
        return 'gives VM name %r, longer than %d characters' % (name, DNS_LABEL_MAX)
    if not DNS_LABEL_RE.match(name):
        return ("gives VM name %r, which is not a DNS label (after mapping '_' and '.' to '-', "
                "only a-z, 0-9 and '-' are allowed, not at the start or end)" % name)
    return None


def vm_name(userid, machine):
    """`<user name>-<machine>` as a DNS label; raises StandError when it cannot be one."""
    problem = vm_name_problem(userid, machine)
    if problem:
        raise StandError('%s: %s' % (userid, problem))
    return '%s-%s' % (dns_user_part(userid), machine)
