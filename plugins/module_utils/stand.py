# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure stand logic of deploystand.proxmox: input validation, naming and markers, placement,
template resolution, bridge and VMID allocation, EcoRouter MACs and the deploy plan.

Standard library only: no Ansible import and no HTTP, so modules, filters, the report and the
unit tests all share exactly this code. Bad input never raises here; it comes back as a list
of messages that each start with the field they are about (``users[3]: ...``,
``stand.machines[0].networks[1].bridge: ...``). The helpers that can only fail on an internal
contract violation or an impossible request raise ``StandError``.

See docs/stand-model.md for the input reference and the reasons behind each rule.
"""
from __future__ import absolute_import, division, print_function

import difflib
import re
import secrets
import string
import unicodedata

__metaclass__ = type

MANAGED_TAG = 'deploystand'
MARKER_PREFIX = 'deploystand'
ECOROUTER_OUI = '1C:87:76:40'
MAX_NICS = 8
MAC_VMID_MODULUS = 8192      # 8192 VMIDs x 8 NICs = the 65536 addresses of the last two octets

DEFAULT_VMID_RANGE = [10000, 19999]
DEFAULT_BRIDGE_RANGE = [1000, 9999]
DEFAULT_ROLE = 'PVEVMAdmin'
DEFAULT_MANAGEMENT_BRIDGE = 'vmbr0'

STAND_KEYS = ('name', 'clone', 'vmid_range', 'bridge_range', 'start', 'node', 'role',
              'management_bridge', 'storage', 'format', 'memory_overcommit', 'machines')
MACHINE_KEYS = ('name', 'device_type', 'template', 'template_vmid', 'template_node',
                'networks', 'full_clone', 'storage', 'format')
NETWORK_KEYS = ('bridge', 'link_down')
USER_KEYS = ('name', 'password', 'node')

CLONE_MODES = ('linked', 'full')
DEVICE_TYPES = ('linux', 'ecorouter')
DISK_FORMATS = ('raw', 'qcow2', 'vmdk')

STAND_NAME_RE = re.compile(r'^[a-z][a-z0-9-]*$')
STAND_NAME_MAX = 20
MACHINE_NAME_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
REALM_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]+$')
USER_NAME_FORBIDDEN_RE = re.compile(r'[\s:/]')
POOL_ID_RE = re.compile(r'^[A-Za-z][A-Za-z0-9.\-_]*$')
DNS_LABEL_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
DNS_LABEL_MAX = 63
ALIAS_RE = re.compile(r'^[a-z][a-z0-9_]{0,14}$')
VMBR_RE = re.compile(r'^vmbr(\d+)$')
BRIDGE_ID_RE = re.compile(r'^[-_.\w]+$')       # pve-bridge-id, what a NIC's bridge= accepts
ROLE_RE = re.compile(r'^[A-Za-z0-9.\-_]+$')
NODE_RE = re.compile(r'^[A-Za-z0-9]([A-Za-z0-9.\-]*[A-Za-z0-9])?$')
STORAGE_RE = re.compile(r'^[A-Za-z][A-Za-z0-9\-_.]*[A-Za-z0-9]$')
MAC_RE = re.compile(r'^[a-f0-9][02468ace](:[a-f0-9]{2}){5}$', re.IGNORECASE)

VMID_MIN, VMID_MAX = 100, 999999999
OVERCOMMIT_MAX = 10.0             # stand.memory_overcommit: at most 10x a node's memory
BRIDGE_NUMBER_MAX = 9999          # vmbr0..vmbr9999: the bridge name every PVE 8.x/9.x accepts
USERID_LEN = (3, 64)
PASSWORD_LEN = (8, 64)

PASSWORD_ALPHABET = ''.join(c for c in string.ascii_letters + string.digits if c not in '0Oo1lI')

_TRUE_STRINGS = ('true', 'yes', 'on', '1')
_FALSE_STRINGS = ('false', 'no', 'off', '0')


class StandError(Exception):
    """A request the stand logic cannot satisfy (exhausted range, unresolvable template...)."""


# ---------------------------------------------------------------------------------------------
# Markers, tags and names (DESIGN §2)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Small input helpers
# ---------------------------------------------------------------------------------------------

def _type_name(value):
    return 'null' if value is None else type(value).__name__


def _unknown_keys(field, mapping, allowed):
    errors = []
    for key in mapping:
        if key in allowed:
            continue
        close = difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ' (allowed: %s)' % ', '.join(allowed)
        errors.append('%s: unknown key %r%s' % (field, key, hint))
    return errors


def _misspelled(mapping, allowed):
    """Allowed keys that an unknown key of the mapping probably meant: their own "is required"
    message would only repeat the "did you mean" one."""
    meant = set()
    for key in mapping:
        if key not in allowed:
            meant.update(difflib.get_close_matches(str(key), allowed, n=1, cutoff=0.6))
    return meant


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


def _bool_field(field, raw, key, default, errors):
    if raw.get(key) is None:
        return default
    value = _as_bool(raw[key])
    if value is None:
        errors.append('%s.%s: expected true or false, got %r' % (field, key, raw[key]))
        return default
    return value


def _choice_field(field, raw, key, choices, default, errors):
    value = raw.get(key)
    if value is None:
        return default
    if value not in choices:
        close = difflib.get_close_matches(str(value), choices, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ''
        errors.append('%s.%s: %r is not one of %s%s' % (field, key, value, ', '.join(choices), hint))
        return default
    return value


def _string_field(field, raw, key, pattern, rule, errors, default=None):
    value = raw.get(key)
    if value is None:
        return default
    if not isinstance(value, str) or not pattern.match(value):
        errors.append('%s.%s: %r is invalid (%s)' % (field, key, value, rule))
        return default
    return value


def _range_field(field, raw, key, default, lowest, highest, errors):
    value = raw.get(key)
    if value is None:
        return list(default)
    bounds = [_as_int(v) for v in value] if isinstance(value, (list, tuple)) else []
    if len(bounds) != 2 or None in bounds:
        errors.append('%s.%s: expected [low, high] (two integers), got %r' % (field, key, value))
        return list(default)
    lo, hi = bounds
    if not lowest <= lo <= hi <= highest:
        errors.append('%s.%s: [%d, %d] must satisfy %d <= low <= high <= %d'
                      % (field, key, lo, hi, lowest, highest))
        return list(default)
    return [lo, hi]


def _ratio_field(field, raw, key, default, highest, errors):
    """A number 1.0..highest (the strings Ansible and AWX surveys give too)."""
    value = raw.get(key)
    if value is None:
        return default
    try:
        ratio = float(value) if not isinstance(value, bool) else None
    except (TypeError, ValueError):
        ratio = None
    if ratio is None or not 1.0 <= ratio <= highest:
        errors.append('%s.%s: expected a number from 1.0 (no overcommit) to %g, got %r' % (field, key, highest, value))
        return default
    return ratio


def _unique(messages):
    seen = set()
    out = []
    for message in messages:
        if message not in seen:
            seen.add(message)
            out.append(message)
    return out


# ---------------------------------------------------------------------------------------------
# users
# ---------------------------------------------------------------------------------------------

def _userid_problems(userid):
    if not userid:
        return ['is empty']
    name, realm = split_userid(userid)
    if realm is None:
        return ['%r has no realm (expected name@realm, e.g. %s@pve)' % (userid, userid)]
    problems = []
    if not name:
        problems.append('%r has an empty name before the @' % userid)
    elif USER_NAME_FORBIDDEN_RE.search(name):
        problems.append('%r: the name part may not contain whitespace, \':\' or \'/\'' % userid)
    if not REALM_RE.match(realm):
        problems.append("%r: realm %r is invalid (a letter, then letters, digits, '.', '-' or '_'; "
                        "at least 2 characters)" % (userid, realm))
    if not USERID_LEN[0] <= len(userid) <= USERID_LEN[1]:
        problems.append('%r: a PVE userid is %d-%d characters, this one has %d'
                        % (userid, USERID_LEN[0], USERID_LEN[1], len(userid)))
    return problems


def password_control_problem(password):
    """Why a password with a control character (a tab, a newline, ...) is refused, or None. PVE stores
    it, but nobody can type it in the login form. Never names the password, only the position."""
    for index, char in enumerate(password):
        if unicodedata.category(char) == 'Cc':
            return ('holds a control character (U+%04X at position %d), which nobody can type at the login; '
                    'use printable characters' % (ord(char), index + 1))
    return None


def _normalize_user(field, entry, errors):
    """One users[] entry -> student dict, or None when it is unusable."""
    if isinstance(entry, str):
        entry = {'name': entry}
    elif not isinstance(entry, dict):
        errors.append("%s: expected 'name@realm' or a mapping with name, got %s"
                      % (field, _type_name(entry)))
        return None
    before = len(errors)
    errors.extend(_unknown_keys(field, entry, USER_KEYS))
    userid = entry.get('name')
    if userid is None:
        if 'name' in _misspelled(entry, USER_KEYS):
            return None
        errors.append("%s.name: is required (name@realm, e.g. student1@pve)" % field)
        return None
    if not isinstance(userid, str):
        errors.append('%s.name: expected a string name@realm, got %s' % (field, _type_name(userid)))
        return None
    userid = userid.strip()
    errors.extend('%s: %s' % (field, p) for p in _userid_problems(userid))
    password = entry.get('password')
    if password is not None:
        if not isinstance(password, str):
            errors.append('%s.password: expected a string, got %s' % (field, _type_name(password)))
        elif not PASSWORD_LEN[0] <= len(password) <= PASSWORD_LEN[1]:
            # never echo the password itself
            errors.append('%s.password: must be %d-%d characters (PVE rule), got %d'
                          % (field, PASSWORD_LEN[0], PASSWORD_LEN[1], len(password)))
        elif password_control_problem(password):
            errors.append('%s.password: %s' % (field, password_control_problem(password)))
    node = entry.get('node')
    if node is not None and (not isinstance(node, str) or not NODE_RE.match(node)):
        errors.append('%s.node: %r is not a node name' % (field, node))
    if len(errors) > before:
        return None
    name, realm = split_userid(userid)
    return {'userid': userid, 'name': name, 'realm': realm, 'password': password, 'node': node}


def normalize_users(raw):
    """The `users` value -> (students, errors).

    students: [{'userid', 'name', 'realm', 'password' (None if not given), 'node' (None), 'index'}]
    in input order; entries with problems are left out and described in errors."""
    if raw is None:
        return [], ["users: is required (a list of 'name@realm' strings or mappings)"]
    if not isinstance(raw, (list, tuple)):
        return [], ["users: expected a list of 'name@realm' strings or mappings, got %s"
                    % _type_name(raw)]
    if not raw:
        return [], ['users: the list is empty; give at least one student']
    errors = []
    students = []
    first_seen = {}
    for index, entry in enumerate(raw):
        field = 'users[%d]' % index
        student = _normalize_user(field, entry, errors)
        if student is None:
            continue
        if student['userid'] in first_seen:
            errors.append('%s: %r is listed twice (first at users[%d])'
                          % (field, student['userid'], first_seen[student['userid']]))
            continue
        first_seen[student['userid']] = index
        student['index'] = index
        students.append(student)
    return students, errors


# ---------------------------------------------------------------------------------------------
# stand
# ---------------------------------------------------------------------------------------------

def _normalize_network(field, entry, errors):
    if isinstance(entry, str):          # shorthand: networks: [lan, vmbr0]
        entry = {'bridge': entry}
    if not isinstance(entry, dict):
        errors.append('%s: expected a mapping {bridge: name}, got %s' % (field, _type_name(entry)))
        return None
    errors.extend(_unknown_keys(field, entry, NETWORK_KEYS))
    bridge = entry.get('bridge')
    if bridge is None:
        if 'bridge' in _misspelled(entry, NETWORK_KEYS):
            return None
        errors.append('%s.bridge: is required (an existing bridge such as vmbr0, or an alias '
                      'such as lan)' % field)
        return None
    if not isinstance(bridge, str) or not BRIDGE_ID_RE.match(bridge):
        errors.append("%s.bridge: %r is not a bridge name or alias (letters, digits, '_', '-', '.')"
                      % (field, bridge))
        return None
    link_down = _bool_field(field, entry, 'link_down', False, errors)
    return {'bridge': bridge, 'link_down': link_down}


def _normalize_template_source(field, raw, machine, errors):
    template = raw.get('template')
    vmid_raw = raw.get('template_vmid')
    node = raw.get('template_node')
    if template is not None and vmid_raw is not None:
        errors.append('%s: give either template (a name) or template_vmid, not both' % field)
    elif template is None and vmid_raw is None and not _misspelled(raw, MACHINE_KEYS) & {
            'template', 'template_vmid'}:
        errors.append('%s.template: is required (a template name, or template_vmid with '
                      'template_node)' % field)
    if template is not None and (not isinstance(template, str) or not template.strip()):
        errors.append('%s.template: expected a template name, got %r' % (field, template))
        template = None
    vmid = None
    if vmid_raw is not None:
        vmid = _as_int(vmid_raw)
        if vmid is None or not VMID_MIN <= vmid <= VMID_MAX:
            errors.append('%s.template_vmid: %r is not a VMID (%d-%d)'
                          % (field, vmid_raw, VMID_MIN, VMID_MAX))
            vmid = None
    if node is not None:
        if vmid_raw is None:
            errors.append('%s.template_node: only goes with template_vmid' % field)
        elif not isinstance(node, str) or not NODE_RE.match(node):
            errors.append('%s.template_node: %r is not a node name' % (field, node))
            node = None
    machine.update(template=template, template_vmid=vmid, template_node=node)


def _normalize_machine(field, raw, errors):
    if not isinstance(raw, dict):
        errors.append('%s: expected a mapping, got %s' % (field, _type_name(raw)))
        return None
    errors.extend(_unknown_keys(field, raw, MACHINE_KEYS))
    name = raw.get('name')
    if name is None:
        if 'name' not in _misspelled(raw, MACHINE_KEYS):
            errors.append('%s.name: is required' % field)
    elif not isinstance(name, str) or not MACHINE_NAME_RE.match(name):
        errors.append("%s.name: %r is invalid (a-z, 0-9 and '-', not starting or ending with '-')"
                      % (field, name))
    device_type = _choice_field(field, raw, 'device_type', DEVICE_TYPES, 'linux', errors)
    machine = {'name': name, 'device_type': device_type}
    _normalize_template_source(field, raw, machine, errors)
    machine['networks'] = _normalize_networks(field, raw.get('networks'), device_type, errors)
    full_clone = raw.get('full_clone')
    if full_clone is not None:
        full_clone = _as_bool(full_clone)
        if full_clone is None:
            errors.append('%s.full_clone: expected true or false, got %r' % (field, raw['full_clone']))
    machine['full_clone'] = full_clone
    machine['storage'] = _string_field(field, raw, 'storage', STORAGE_RE, 'a storage id', errors)
    machine['format'] = _choice_field(field, raw, 'format', DISK_FORMATS, None, errors)
    return machine


def _normalize_networks(field, raw, device_type, errors):
    nfield = field + '.networks'
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        errors.append('%s: expected a list of {bridge: name}, got %s' % (nfield, _type_name(raw)))
        return []
    if device_type == 'linux' and not raw:
        errors.append('%s: a linux machine needs at least one network' % nfield)
    total = len(raw) + (1 if device_type == 'ecorouter' else 0)
    if total > MAX_NICS:
        extra = " (EcoRouter's management NIC net0 counts)" if device_type == 'ecorouter' else ''
        errors.append('%s: %d NICs at most%s, got %d' % (nfield, MAX_NICS, extra, total))
    networks = []
    for index, entry in enumerate(raw):
        network = _normalize_network('%s[%d]' % (nfield, index), entry, errors)
        if network is not None:
            networks.append(network)
    return networks


def _normalize_machines(raw, errors, misspelled=False):
    if raw is None:
        if misspelled:
            return []
        errors.append('stand.machines: is required (a non-empty list of machines)')
        return []
    if not isinstance(raw, (list, tuple)) or not raw:
        errors.append('stand.machines: expected a non-empty list of machines, got %r' % (raw,))
        return []
    machines = []
    first_seen = {}
    for index, entry in enumerate(raw):
        field = 'stand.machines[%d]' % index
        machine = _normalize_machine(field, entry, errors)
        if machine is None:
            continue
        name = machine['name']
        if isinstance(name, str) and name in first_seen:
            errors.append('%s.name: %r is used twice (first at stand.machines[%d])'
                          % (field, name, first_seen[name]))
        elif isinstance(name, str):
            first_seen[name] = index
        machines.append(machine)
    return machines


def _machine_is_full(stand, machine):
    if machine.get('full_clone') is not None:
        return machine['full_clone']
    return stand.get('clone') == 'full'


def _check_full_clone_only_options(stand, errors):
    for index, machine in enumerate(stand['machines']):
        if _machine_is_full(stand, machine):
            continue
        for key in ('storage', 'format'):
            if machine.get(key) is not None:
                errors.append('stand.machines[%d].%s: only for full clones (set full_clone: true '
                              'on the machine or clone: full on the stand)' % (index, key))
    any_full = any(_machine_is_full(stand, m) for m in stand['machines'])
    for key in ('storage', 'format'):
        if stand.get(key) is not None and not any_full:
            errors.append('stand.%s: only used by full clones, but every machine is a linked '
                          'clone (set clone: full or full_clone: true)' % key)


def normalize_stand(raw):
    """The `stand` value -> (stand, errors); stand is None when anything is wrong.

    stand: {'name', 'clone', 'vmid_range', 'bridge_range', 'start', 'node', 'role',
            'management_bridge', 'storage', 'format', 'memory_overcommit', 'machines': [{'name', 'device_type',
            'template', 'template_vmid', 'template_node', 'networks': [{'bridge', 'link_down'}],
            'full_clone', 'storage', 'format'}]}"""
    if not isinstance(raw, dict):
        return None, ['stand: expected a mapping with name and machines, got %s' % _type_name(raw)]
    errors = _unknown_keys('stand', raw, STAND_KEYS)
    name = raw.get('name')
    if name is None:
        if 'name' not in _misspelled(raw, STAND_KEYS):
            errors.append('stand.name: is required (a-z, 0-9 and -, e.g. netlab)')
    elif not isinstance(name, str) or not STAND_NAME_RE.match(name) or len(name) > STAND_NAME_MAX:
        errors.append("stand.name: %r is invalid (a lower-case letter, then a-z, 0-9 or '-'; at "
                      "most %d characters)" % (name, STAND_NAME_MAX))
    stand = {
        'name': name,
        'clone': _choice_field('stand', raw, 'clone', CLONE_MODES, 'linked', errors),
        'vmid_range': _range_field('stand', raw, 'vmid_range', DEFAULT_VMID_RANGE,
                                   VMID_MIN, VMID_MAX, errors),
        'bridge_range': _range_field('stand', raw, 'bridge_range', DEFAULT_BRIDGE_RANGE,
                                     0, BRIDGE_NUMBER_MAX, errors),
        'start': _bool_field('stand', raw, 'start', True, errors),
        'node': _string_field('stand', raw, 'node', NODE_RE, 'a node name', errors),
        'role': _string_field('stand', raw, 'role', ROLE_RE, 'a PVE role id', errors, DEFAULT_ROLE),
        'management_bridge': _string_field('stand', raw, 'management_bridge', BRIDGE_ID_RE,
                                           'an existing bridge name', errors,
                                           DEFAULT_MANAGEMENT_BRIDGE),
        'storage': _string_field('stand', raw, 'storage', STORAGE_RE, 'a storage id', errors),
        'format': _choice_field('stand', raw, 'format', DISK_FORMATS, None, errors),
        'memory_overcommit': _ratio_field('stand', raw, 'memory_overcommit', 1.0, OVERCOMMIT_MAX, errors),
        'machines': _normalize_machines(raw.get('machines'), errors,
                                        'machines' in _misspelled(raw, STAND_KEYS)),
    }
    _check_full_clone_only_options(stand, errors)
    if errors:
        return None, _unique(errors)
    return stand, []


# ---------------------------------------------------------------------------------------------
# Cluster fact accessors (facts may have passed through JSON: dict keys can be strings)
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Templates (DESIGN §4)
# ---------------------------------------------------------------------------------------------

def _local_storages(cluster, template):
    """Storages of the template's disks that are not shared (None: disks unknown)."""
    storages = _template_storages(cluster, template['vmid'])
    if storages is None:
        return None
    return sorted(s for s in storages if not _storage_is_shared(cluster, template['node'], s))


def _cross_node_source(cluster, candidates, node):
    """First candidate whose disks are all on shared storage, else the reason none is."""
    reasons = []
    for template in candidates:
        local = _local_storages(cluster, template)
        if local == []:
            return template, None
        where = ('storage %s, which is not shared' % ', '.join(local) if local
                 else 'storage that is unknown (no disk list in the cluster facts)')
        reasons.append('template %r (vmid %s) on node %s uses %s'
                       % (template.get('name'), template['vmid'], template['node'], where))
    return None, '; '.join(reasons)


def _describe_template(machine):
    if machine.get('template') is not None:
        return 'template %r' % machine['template']
    return 'template_vmid %s' % machine.get('template_vmid')


def resolve_template(machine, node, cluster):
    """Where to clone a machine from for a stand on `node`.

    Returns (template_vmid, source_node, target): target is None for a same-node clone, or
    `node` for a clone from shared storage on another node. Raises StandError otherwise."""
    if machine.get('template') is not None:
        name = machine['template']
        candidates = _templates_named(cluster, name)
        if not candidates:
            raise StandError('%s: no template with this name in the cluster' % _describe_template(machine))
    else:
        vm = _vm_by_id(cluster, machine.get('template_vmid'))
        if vm is None:
            raise StandError('%s: no VM with this id in the cluster' % _describe_template(machine))
        if not vm.get('template'):
            raise StandError('%s: VM %s (%s) is not a template' % (
                _describe_template(machine), vm['vmid'], vm.get('name')))
        if machine.get('template_node') and vm.get('node') != machine['template_node']:
            raise StandError('%s: it is on node %s, not on template_node %s' % (
                _describe_template(machine), vm.get('node'), machine['template_node']))
        name = vm.get('name')
        # the given template first, then same-name replicas
        candidates = [vm] + [t for t in _templates_named(cluster, name) if t['vmid'] != vm['vmid']]
    on_node = [t for t in candidates if t.get('node') == node]
    if on_node:
        return int(on_node[0]['vmid']), node, None
    source, reason = _cross_node_source(cluster, candidates, node)
    if source is not None:
        return int(source['vmid']), source['node'], node
    raise StandError('%s: node %s has no replica named %r and it cannot be cloned there: %s '
                     '(put a copy of the template on %s or move its disks to shared storage)'
                     % (_describe_template(machine), node, name, reason, node))


def _machine_memory(machine, cluster):
    """Memory a clone of this machine will ask for: its template's maxmem (0 when unknown)."""
    if machine.get('template') is not None:
        found = _templates_named(cluster, machine['template'])
        return max([int(t.get('maxmem') or 0) for t in found] or [0])
    vm = _vm_by_id(cluster, machine.get('template_vmid')) or {}
    return int(vm.get('maxmem') or 0)


# ---------------------------------------------------------------------------------------------
# Placement (DESIGN §4)
# ---------------------------------------------------------------------------------------------

def _stand_vms_of(stand, student, cluster):
    pool = pool_id(stand['name'], student['userid'])
    tag = stand_tag(stand['name'])
    return [vm for vm in _vms(cluster) if vm.get('pool') == pool and tag in _vm_tags(vm)]


def current_node(stand, student, cluster):
    """The node a student's existing stand VMs are on (most of them; ties by name), or None."""
    counts = {}
    for vm in _stand_vms_of(stand, student, cluster):
        counts[vm.get('node')] = counts.get(vm.get('node'), 0) + 1
    if not counts:
        return None
    return min(counts, key=lambda n: (-counts[n], n))


def _nodes_that_can_host(stand, cluster):
    """Online nodes where every machine's template resolves, and the reasons for the others."""
    hosts, reasons = [], []
    for node in _online_nodes(cluster):
        problems = []
        for machine in stand['machines']:
            try:
                resolve_template(machine, node, cluster)
            except StandError as exc:
                problems.append(str(exc))
        if problems:
            reasons.append('%s: %s' % (node, '; '.join(problems)))
        else:
            hosts.append(node)
    return hosts, reasons


def _used_memory(cluster, node):
    """Memory in use on a node: PVE's `mem`, or the memory the running VMs there may take when that is
    more (`mem` is current usage, and a VM that has just started uses little of its maxmem yet)."""
    info = _node_info(cluster, node) or {}
    committed = sum(int(vm.get('maxmem') or 0) for vm in _vms(cluster)
                    if vm.get('node') == node and vm.get('status') == 'running' and not vm.get('template'))
    return max(int(info.get('mem') or 0), committed)


def _free_memory(cluster, node, placed_memory):
    info = _node_info(cluster, node) or {}
    return int(info.get('maxmem') or 0) - _used_memory(cluster, node) - placed_memory.get(node, 0)


def _room(stand, cluster, node, placed_memory):
    """Memory the stand may still place on the node: memory_overcommit x maxmem, less what is used."""
    info = _node_info(cluster, node) or {}
    ratio = stand.get('memory_overcommit') or 1.0
    return ratio * int(info.get('maxmem') or 0) - _used_memory(cluster, node) - placed_memory.get(node, 0)


def student_memory_need(stand, student, cluster):
    """Memory this run adds for the student: its templates' maxmem for the VMs still to clone, and the
    maxmem of its stopped stand VMs that the run starts. Running stand VMs are placed already."""
    existing = dict((vm.get('name'), vm) for vm in _stand_vms_of(stand, student, cluster))
    need = 0
    for machine in stand['machines']:
        vm = existing.get(vm_name(student['userid'], machine['name'])) \
            if not vm_name_problem(student['userid'], machine['name']) else None
        if vm is None:
            need += _machine_memory(machine, cluster)
        elif vm.get('status') != 'running' and stand.get('start', True):
            need += int(vm.get('maxmem') or 0)
    return need


def _best_node(stand, cluster, hosts, placed_memory, need):
    """The host with the most free memory among those with room for `need`; the most free one when
    none has room (the capacity check then refuses with the numbers)."""
    def most_free(nodes):
        return min(nodes, key=lambda n: (-_free_memory(cluster, n, placed_memory), n))
    fitting = [n for n in hosts if _room(stand, cluster, n, placed_memory) >= need]
    return most_free(fitting or hosts)


def place_students(stand, students, cluster):
    """{userid: node} for every student.

    Order of rules: keep a stand where its VMs already are; else the student's `node` pin; else
    `stand.node`; else the online node (that can host the templates) with the most free memory
    after what this run already placed, among those with room for the student's stand, ties by node
    name. Pins and kept stands are counted before balancing. Raises StandError when a balanced student
    has no node to go to."""
    placed_memory = {}
    placement = {}
    balanced = []
    for student in students:
        kept = current_node(stand, student, cluster)
        node = kept or student.get('node') or stand.get('node')
        if node:
            placement[student['userid']] = node
            placed_memory[node] = placed_memory.get(node, 0) + student_memory_need(stand, student, cluster)
        else:
            balanced.append(student)
    if not balanced:
        return placement
    hosts, reasons = _nodes_that_can_host(stand, cluster)
    if not hosts:
        raise StandError('no online node can host the stand%s'
                         % (': ' + ' | '.join(reasons) if reasons else ' (no node is online)'))
    for student in balanced:
        need = student_memory_need(stand, student, cluster)
        best = _best_node(stand, cluster, hosts, placed_memory, need)
        placement[student['userid']] = best
        placed_memory[best] = placed_memory.get(best, 0) + need
    return placement


def _gib(value):
    return '%.1f GiB' % (value / float(1024 ** 3))


def capacity_problems(stand, students, placement, cluster):
    """(errors, warnings) of the memory the placement adds per node, against what the nodes have free.

    Refused when a node gets more than memory_overcommit x maxmem minus what is used there (with the
    numbers per node and in total); with an overcommit ratio above 1, going past the free memory is
    one warning. Nodes whose memory is unknown (no stats: maxmem 0) are not judged."""
    needed, counts = {}, {}
    for student in students:
        node = placement[student['userid']]
        need = student_memory_need(stand, student, cluster)
        if need:
            needed[node] = needed.get(node, 0) + need
            counts[node] = counts.get(node, 0) + 1
    short, over = [], []
    for node in sorted(needed):
        info = _node_info(cluster, node) or {}
        if not int(info.get('maxmem') or 0):
            continue
        free = _free_memory(cluster, node, {})
        students_there = _count_of(counts[node], 'students')
        line = '%s: %s free, %s needed by %s' % (node, _gib(max(free, 0)), _gib(needed[node]), students_there)
        if needed[node] > _room(stand, cluster, node, {}):
            short.append(line)
        elif needed[node] > free:
            over.append(line)
    ratio = stand.get('memory_overcommit') or 1.0
    if short:
        online = [n for n in _online_nodes(cluster) if int((_node_info(cluster, n) or {}).get('maxmem') or 0)]
        total_free = sum(max(_free_memory(cluster, n, {}), 0) for n in online)
        return ['capacity: the stand needs more memory than the nodes have free (memory_overcommit %g): %s; in total '
                '%s free on %d online node%s, %s needed. Use fewer or smaller machines, other nodes, or allow '
                'overcommit with stand.memory_overcommit (e.g. 1.5)'
                % (ratio, '; '.join(short), _gib(total_free), len(online), '' if len(online) == 1 else 's',
                   _gib(sum(needed.values())))], []
    if over:
        return [], ['stand.memory_overcommit %g: memory is overcommitted on %s' % (ratio, '; '.join(over))]
    return [], []


# ---------------------------------------------------------------------------------------------
# Bridges (DESIGN §5)
# ---------------------------------------------------------------------------------------------

def _vmbr_number(iface):
    match = VMBR_RE.match(iface)
    return int(match.group(1)) if match else None


def bridge_share(node, all_nodes):
    """(index, count): new bridges on `node` take only the numbers N with N % count == index, where
    index is the node's place among ALL the cluster's nodes (online or not) sorted by name.

    A bridge name is one ACL path for every node (/sdn/zones/localnetwork/<name>), so names must be
    unique in the cluster; runs that create bridges on different nodes at the same time (the
    network play, two teachers) can then never pick the same new name, whatever they read."""
    names = sorted(set(all_nodes or ()) | {node})
    return names.index(node), len(names)


def _bridge_sort_key(iface):
    number = _vmbr_number(iface)
    return (number is None, number if number is not None else 0, iface)


def _share_rule(share):
    index, count = share
    if count <= 1:
        return ''
    return ' (new bridges on this node take only the numbers N with N mod %d = %d, so that no other ' \
           'node can make the same name)' % (count, index)


def allocate_bridges(existing, wanted, bridge_range, elsewhere=(), reserved=(), share=(0, 1), preferred=None):
    """Private bridges on one node.

    existing: {iface: comments} of the node; wanted: [(marker, alias)]. An iface whose comments own
    a wanted marker is reused (lowest vmbrN first if several), so alias->bridge is stable whatever
    the class list does; but not when its name is also a bridge on another node (`elsewhere`): the
    student's grant on that name would cover the other bridge too. The others get a new vmbrN with
    N in bridge_range and in the node's `share` (bridge_share): the `preferred` name of the marker
    when it is free, else the lowest free one. A new name is never one that exists on the node or
    elsewhere, nor one of `reserved` (planned for other nodes, or named in an ACL entry).
    Returns ({marker: iface}, [(iface, marker)] to create); raises StandError when the range is
    exhausted."""
    elsewhere = set(elsewhere or ())
    mapping = {}
    missing = []
    for marker, _alias in wanted:
        if marker in mapping or marker in missing:
            continue
        owned = sorted((i for i, c in existing.items() if owns(c, marker) and i not in elsewhere),
                       key=_bridge_sort_key)
        if owned:
            mapping[marker] = owned[0]
        else:
            missing.append(marker)
    lo, hi = bridge_range
    index, count = share
    taken = set(existing) | elsewhere | set(reserved or ())

    def usable(iface):
        number = _vmbr_number(iface)
        return (number is not None and lo <= number <= hi and number % count == index
                and iface not in taken and iface == 'vmbr%d' % number)
    free = [c for c in ('vmbr%d' % n for n in range(lo, hi + 1)) if usable(c)]
    if len(missing) > len(free):
        raise StandError('bridge_range [%d, %d] has %d free vmbrN%s but %d new bridges are needed'
                         % (lo, hi, len(free), _share_rule(share), len(missing)))
    # the proposals first, so that the lowest-free picks of the others cannot take them
    for marker in missing:
        wish = (preferred or {}).get(marker)
        if wish in free:
            mapping[marker] = wish
            free.remove(wish)
    for marker in missing:
        if marker not in mapping:
            mapping[marker] = free.pop(0)
    to_create = [(mapping[marker], marker) for marker in missing]
    return mapping, to_create


def _bridge_comments(cluster, node):
    return {iface: (info or {}).get('comments') or '' for iface, info in _node_bridges(cluster, node).items()}


def _unmarked_bridges(stand, nodes, cluster):
    """Bridges in bridge_range on these nodes without a bridge marker of this stand: never taken,
    changed or removed, only reported."""
    lo, hi = stand['bridge_range']
    out = []
    for node in sorted(nodes):
        for iface, comments in sorted(_bridge_comments(cluster, node).items()):
            number = _vmbr_number(iface)
            if number is None or not lo <= number <= hi:
                continue
            markers = [parse_marker(t) for t in _marker_tokens(comments)]
            if any(m and m['stand'] == stand['name'] and m['alias'] for m in markers):
                continue
            out.append('bridge %s on %s is in bridge_range but has no marker of stand %s (comments: %r); '
                       'not touched' % (iface, node, stand['name'], comments))
    return out


def _same_name_elsewhere(stand, students, cluster):
    """VMs named like a stand VM but outside that student's pool: never reused or removed, only reported."""
    out = []
    for student in students:
        pool = pool_id(stand['name'], student['userid'])
        for machine in stand['machines']:
            if vm_name_problem(student['userid'], machine['name']):
                continue
            name = vm_name(student['userid'], machine['name'])
            for vm in _vms(cluster):
                if vm.get('name') == name and vm.get('pool') != pool and not vm.get('template'):
                    out.append('VM %s (%s) in pool %s has the name of a stand VM but is not in pool %s; not touched'
                               % (vm['vmid'], name, vm.get('pool') or '(none)', pool))
    return out


def _bridge_invisible(cluster, name):
    """Why the caller may not see bridge `name` in the node bridge lists (PVE's Network.pm leaves out
    bridges without SDN.Audit or SDN.Use on /sdn/zones/localnetwork/<bridge>), or None."""
    path = SDN_BRIDGE_PATH % name
    if _caller_lacks(cluster, 'SDN.Audit', path) and _caller_lacks(cluster, 'SDN.Use', path):
        return ('%s lacks SDN.Audit and SDN.Use on %s, so it cannot see bridge %r (PVE lists only the bridges '
                'the caller may audit or use; see docs/permissions.md)' % (cluster.get('identity'), path, name))
    return None


def _classify_bridge(name, nodes, cluster):
    """('real'|'alias', problem-or-None) for a network bridge value on the stand's nodes.

    A name that exists on every node used is a real bridge; on none of them, an alias (vmbrN
    names never are); on only some of them, ambiguous."""
    present = [n for n in nodes if name in _node_bridges(cluster, n)]
    if present and len(present) == len(nodes):
        return 'real', None
    if present:
        absent = [n for n in nodes if n not in present]
        return None, ('%r is a bridge on %s but not on %s, where this stand also runs: ambiguous '
                      '(create it there too, or rename the alias)'
                      % (name, ', '.join(present), ', '.join(absent)))
    elsewhere = [n for n in sorted(cluster.get('bridges') or {}) if name in _node_bridges(cluster, n)]
    if VMBR_RE.match(name) or not ALIAS_RE.match(name):
        if elsewhere:
            return None, ('%r does not exist on %s (only on %s)'
                          % (name, ', '.join(nodes), ', '.join(elsewhere)))
        if VMBR_RE.match(name):
            return None, _bridge_invisible(cluster, name) or '%r looks like a bridge but exists on no node' % name
        return None, ('%r is neither an existing bridge nor a valid alias (a lower-case letter, '
                      'then a-z, 0-9 or _, at most 15 characters)' % name)
    return 'alias', None


# ---------------------------------------------------------------------------------------------
# VMIDs
# ---------------------------------------------------------------------------------------------

def machine_nics(networks, bridge_map, model='virtio'):
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


# ---------------------------------------------------------------------------------------------
# MACs (DESIGN §6)
# ---------------------------------------------------------------------------------------------

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


def valid_mac(mac):
    """PVE's mac-addr rule: six hex octets, unicast (second hex digit even); case-insensitive."""
    return isinstance(mac, str) and bool(MAC_RE.match(mac))


def is_ecorouter_mac(mac):
    return valid_mac(mac) and mac.upper().startswith(ECOROUTER_OUI + ':')


# ---------------------------------------------------------------------------------------------
# NIC strings
# ---------------------------------------------------------------------------------------------

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


# ---------------------------------------------------------------------------------------------
# Tags and passwords
# ---------------------------------------------------------------------------------------------

def parse_tags(text):
    """PVE tag list -> sorted, unique, lower-case list (how PVE stores them by default)."""
    if not text:
        return []
    if isinstance(text, (list, tuple)):
        text = ' '.join(str(t) for t in text)
    return sorted(set(t.lower() for t in re.split(r'[,;\s]+', str(text)) if t))


def format_tags(tags):
    return ';'.join(parse_tags(tags))


def generate_password(length=20):
    """Random password without look-alike characters (0 O o 1 l I), with at least one lower-case
    letter, upper-case letter and digit. length must be within PVE's 8-64."""
    if not PASSWORD_LEN[0] <= length <= PASSWORD_LEN[1]:
        raise StandError('generate_password: length must be %d-%d' % PASSWORD_LEN)
    while True:
        password = ''.join(secrets.choice(PASSWORD_ALPHABET) for _char in range(length))
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password)):
            return password


# ---------------------------------------------------------------------------------------------
# Validation against the cluster
# ---------------------------------------------------------------------------------------------

def _user_label(student):
    if student.get('index') is not None:
        return 'users[%d] (%s)' % (student['index'], student['userid'])
    return 'users (%s)' % student['userid']


def _node_problem(cluster, node):
    info = _node_info(cluster, node)
    known = sorted(cluster.get('nodes') or {})
    if info is None:
        close = difflib.get_close_matches(node, known, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ' (nodes: %s)' % ', '.join(known)
        return 'node %r does not exist%s' % (node, hint)
    if not info.get('online'):
        return 'node %r is offline' % node
    return None


def _check_nodes(stand, students, cluster):
    errors = []
    if stand is not None and stand.get('node'):
        problem = _node_problem(cluster, stand['node'])
        if problem:
            errors.append('stand.node: %s' % problem)
    for student in students:
        if student.get('node'):
            problem = _node_problem(cluster, student['node'])
            if problem:
                errors.append('%s.node: %s' % (_user_label(student), problem))
    if not _online_nodes(cluster):
        errors.append('cluster: no node is online')
    return errors


def _check_templates_exist(stand, cluster):
    """Template problems that do not depend on placement."""
    errors = []
    for index, machine in enumerate(stand['machines']):
        field = 'stand.machines[%d]' % index
        if machine.get('template') is not None:
            name = machine['template']
            if not _templates_named(cluster, name):
                vms = [vm for vm in _vms(cluster) if vm.get('name') == name]
                if vms:
                    errors.append('%s.template: %r is VM %s on %s, which is not a template'
                                  % (field, name, vms[0]['vmid'], vms[0].get('node')))
                else:
                    errors.append('%s.template: %s' % (field, _invisible(
                        cluster, 'VM.Audit', '/vms', 'template %r' % name, 'VMs')
                        or 'no template named %r in the cluster' % name))
            continue
        vm = _vm_by_id(cluster, machine.get('template_vmid'))
        if vm is None:
            vmid = machine['template_vmid']
            errors.append('%s.template_vmid: %s' % (field, _invisible(
                cluster, 'VM.Audit', '/vms/%s' % vmid, 'VM %s' % vmid, 'VMs') or 'no VM %s in the cluster' % vmid))
        elif not vm.get('template'):
            errors.append('%s.template_vmid: VM %s (%s) is not a template'
                          % (field, vm['vmid'], vm.get('name')))
        elif machine.get('template_node') and vm.get('node') != machine['template_node']:
            errors.append('%s.template_node: template %s is on node %s, not %s'
                          % (field, vm['vmid'], vm.get('node'), machine['template_node']))
    return errors


def _invisible(cluster, privilege, path, what, things):
    """'<caller> lacks <privilege> on <path>, so it cannot see <what> ...' when that explains why an object
    is missing from PVE's filtered lists; None otherwise."""
    who = _caller_lacks(cluster, privilege, path)
    if who is None:
        return None
    return ('%s lacks %s on %s, so it cannot see %s (PVE lists only the %s the caller may audit; see '
            'docs/permissions.md)' % (who, privilege, path, what, things))


def _check_names(stand, students):
    """Pool ids and VM names derived from user names: valid and distinct."""
    errors = []
    pools = {}
    vm_names = {}
    for student in students:
        label = _user_label(student)
        problem = pool_id_problem(stand['name'], student['userid'])
        if problem:
            errors.append('%s: %s' % (label, problem))
        else:
            pid = pool_id(stand['name'], student['userid'])
            if pid in pools:
                errors.append('%s: gives pool id %r, the same as %s' % (label, pid, pools[pid]))
            pools.setdefault(pid, label)
        clashes = set()
        problems = []
        for machine in stand['machines']:
            problem = vm_name_problem(student['userid'], machine['name'])
            if problem:
                problems.append(problem)
                continue
            name = vm_name(student['userid'], machine['name'])
            other = vm_names.setdefault(name, label)
            if other != label and other not in clashes:
                clashes.add(other)
                errors.append('%s: gives VM name %r, the same as %s (names are lower-cased and '
                              "'_'/'.' become '-')" % (label, name, other))
        if problems:
            # the user name is usually the cause: one message, not one per machine
            more = ' (and %d more VM names)' % (len(problems) - 1) if len(problems) > 1 else ''
            errors.append('%s: %s%s' % (label, problems[0], more))
    return errors


def _pool_owner(stand_name, pool, info):
    """The userid whose student pool of this stand `pool` is (its id is `<stand>-<name>` and its
    comment carries that student's pool marker), or None."""
    for token in _marker_tokens((info or {}).get('comment')):
        marker = parse_marker(token)
        if (marker and marker['stand'] == stand_name and marker['userid'] and not marker['alias']
                and pool == pool_id(stand_name, marker['userid'])):
            return marker['userid']
    return None


def _in_own_pool(stand_name, vm, cluster):
    """The VM is in a student pool of this stand (the pool carries the stand's pool marker): e.g. a
    clone an interrupted run left before it was tagged, which the clone module adopts."""
    pool = vm.get('pool')
    info = (cluster.get('pools') or {}).get(pool) if pool else None
    return info is not None and _pool_owner(stand_name, pool, info) is not None


def _being_cloned(vm):
    # PVE shows a clone in progress as a bare `lock: clone` config (no name, notes, tags or pool):
    # whose it is shows only when the task ends.
    return vm.get('lock') == 'clone'


def clones_in_flight(raw_stand, cluster):
    """VMIDs in the stand's VMID range that are being cloned right now (an interrupted earlier
    run's clones, or another stand's): the plan waits for them to finish so that it can tell."""
    stand, errors = normalize_stand(raw_stand)
    if errors:
        return []
    lo, hi = stand['vmid_range']
    return sorted(int(vm['vmid']) for vm in _vms(cluster) if lo <= int(vm['vmid']) <= hi and _being_cloned(vm))


IN_VMID_RANGE = 'has its VMID in vmid_range'


def _foreign_vms_in_vmid_range(stand, cluster):
    """VMs no deploystand stand manages whose VMIDs are in the range: reported, never touched. The stand
    finds its VMs by pool, name and tag, never by VMID, so new VMs simply take other ids (the plan's
    preferred VMIDs and the clone step skip every id in use). Not listed: VMs of other deploystand stands
    (they share ranges by design), clones in progress (their owner shows when they end) and untagged
    clones in the stand's own pools (an interrupted run's, adopted by the clone step)."""
    lo, hi = stand['vmid_range']
    found = sorted((vm for vm in _vms(cluster)
                    if lo <= int(vm['vmid']) <= hi and not _managed_by_deploystand(vm)
                    and not _being_cloned(vm) and not _in_own_pool(stand['name'], vm, cluster)),
                   key=lambda vm: int(vm['vmid']))
    return ['VM %s (%s) %s [%d, %d] but is not managed by deploystand: its id is skipped, the VM is not touched'
            % (vm['vmid'], vm.get('name'), IN_VMID_RANGE, lo, hi) for vm in found]


def _check_users_exist(students, cluster):
    """Only users of realm pve are created (pve_user_pool): a user of another realm (pam, ldap, ...)
    must exist before the stand, or the deploy would stop at that student after making others' parts."""
    users = cluster.get('users')
    if users is None:
        return []
    return ['%s: user %s does not exist; only users of realm pve are created, so create it in realm %r first '
            '(or check the realm name)' % (_user_label(s), s['userid'], s['realm'])
            for s in students if s['realm'] != 'pve' and s['userid'] not in users]


def validate_against_cluster(stand, students, cluster):
    """Every problem of a (normalized) stand and students against the cluster facts."""
    errors = _check_nodes(stand, students, cluster)
    errors += _check_users_exist(students, cluster)
    errors += _check_templates_exist(stand, cluster)
    errors += _check_names(stand, students)
    if errors:
        return _unique(errors)
    _plan, derive_errors = _derive_plan(stand, students, cluster)
    return _unique(derive_errors)


# ---------------------------------------------------------------------------------------------
# The plan
# ---------------------------------------------------------------------------------------------

def _existing_vm(cluster, pool, name, tag):
    found = [vm for vm in _vms(cluster)
             if vm.get('pool') == pool and vm.get('name') == name and tag in _vm_tags(vm)]
    return min(found, key=lambda vm: int(vm['vmid'])) if found else None


def _look_alike_vms(cluster, pool, name, tag):
    return [vm for vm in _vms(cluster)
            if vm.get('pool') == pool and vm.get('name') == name and tag not in _vm_tags(vm)]


def _plan_networks(stand, machine, classes):
    networks = []
    if machine['device_type'] == 'ecorouter':
        # EcoRouter's management port: net0 on the management bridge, link down (DESIGN §6)
        networks.append({'bridge': stand['management_bridge'], 'alias': None, 'link_down': True,
                         'management': True})
    for network in machine['networks']:
        is_alias = classes[network['bridge']] == 'alias'
        networks.append({'bridge': None if is_alias else network['bridge'],
                         'alias': network['bridge'] if is_alias else None,
                         'link_down': network['link_down'], 'management': False})
    return networks


def _plan_machine(stand, student, machine, node, classes, cluster, errors, foreign):
    name = vm_name(student['userid'], machine['name'])
    pool = pool_id(stand['name'], student['userid'])
    tag = stand_tag(stand['name'])
    existing = _existing_vm(cluster, pool, name, tag)
    for vm in _look_alike_vms(cluster, pool, name, tag):
        foreign.append('VM %s (%s) in pool %s has no tag %s; not managed by this stand'
                       % (vm['vmid'], name, pool, tag))
    template_vmid = source = target = None
    try:
        template_vmid, source, target = resolve_template(machine, node, cluster)
    except StandError as exc:
        if existing is None:      # an existing VM needs no template
            errors.append('%s: on node %s: %s' % (_user_label(student), node, exc))
    full = _machine_is_full(stand, machine)
    return {
        'machine': machine['name'], 'name': name, 'device_type': machine['device_type'],
        'template_vmid': template_vmid, 'template_node': source, 'target': target,
        'full': full,
        'storage': (machine.get('storage') or stand.get('storage')) if full else None,
        'format': (machine.get('format') or stand.get('format')) if full else None,
        'vmid': int(existing['vmid']) if existing else None, 'preferred_vmid': None,
        'networks': _plan_networks(stand, machine, classes),
    }


def _plan_student(stand, student, node, classes, cluster, errors, foreign):
    name = stand['name']
    pool = pool_id(name, student['userid'])
    pool_info = (cluster.get('pools') or {}).get(pool)     # a foreign pool's student was skipped before
    user_info = (cluster.get('users') or {}).get(student['userid'])
    machines = [_plan_machine(stand, student, m, node, classes, cluster, errors, foreign)
                for m in stand['machines']]
    aliases = []
    for machine in machines:
        for network in machine['networks']:
            if network['alias'] and network['alias'] not in aliases:
                aliases.append(network['alias'])
    return {
        'userid': student['userid'], 'name': student['name'], 'realm': student['realm'],
        'password': student.get('password'), 'node': node,
        'pool': pool, 'pool_comment': pool_marker(name, student['userid']),
        'pool_exists': pool_info is not None,
        'user_comment': user_marker(name),
        'user_exists': user_info is not None,
        'user_owned': bool(user_info is not None and owns(user_info.get('comment'), user_marker(name))),
        'bridges': [{'alias': a, 'marker': bridge_marker(name, student['userid'], a)} for a in aliases],
        'machines': machines,
    }


def _classify_all_bridges(stand, nodes, cluster):
    classes, errors = {}, []
    for mi, machine in enumerate(stand['machines']):
        for ni, network in enumerate(machine['networks']):
            if network['bridge'] in classes:      # report a bad name once, where it first appears
                continue
            kind, problem = _classify_bridge(network['bridge'], nodes, cluster)
            if problem:
                errors.append('stand.machines[%d].networks[%d].bridge: %s' % (mi, ni, problem))
            classes[network['bridge']] = kind
    if any(m['device_type'] == 'ecorouter' for m in stand['machines']):
        missing = [n for n in nodes if stand['management_bridge'] not in _node_bridges(cluster, n)]
        if missing:
            errors.append('stand.management_bridge: %s' % (
                _bridge_invisible(cluster, stand['management_bridge'])
                or '%r (EcoRouter net0) does not exist on %s' % (stand['management_bridge'], ', '.join(missing))))
    return classes, errors


def _bridge_names_elsewhere(cluster, node):
    """Names of the bridges of every other (online) node: a name is one ACL path on all nodes."""
    return set(iface for other in (cluster.get('bridges') or {}) if other != node
               for iface in _node_bridges(cluster, other))


def granted_bridge_names(acl):
    """Bridge names an ACL entry points at (/sdn/zones/localnetwork/<name>, or a VLAN below it):
    a new bridge of such a name would be usable by whoever holds the entry."""
    prefix = '/sdn/zones/localnetwork/'
    names = set()
    for entry in acl or ():
        path = str(entry.get('path') or '')
        if path.startswith(prefix) and path[len(prefix):]:
            names.add(path[len(prefix):].split('/', 1)[0])
    return names


def _allocate_node_bridges(stand, students, cluster, errors):
    """{node: [{userid, alias, marker, iface, exists}]}: each node's bridges, with names unique in the
    cluster (docs/stand-model.md §5)."""
    by_node = {}
    for student in students:
        by_node.setdefault(student['node'], []).extend(
            (b['marker'], b['alias'], student) for b in student['bridges'])
    all_nodes = sorted(cluster.get('nodes') or {})
    reserved = granted_bridge_names(cluster.get('bridge_acl'))
    nodes = {}
    for node in sorted(by_node):
        wanted = by_node[node]
        try:
            mapping, to_create = allocate_bridges(_bridge_comments(cluster, node),
                                                  [(m, a) for m, a, _s in wanted], stand['bridge_range'],
                                                  elsewhere=_bridge_names_elsewhere(cluster, node),
                                                  reserved=reserved, share=bridge_share(node, all_nodes))
        except StandError as exc:
            errors.append('stand.bridge_range: on node %s: %s' % (node, exc))
            continue
        created = set(iface for iface, _m in to_create)
        reserved |= created                         # never planned twice, on any node
        nodes[node] = [{'userid': s['userid'], 'alias': a, 'marker': m, 'iface': mapping[m],
                        'exists': mapping[m] not in created} for m, a, s in wanted]
        for _m, _a, student in wanted:
            _fill_bridge_ifaces(student, mapping)
    return nodes


def _stale_reason(stand, student, node, iface, alias, cluster):
    others = sorted(n for n in (cluster.get('bridges') or {}) if n != node and iface in _node_bridges(cluster, n))
    if others:
        return ('its name is also a bridge on %s (%s), and a grant on a bridge name covers that name on every node'
                % (', '.join(others), '; '.join('%r' % _bridge_comments(cluster, n)[iface] for n in others)))
    if alias not in [b['alias'] for b in student['bridges']]:
        return 'the stand no longer uses the network %r' % alias
    if node != student['node']:
        return "the student's stand is on %s" % student['node']
    return 'another bridge of that network is used'


def _stale_bridges(stand, students, node_plan, cluster):
    """{node: [{userid, alias, marker, iface, reason}]}: bridges carrying the marker of this stand and
    a planned student that the plan does not give that student (any more): a name clash with
    another node, a network the stand dropped, a second bridge of one network. The deploy removes
    the student's grant on each and deletes the bridge once no VM uses it."""
    given = set((node, b['iface'], b['marker']) for node in node_plan for b in node_plan[node])
    planned = dict((s['userid'], s) for s in students)
    out = {}
    for node in sorted(cluster.get('bridges') or {}):
        for iface, comments in sorted(_bridge_comments(cluster, node).items(), key=lambda i: _bridge_sort_key(i[0])):
            for token in _marker_tokens(comments):
                marker = parse_marker(token)
                if (not marker or marker['stand'] != stand['name'] or not marker['alias']
                        or marker['userid'] not in planned or (node, iface, token) in given):
                    continue
                student = planned[marker['userid']]
                out.setdefault(node, []).append({
                    'userid': marker['userid'], 'alias': marker['alias'], 'marker': token, 'iface': iface,
                    'reason': _stale_reason(stand, student, node, iface, marker['alias'], cluster)})
    return out


def _other_stands_bridges_of(userid, stand_name, cluster):
    """Bridge names that carry a marker of this user from ANOTHER stand: that stand's grant, kept."""
    names = set()
    for node in cluster.get('bridges') or {}:
        for iface, comments in _bridge_comments(cluster, node).items():
            for token in _marker_tokens(comments):
                marker = parse_marker(token)
                if marker and marker['userid'] == userid and marker['alias'] and marker['stand'] != stand_name:
                    names.add(iface)
    return names


def _fill_stale(stand, students, stale, cluster, warnings):
    """Each student's `stale_grants` (bridge names it must no longer be granted), and one warning
    per stale bridge saying what happens to it."""
    for student in students:
        own = set(b['iface'] for b in student['bridges'])
        keep = own | _other_stands_bridges_of(student['userid'], stand['name'], cluster)
        mine = [(node, b) for node in sorted(stale) for b in stale[node] if b['userid'] == student['userid']]
        student['stale_grants'] = sorted(set(b['iface'] for _n, b in mine if b['iface'] not in keep),
                                         key=_bridge_sort_key)
        for node, bridge in mine:
            new = [b['iface'] for b in student['bridges'] if b['alias'] == bridge['alias']]
            moved = ' its network %r moves to %s (the NICs follow);' % (bridge['alias'], new[0]) if new else ''
            warnings.append('%s: bridge %s on %s is no longer given to it: %s;%s its grant on %s is removed and '
                            'the bridge is deleted once no VM uses it'
                            % (_user_label(student), bridge['iface'], node, bridge['reason'], moved,
                               bridge['iface']))


def _fill_bridge_ifaces(student, mapping):
    by_alias = {}
    for bridge in student['bridges']:
        bridge['iface'] = mapping[bridge['marker']]
        by_alias[bridge['alias']] = bridge['iface']
    for machine in student['machines']:
        for network in machine['networks']:
            if network['alias']:
                network['bridge'] = by_alias[network['alias']]


def _assign_preferred_vmids(stand, students, cluster, errors):
    to_create = sum(1 for s in students for m in s['machines'] if m['vmid'] is None)
    free = _count_free_vmids(stand['vmid_range'], _used_vmids(cluster))
    if to_create > free:
        errors.append('stand.vmid_range: [%d, %d] has %d free VMIDs but %d VMs must be created'
                      % (stand['vmid_range'][0], stand['vmid_range'][1], free, to_create))
        return
    assigned = assign_vmids(students, cluster, stand['vmid_range'])
    for student in students:
        for machine in student['machines']:
            machine['preferred_vmid'] = assigned.get((student['userid'], machine['machine']))


def _placement_warnings(stand, students, placement, cluster):
    warnings = []
    for student in students:
        wanted = student.get('node') or stand.get('node')
        node = placement[student['userid']]
        if wanted and wanted != node:
            warnings.append('%s: asked for node %s but its stand already runs on %s; kept there '
                            '(destroy it to move it)' % (_user_label(student), wanted, node))
    return warnings


# ---------------------------------------------------------------------------------------------
# What the plan tells before any write (issue 13)
# ---------------------------------------------------------------------------------------------

def stand_students_on_cluster(stand_name, cluster):
    """Userids that have a student pool of this stand on the cluster (found by the pool marker)."""
    found = set()
    for pool, info in (cluster.get('pools') or {}).items():
        userid = _pool_owner(stand_name, pool, info)
        if userid:
            found.add(userid)
    return sorted(found)


def class_changes(stand_name, students, cluster):
    """How this class list differs from the stand's students on the cluster:
    {'added': userids in the list without a pool of the stand yet,
     'not_in_list': userids with a pool of the stand that the list leaves out (kept, not destroyed)}."""
    listed = [s['userid'] for s in students]
    on_cluster = stand_students_on_cluster(stand_name, cluster)
    return {'added': [u for u in listed if u not in on_cluster],
            'not_in_list': [u for u in on_cluster if u not in listed]}


def _class_change_warnings(stand_name, changes, cluster):
    """One warning when the stand exists on the cluster with another class; none for a first deploy."""
    if not stand_students_on_cluster(stand_name, cluster) or not (changes['added'] or changes['not_in_list']):
        return []
    parts = []
    if changes['added']:
        parts.append('%d added by this list (%s)' % (len(changes['added']), ', '.join(changes['added'])))
    if changes['not_in_list']:
        parts.append('%d on the cluster but not in this list, kept as they are (destroy_stand.yml with them in '
                     'users removes them): %s' % (len(changes['not_in_list']), ', '.join(changes['not_in_list'])))
    return ['the class differs from the students of stand %s on the cluster: %s'
            % (stand_name, '; '.join(parts))]


_FOREIGN_VM_RE = re.compile(r'^VM (\d+) ')
_FOREIGN_BRIDGE_RE = re.compile(r'^bridge (\S+) on (\S+) ')
SUMMARY_SHOWN_IDS = 10


def _other_stand_of(stand_name, line, cluster):
    """The other deploystand stand a look-alike line is about (its VM's stand tag, its bridge's
    marker), or None when the object belongs to no other stand (an admin's object: shown alone)."""
    found = _FOREIGN_VM_RE.match(line)
    if found:
        vm = _vm_by_id(cluster, int(found.group(1))) or {}
        tags = _vm_tags(vm)
        others = [t[len('stand-'):] for t in tags if t.startswith('stand-') and t != stand_tag(stand_name)]
        return others[0] if MANAGED_TAG in tags and len(others) == 1 else None
    found = _FOREIGN_BRIDGE_RE.match(line)
    if found:
        comments = _bridge_comments(cluster, found.group(2)).get(found.group(1))
        others = set(m['stand'] for m in (parse_marker(t) for t in _marker_tokens(comments))
                     if m and m['alias'] and m['stand'] != stand_name)
        return others.pop() if len(others) == 1 else None
    return None


def _count_of(number, plural):
    return '%d %s' % (number, plural if number != 1 else plural[:-1])


def summarize_foreign(stand_name, lines, cluster):
    """The look-alike report shown as warnings: an admin's objects one line each, VMs in the VMID range
    in one line, and one line per other stand with counts. The full list stays in plan.foreign."""
    alone, in_range, by_stand = [], [], {}
    for line in lines:
        other = _other_stand_of(stand_name, line, cluster)
        if IN_VMID_RANGE in line:
            in_range.append(_FOREIGN_VM_RE.match(line).group(1))
        elif other:
            kind = 'bridges' if _FOREIGN_BRIDGE_RE.match(line) else 'VMs'
            counts = by_stand.setdefault(other, {})
            counts[kind] = counts.get(kind, 0) + 1
        else:
            alone.append(line)
    out = list(alone)
    if in_range:
        more = ' and %d more' % (len(in_range) - SUMMARY_SHOWN_IDS) if len(in_range) > SUMMARY_SHOWN_IDS else ''
        one = len(in_range) == 1
        out.append('vmid_range holds %s not managed by deploystand (%s%s): new VMs skip %s, and %s not touched'
                   % (_count_of(len(in_range), 'VMs'), ', '.join(in_range[:SUMMARY_SHOWN_IDS]), more,
                      'its id' if one else 'their ids', 'it is' if one else 'they are'))
    for other in sorted(by_stand):
        counts = by_stand[other]
        out.append('stand %s: %s with names or numbers like this stand\'s; they are its own and not touched'
                   % (other, ', '.join(_count_of(counts[k], k) for k in ('VMs', 'bridges') if k in counts)))
    return out


def _bridges_outside_range(stand, node_bridges):
    """One warning naming the stand's existing bridges whose numbers a changed bridge_range leaves out.

    They are kept, not renumbered: moving a bridge re-plugs the students' running VMs (cutting their
    traffic) and changes their grants, while the range only says where new bridges go."""
    lo, hi = stand['bridge_range']
    outside = []
    for node in sorted(node_bridges):
        for entry in node_bridges[node]:
            number = _vmbr_number(entry['iface'])
            if entry['exists'] and (number is None or not lo <= number <= hi):
                outside.append('%s on %s (%s %s)' % (entry['iface'], node, entry['userid'], entry['alias']))
    if not outside:
        return []
    return ['stand.bridge_range [%d, %d]: %s of this stand %s outside it and %s kept as %s (moving a bridge would '
            're-plug the running VMs); only new bridges take numbers in the range. Destroy and deploy the stand '
            'to renumber: %s' % (lo, hi, _count_of(len(outside), 'bridges'), 'is' if len(outside) == 1 else 'are',
                                 'is' if len(outside) == 1 else 'are', 'it is' if len(outside) == 1 else 'they are',
                                 ', '.join(outside))]


# Disk formats each storage type can hold (pve-storage src/PVE/Storage/*Plugin.pm plugindata `format`; a
# type without one holds raw only, Plugin.pm get_formats). lvm holds qcow2 only with the storage option
# snapshot-as-volume-chain, which /cluster/resources does not show: lvm is not judged for qcow2.
STORAGE_FORMATS = {
    'dir': ('raw', 'qcow2', 'vmdk'), 'nfs': ('raw', 'qcow2', 'vmdk'), 'cifs': ('raw', 'qcow2', 'vmdk'),
    'btrfs': ('raw',), 'zfspool': ('raw',), 'lvm': ('raw', 'qcow2'), 'lvmthin': ('raw',), 'rbd': ('raw',),
    'iscsi': ('raw',), 'iscsidirect': ('raw',), 'zfs': ('raw',),
}


def _storage_on(cluster, node, storage):
    """The storage's facts on a node (None: not enabled there, or not visible to the caller)."""
    return ((cluster.get('storages') or {}).get(node) or {}).get(storage)


def _storage_nodes(cluster, storage):
    return sorted(n for n, stores in (cluster.get('storages') or {}).items() if storage in (stores or {}))


def _storage_problem(cluster, storage, fmt, source, target):
    """Why a full clone to `storage` from a template on `source` (to `target`, or None for the same
    node) would fail or silently differ, as PVE's clone checks it (qemu-server API2/Qemu.pm clone_vm):
    the storage must be enabled on the source node and take VM images; with a target, be enabled
    there too and be shared. A format the storage type cannot hold falls back to raw there without
    an error (pve-storage resolve_format_hint), so it is refused here."""
    enabled = _storage_nodes(cluster, storage)
    if not enabled:
        known = sorted(set(s for stores in (cluster.get('storages') or {}).values() for s in (stores or {})))
        close = difflib.get_close_matches(storage, known, n=1, cutoff=0.6)
        hint = " (did you mean '%s'?)" % close[0] if close else ' (storages: %s)' % ', '.join(known)
        invisible = _invisible(cluster, 'Datastore.Audit', '/storage/%s' % storage, 'storage %r' % storage,
                               'storages')
        if invisible:
            return invisible
        return 'storage %r does not exist%s' % (storage, hint)
    problems = []
    for node in [source] + ([target] if target else []):
        if _storage_on(cluster, node, storage) is None:
            problems.append('storage %r is not available on node %s (it is enabled on %s)'
                            % (storage, node, ', '.join(enabled)))
    info = _storage_on(cluster, source, storage) or _storage_on(cluster, enabled[0], storage)
    content = info.get('content')
    if content is not None and 'images' not in content:
        problems.append("storage %r does not take VM disks (content: %s; PVE needs 'images')"
                        % (storage, ','.join(content) or 'none'))
    if target and not info.get('shared'):
        problems.append('storage %r is not shared, so a clone from node %s cannot put disks there for node %s'
                        % (storage, source, target))
    kind = info.get('plugintype')
    if fmt and kind in STORAGE_FORMATS and fmt not in STORAGE_FORMATS[kind]:
        problems.append('format %r: storage %r (%s) holds %s only; PVE would silently make %s disks'
                        % (fmt, storage, kind, ', '.join(STORAGE_FORMATS[kind]), STORAGE_FORMATS[kind][0]))
    return '; '.join(problems) or None


def full_clone_storage_problems(stand, planned, cluster):
    """Every full-clone storage problem of the planned machines, once per machine and problem (the
    nodes named), so a class of 30 on one node gives one line."""
    index = dict((m['name'], i) for i, m in enumerate(stand['machines']))
    found = []
    for student in planned:
        for machine in student['machines']:
            if not machine['full'] or not machine['storage'] or machine['vmid'] is not None:
                continue
            problem = _storage_problem(cluster, machine['storage'], machine['format'],
                                       machine['template_node'] or student['node'], machine['target'])
            if problem:
                i = index[machine['machine']]
                field = 'stand.machines[%d].storage' % i if stand['machines'][i].get('storage') else 'stand.storage'
                found.append('%s (machine %s, full clone): %s' % (field, machine['machine'], problem))
    return _unique(found)


# ---------------------------------------------------------------------------------------------
# Privileges this run needs (issue 13): checked against GET /access/permissions before any write
# ---------------------------------------------------------------------------------------------

POOL_AUDIT_ROLE = 'PVEPoolUser'   # what pve_stand_student grants besides stand.role (its pool_audit_role)
BRIDGE_ROLE = 'PVESDNUser'        # and on each private bridge (its bridge_role)
SDN_BRIDGE_PATH = '/sdn/zones/localnetwork/%s'
# The paths GET /access/permissions always computes (pve-access-control RPCEnvironment.pm
# get_effective_permissions): one of them missing from the dump holds no privilege.
PERMISSION_TOP_PATHS = ('/', '/access', '/access/groups', '/nodes', '/pool', '/sdn', '/storage', '/vms')
_NEW_VM_PATH = '/pool/<pool> (or /vms)'

# The one table of what deploy needs, when and why; docs/permissions.md shows it (a unit test keeps the
# two equal). privileges: any one of them is enough.
PRIVILEGE_TABLE = (
    {'key': 'node_audit', 'privileges': ('Sys.Audit',), 'path': '/nodes/<node>',
     'when': 'every node the class is placed on',
     'why': 'node memory for placement and the capacity check; the network step reads the bridges'},
    {'key': 'node_modify', 'privileges': ('Sys.Modify',), 'path': '/nodes/<node>',
     'when': 'a node that gets new private bridges', 'why': 'create the bridges and apply the node network config'},
    {'key': 'bridge_audit', 'privileges': ('SDN.Audit',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': 'every private bridge of the class',
     'why': "see the stand's bridges in the node's bridge list (PVE leaves out the others, which would be made twice)"},
    {'key': 'bridge_use', 'privileges': ('SDN.Use',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': 'every bridge a new VM is cloned from (the template NICs) or attached to',
     'why': 'PVE checks it at the clone and on every NIC set'},
    {'key': 'template_audit', 'privileges': ('VM.Audit',), 'path': '/vms/<template>',
     'when': 'every template a new VM is cloned from',
     'why': 'see the template (PVE lists only the VMs the caller may audit) and read its disks'},
    {'key': 'template_clone', 'privileges': ('VM.Clone',), 'path': '/vms/<template>',
     'when': 'every template a new VM is cloned from', 'why': 'clone it'},
    {'key': 'vm_allocate', 'privileges': ('VM.Allocate',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'create the clones in the pool'},
    {'key': 'vm_network', 'privileges': ('VM.Config.Network',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'set the NICs of the new VMs'},
    {'key': 'vm_options', 'privileges': ('VM.Config.Options',), 'path': _NEW_VM_PATH,
     'when': 'a student pool that gets new VMs', 'why': 'tags (the ownership marker) and description of the new VMs'},
    {'key': 'vm_audit', 'privileges': ('VM.Audit',), 'path': '/vms/<vmid>; new VMs: ' + _NEW_VM_PATH,
     'when': 'every VM of the class', 'why': 'read its config and status'},
    {'key': 'vm_power', 'privileges': ('VM.PowerMgmt',), 'path': '/vms/<vmid>; new VMs: ' + _NEW_VM_PATH,
     'when': '`start: true`, for the new and the stopped VMs', 'why': 'start them'},
    {'key': 'storage_space', 'privileges': ('Datastore.AllocateSpace',), 'path': '/storage/<storage>',
     'when': "every storage new disks go to (the template's disks for a linked clone, `storage` for a full one)",
     'why': 'allocate the disks'},
    {'key': 'storage_audit', 'privileges': ('Datastore.Audit',), 'path': '/storage/<storage>',
     'when': 'every storage new disks go to',
     'why': 'see the storage in the cluster resources (shared or not, content, nodes)'},
    {'key': 'pool_audit', 'privileges': ('Pool.Audit',), 'path': '/pool/<pool>',
     'when': 'every student pool', 'why': 'read the pool, and the pool of each VM (ownership is pool + name + tag)'},
    {'key': 'pool_allocate', 'privileges': ('Pool.Allocate',), 'path': '/pool/<pool>',
     'when': 'a student pool the run creates', 'why': 'create the pool'},
    {'key': 'pool_grant', 'privileges': ('Permissions.Modify',), 'path': '/pool/<pool>',
     'when': "a student pool without the student's grants yet",
     'why': 'grant the student its role (stand.role) and %s on its pool' % POOL_AUDIT_ROLE},
    {'key': 'bridge_grant', 'privileges': ('Permissions.Modify',), 'path': '/sdn/zones/localnetwork/<bridge>',
     'when': "a private bridge without the student's grant yet", 'why': 'grant the student %s on it' % BRIDGE_ROLE},
    {'key': 'grant_read', 'privileges': ('Permissions.Modify', 'Sys.Audit'),
     'path': '/pool/<pool>, /sdn/zones/localnetwork/<bridge>', 'when': 'every student pool and private bridge',
     'why': "read the student's grants back (GET /access/acl shows only the entries on such paths)"},
    {'key': 'user_read', 'privileges': ('User.Modify', 'Sys.Audit'), 'path': '/access/groups',
     'when': 'every run', 'why': 'see the users (the user list and each student user)'},
    {'key': 'user_create', 'privileges': ('Realm.AllocateUser',), 'path': '/access/realm/<realm>',
     'when': 'a student user the run creates', 'why': 'create the user'},
    {'key': 'user_modify', 'privileges': ('User.Modify',), 'path': '/access/groups',
     'when': 'a student user the run creates', 'why': 'create the user (in no group)'},
)
_PRIVILEGE_ROWS = dict((row['key'], row) for row in PRIVILEGE_TABLE)


def privilege_table_markdown():
    """PRIVILEGE_TABLE as the Markdown table docs/permissions.md shows."""
    lines = ['| privilege | path | needed for | why |', '|---|---|---|---|']
    for row in PRIVILEGE_TABLE:
        privileges = ' or '.join('`%s`' % p for p in row['privileges'])
        lines.append('| %s | `%s` | %s | %s |' % (privileges, row['path'], row['when'], row['why']))
    return '\n'.join(lines)


def _ancestors(path):
    """'/pool/a/b' -> ['/pool/a', '/pool', '/'] (nearest first)."""
    parts = [p for p in path.split('/') if p]
    return ['/' + '/'.join(parts[:i]) if i else '/' for i in range(len(parts) - 1, -1, -1)]


def held_privileges(permissions, path):
    """The privileges the caller holds on `path`, from a GET /access/permissions answer ({path: {priv:
    propagate}}). A path the answer lists is exact. Another one holds what the nearest listed ancestor
    propagates (RPCEnvironment/AccessControl.pm roles(): a level whose roles do not propagate passes on
    what is above it); a top-level path the answer leaves out holds nothing, and passes nothing on."""
    if path in permissions:
        return set(permissions[path] or {})
    if path in PERMISSION_TOP_PATHS:
        return set()
    for ancestor in _ancestors(path):
        if ancestor in permissions:
            propagated = set(p for p, flag in (permissions[ancestor] or {}).items() if _as_int(flag) or flag is True)
            if propagated:
                return propagated
        elif ancestor in PERMISSION_TOP_PATHS:
            return set()
    return set()


def _caller_lacks(cluster, privilege, path):
    """The identity when the preflight knows it lacks `privilege` on `path`, else None."""
    permissions = cluster.get('permissions')
    if permissions is None or privilege in held_privileges(permissions, path):
        return None
    return cluster.get('identity') or 'the caller'


def _need(key, paths, shown=None):
    return {'key': key, 'paths': tuple(paths), 'shown': shown or paths[0]}


def _has_grant(cluster, userid, path, roles):
    """The visible ACL entries give the student every one of `roles` on path."""
    held = set(e.get('roleid') for e in cluster.get('acl') or ()
               if e.get('path') == path and e.get('ugid') == userid and e.get('type', 'user') == 'user')
    return cluster.get('acl') is not None and set(roles) <= held


def _student_needs(stand, student, cluster):
    pool = '/pool/%s' % student['pool']
    needs = [_need('pool_audit', [pool]), _need('grant_read', [pool])]
    if not student['pool_exists']:
        needs.append(_need('pool_allocate', [pool]))
    if not _has_grant(cluster, student['userid'], pool, (stand['role'], POOL_AUDIT_ROLE)):
        needs.append(_need('pool_grant', [pool]))
    if not student['user_exists']:
        needs += [_need('user_create', ['/access/realm/%s' % student['realm']]), _need('user_modify', ['/access/groups'])]
    for bridge in student['bridges']:
        path = SDN_BRIDGE_PATH % bridge.get('iface')
        needs += [_need('bridge_audit', [path]), _need('grant_read', [path])]
        if not _has_grant(cluster, student['userid'], path, (BRIDGE_ROLE,)):
            needs.append(_need('bridge_grant', [path]))
    for machine in student['machines']:
        needs += _machine_needs(stand, student, machine, cluster, pool)
    return needs


def _machine_needs(stand, student, machine, cluster, pool):
    if machine['vmid'] is not None:
        vm = _vm_by_id(cluster, machine['vmid']) or {}
        path = '/vms/%s' % machine['vmid']
        needs = [_need('vm_audit', [path])]
        if stand['start'] and vm.get('status') != 'running':
            needs.append(_need('vm_power', [path]))
        return needs
    if machine['template_vmid'] is None:
        return []
    new_vm = [pool, '/vms/%s' % machine['preferred_vmid']]
    keys = ['vm_allocate', 'vm_network', 'vm_options', 'vm_audit'] + (['vm_power'] if stand['start'] else [])
    needs = [_need(key, new_vm) for key in keys]
    template = '/vms/%s' % machine['template_vmid']
    needs += [_need('template_audit', [template]), _need('template_clone', [template])]
    bridges = [n['bridge'] for n in machine['networks'] if n.get('bridge')]
    bridges += _template_bridges(cluster, machine['template_vmid'])
    needs += [_need('bridge_use', [SDN_BRIDGE_PATH % b]) for b in bridges]
    storages = [machine['storage']] if machine['full'] and machine['storage'] else \
        (_template_storages(cluster, machine['template_vmid']) or [])
    for storage in storages:
        needs += [_need('storage_space', ['/storage/%s' % storage]), _need('storage_audit', ['/storage/%s' % storage])]
    return needs


def _template_bridges(cluster, vmid):
    found = cluster.get('template_bridges') or {}
    return list(found.get(vmid, found.get(str(vmid))) or [])


def privilege_needs(stand, planned, node_bridges, cluster):
    """Every (privilege row, paths) this run needs, from the plan: users, pools, grants, bridges, clones."""
    needs = [_need('user_read', ['/access/groups'])]
    for node in sorted(set(s['node'] for s in planned)):
        needs.append(_need('node_audit', ['/nodes/%s' % node]))
    for node in sorted(node_bridges):
        if any(not entry['exists'] for entry in node_bridges[node]):
            needs.append(_need('node_modify', ['/nodes/%s' % node]))
    for student in planned:
        needs += _student_needs(stand, student, cluster)
    return needs


def missing_privileges(needs, cluster):
    """The needs the caller's permissions do not cover (none when the caller is root@pam)."""
    permissions = cluster.get('permissions')
    if permissions is None:
        return []
    missing = []
    for need in needs:
        privileges = _PRIVILEGE_ROWS[need['key']]['privileges']
        if not any(set(privileges) & held_privileges(permissions, path) for path in need['paths']):
            missing.append(need)
    return missing


def privilege_errors(missing, cluster):
    """One line per privilege and reason, with every path it is missing on."""
    groups = []
    for need in missing:
        row = _PRIVILEGE_ROWS[need['key']]
        key = (row['privileges'], row['why'])
        for group in groups:
            if group[0] == key:
                break
        else:
            group = (key, [])
            groups.append(group)
        if need['shown'] not in group[1]:
            group[1].append(need['shown'])
    who = cluster.get('identity') or 'the caller'
    return ['permissions: %s lacks %s on %s (%s)' % (who, ' or '.join(privileges), ', '.join(paths), why)
            for (privileges, why), paths in groups]


def unlisted_paths(missing, cluster):
    """Paths of missing needs that the permissions answer does not list (judged by inheritance): the
    module asks PVE for each of them before it refuses, so a refusal never rests on a guess."""
    permissions = cluster.get('permissions') or {}
    return sorted(set(path for need in missing for path in need['paths']
                      if path not in permissions and path not in PERMISSION_TOP_PATHS))


def _foreign_pool_of(stand_name, student, cluster):
    """The pool with this student's pool id when it exists without the student's marker, else None."""
    pool = pool_id(stand_name, student['userid'])
    info = (cluster.get('pools') or {}).get(pool)
    if info is None or owns(info.get('comment'), pool_marker(stand_name, student['userid'])):
        return None
    return {'userid': student['userid'], 'pool': pool, 'comment': info.get('comment') or ''}


def skip_students_with_foreign_pools(stand_name, students, cluster):
    """(students to deploy, skipped): a student whose pool id is taken by a pool the stand did not make
    cannot be deployed (its VMs would go into somebody else's pool), so it gets nothing at all - no
    user, no bridges, no VMs - and the rest of the class converges. skipped: [{userid, pool, comment,
    reason, message}]."""
    kept, skipped = [], []
    for student in students:
        foreign = _foreign_pool_of(stand_name, student, cluster)
        if foreign is None:
            kept.append(student)
            continue
        marker = pool_marker(stand_name, student['userid'])
        foreign['reason'] = ('pool %s exists without the marker %s (comment: %r): not touched; rename or remove '
                             'that pool to deploy this student' % (foreign['pool'], marker, foreign['comment']))
        foreign['message'] = '%s is skipped (no user, bridges or VMs are made for it): %s' % (
            student['userid'], foreign['reason'])
        skipped.append(foreign)
    return kept, skipped


def _skipped_foreign(skipped, cluster):
    """The foreign pools of skipped students and the VMs in them: never touched, reported."""
    out = []
    for entry in skipped:
        out.append('pool %s exists without the stand marker (comment: %r); not touched' % (entry['pool'], entry['comment']))
        out.extend('VM %s (%s) is in pool %s, which the stand did not make; not touched'
                   % (vm['vmid'], vm.get('name'), entry['pool'])
                   for vm in sorted(_vms(cluster), key=lambda v: int(v['vmid'])) if vm.get('pool') == entry['pool'])
    return out


def _derive_plan(stand, students, cluster, missing_out=None):
    """Placement, templates, bridges and VMIDs -> (plan, errors); plan is None on errors.

    missing_out, a list, receives the privilege needs the caller's permissions do not cover."""
    students, skipped = skip_students_with_foreign_pools(stand['name'], students, cluster)
    try:
        placement = place_students(stand, students, cluster)
    except StandError as exc:
        return None, ['placement: %s' % exc]
    errors = []
    for student in students:
        node = placement[student['userid']]
        if _node_problem(cluster, node):
            errors.append("%s: its stand's VMs are on node %s: %s"
                          % (_user_label(student), node, _node_problem(cluster, node)))
    capacity_errors, capacity_warnings = capacity_problems(stand, students, placement, cluster)
    nodes_used = sorted(set(placement.values()))
    classes, bridge_errors = _classify_all_bridges(stand, nodes_used, cluster)
    errors += bridge_errors
    if errors:
        return None, errors
    foreign = []
    planned = [_plan_student(stand, s, placement[s['userid']], classes, cluster, errors, foreign)
               for s in students]
    errors += full_clone_storage_problems(stand, planned, cluster)
    errors += capacity_errors
    node_bridges = _allocate_node_bridges(stand, planned, cluster, errors)
    _assign_preferred_vmids(stand, planned, cluster, errors)
    missing = missing_privileges(privilege_needs(stand, planned, node_bridges, cluster), cluster)
    if missing_out is not None:
        missing_out.extend(missing)
    errors += privilege_errors(missing, cluster)
    if errors:
        return None, _unique(errors)
    stale = _stale_bridges(stand, planned, node_bridges, cluster)
    stale_warnings = []
    _fill_stale(stand, planned, stale, cluster, stale_warnings)
    plan = {
        'stand': stand['name'], 'tags': [MANAGED_TAG, stand_tag(stand['name'])],
        'role': stand['role'], 'start': stand['start'],
        'vmid_range': list(stand['vmid_range']), 'bridge_range': list(stand['bridge_range']),
        'management_bridge': stand['management_bridge'], 'memory_overcommit': stand['memory_overcommit'],
        'students': planned, 'nodes': node_bridges, 'stale_bridges': stale,
        'foreign': _unique(_skipped_foreign(skipped, cluster) + foreign + _same_name_elsewhere(stand, students, cluster)
                           + _unmarked_bridges(stand, sorted(node_bridges), cluster)
                           + _foreign_vms_in_vmid_range(stand, cluster)),
        'warnings': _placement_warnings(stand, students, placement, cluster) + stale_warnings,
        'class_changes': class_changes(stand['name'], students, cluster),
        'skipped': skipped,
    }
    plan['foreign_summary'] = summarize_foreign(stand['name'], plan['foreign'], cluster)
    plan['warnings'] += [entry['message'] for entry in skipped]
    plan['warnings'] += _bridges_outside_range(stand, node_bridges)
    plan['warnings'] += capacity_warnings
    plan['warnings'] += _class_change_warnings(stand['name'], plan['class_changes'], cluster)
    return plan, []


def privilege_paths_to_verify(stand_raw, users_raw, cluster):
    """The paths the preflight judged by inheritance and found a privilege missing on (and the paths of
    templates given by VMID): the module reads each exactly before it refuses."""
    stand, _errors = normalize_stand(stand_raw)
    students, _user_errors = normalize_users(users_raw)
    if stand is None or not students or cluster.get('permissions') is None:
        return []
    missing = []
    try:
        _derive_plan(stand, students, cluster, missing)
    except StandError:          # a name validation refuses anyway; nothing to verify
        return []
    templates = [{'paths': ('/vms/%s' % m['template_vmid'],)} for m in stand['machines'] if m.get('template_vmid')]
    return unlisted_paths(missing + templates, cluster)


def build_plan(stand_raw, users_raw, cluster):
    """Validate everything and plan the deploy -> (plan, errors).

    errors lists every problem found; plan is None whenever errors is not empty."""
    stand, stand_errors = normalize_stand(stand_raw)
    students, user_errors = normalize_users(users_raw)
    errors = stand_errors + user_errors
    if stand is None:
        # still report what can be checked without a valid stand
        errors += _check_nodes(None, students, cluster)
        return None, _unique(errors)
    errors += validate_against_cluster(stand, students, cluster)
    if errors or not students:
        return None, _unique(errors)
    plan, derive_errors = _derive_plan(stand, students, cluster)
    if derive_errors:
        return None, derive_errors
    return plan, []


# ---------------------------------------------------------------------------------------------
# Removal plan (destroy_stand.yml)
# ---------------------------------------------------------------------------------------------

def _owned_bridges_by_node(stand_name, userids, cluster):
    """{node: [{'userid', 'alias', 'marker', 'iface', 'exists'}]} for bridges whose marker says
    they belong to this stand and one of these students."""
    nodes = {}
    for node in sorted(cluster.get('bridges') or {}):
        for iface, comments in sorted(_bridge_comments(cluster, node).items()):
            for token in _marker_tokens(comments):
                marker = parse_marker(token)
                if (marker and marker['stand'] == stand_name and marker['userid'] in userids
                        and marker['alias']):
                    nodes.setdefault(node, []).append({
                        'userid': marker['userid'], 'alias': marker['alias'], 'marker': token,
                        'iface': iface, 'exists': True})
    return nodes


def _removal_student(stand, student, cluster, foreign, warnings):
    name = stand['name']
    pool = pool_id(name, student['userid'])
    tag = stand_tag(name)
    owned = list(_stand_vms_of(stand, student, cluster))
    pool_info = (cluster.get('pools') or {}).get(pool)
    pool_owned = pool_info is not None and owns(pool_info.get('comment'), pool_marker(name, student['userid']))
    # A VM of a stand machine's name in the pool without the tag may be a clone an interrupted deploy
    # made and never tagged: the removal step removes it only if its notes carry the pending marker.
    names = set(vm_name(student['userid'], m['name']) for m in stand['machines']
                if not vm_name_problem(student['userid'], m['name']))
    own_vms = []
    for vm in _vms(cluster):
        if vm.get('pool') != pool or tag in _vm_tags(vm):
            continue
        if vm.get('name') in names:
            owned.append(vm)
            foreign.append('VM %s (%s) in pool %s has no tag %s; removed only if an interrupted deploy '
                           'of this stand cloned it (its notes say so)' % (vm['vmid'], vm.get('name'), pool, tag))
        elif pool_owned and not _other_stand_vm(vm, name):
            # made by the student in the stand's own pool: part of the lab, gone with it unless kept
            own_vms.append(vm)
        else:
            foreign.append('VM %s (%s) in pool %s has no tag %s; not removed'
                           % (vm['vmid'], vm.get('name'), pool, tag))
    owned.sort(key=lambda vm: int(vm['vmid']))
    own_vms.sort(key=lambda vm: int(vm['vmid']))
    if pool_info is not None and not pool_owned:
        foreign.append('pool %s exists without the stand marker (comment: %r); not removed'
                       % (pool, pool_info.get('comment') or ''))
    for node in sorted(set(vm.get('node') for vm in owned + own_vms)):
        problem = _node_problem(cluster, node)
        if problem:
            warnings.append('%s: VMs on node %s cannot be removed now: %s'
                            % (_user_label(student), node, problem))
    user_info = (cluster.get('users') or {}).get(student['userid'])
    return {
        'userid': student['userid'], 'name': student['name'], 'realm': student['realm'],
        'password': None, 'node': current_node(stand, student, cluster),
        'pool': pool, 'pool_comment': pool_marker(name, student['userid']),
        'pool_exists': pool_info is not None,
        'user_comment': user_marker(name), 'user_exists': user_info is not None,
        'user_owned': bool(user_info is not None and owns(user_info.get('comment'), user_marker(name))),
        'bridges': [],
        'machines': [{'name': vm.get('name'), 'vmid': int(vm['vmid']), 'node': vm.get('node'),
                      'device_type': 'ecorouter' if 'ecorouter' in _vm_tags(vm) else 'linux'}
                     for vm in owned],
        'own_vms': [{'name': vm.get('name'), 'vmid': int(vm['vmid']), 'node': vm.get('node')} for vm in own_vms],
    }


def _other_stand_vm(vm, stand_name):
    """A VM carrying another stand's tag: that stand's, never this one's to remove."""
    return any(t.startswith('stand-') and t != stand_tag(stand_name) for t in _vm_tags(vm))


def plan_removal(stand_raw, users_raw, cluster):
    """What destroy removes for these students -> (plan, errors); plan is None on errors.

    Same shape as build_plan's plan, but built from what the stand owns in the cluster, not from
    the machine list: every VM in the student's pool tagged stand-<stand> (machines since
    removed from the stand too), and every bridge whose marker names the stand and the student.
    Templates, ranges and placement are not checked: a removal needs none of them. Each
    machine carries its own `node` (where the VM is now)."""
    stand, errors = normalize_stand(stand_raw)
    students, user_errors = normalize_users(users_raw)
    errors = errors + user_errors
    if errors:
        return None, _unique(errors)
    foreign, warnings = [], []
    planned = [_removal_student(stand, s, cluster, foreign, warnings) for s in students]
    nodes = _owned_bridges_by_node(stand['name'], set(s['userid'] for s in students), cluster)
    for student in planned:
        student['bridges'] = [{'alias': b['alias'], 'marker': b['marker'], 'iface': b['iface']}
                              for node in sorted(nodes) for b in nodes[node]
                              if b['userid'] == student['userid']]
    plan = {
        'stand': stand['name'], 'tags': [MANAGED_TAG, stand_tag(stand['name'])],
        'role': stand['role'], 'start': stand['start'],
        'vmid_range': list(stand['vmid_range']), 'bridge_range': list(stand['bridge_range']),
        'management_bridge': stand['management_bridge'],
        'students': planned, 'nodes': nodes,
        'foreign': _unique(foreign + _same_name_elsewhere(stand, students, cluster)
                           + _unmarked_bridges(stand, sorted(cluster.get('bridges') or {}), cluster)),
        'warnings': warnings,
    }
    plan['foreign_summary'] = summarize_foreign(stand['name'], plan['foreign'], cluster)
    return plan, []
