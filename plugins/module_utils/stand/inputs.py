# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Normalisation of the deploy input (``users``, ``stand``): defaults filled in, every problem a message
that starts with the user's own field (``users[3]: ...``, ``stand.machines[0].networks[1].bridge: ...``).

Pure: standard library only. Bad input never raises here; it comes back as a list of messages.
"""
from __future__ import absolute_import, division, print_function

import difflib

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.formats import (
    BRIDGE_ID_RE, _as_bool, _as_int,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    BRIDGE_NUMBER_MAX, CLONE_MODES, DEFAULT_BRIDGE_RANGE, DEFAULT_MANAGEMENT_BRIDGE, DEFAULT_ROLE,
    DEFAULT_VMID_RANGE, DEVICE_TYPES, DISK_FORMATS, ECOROUTER, LINUX, MACHINE_KEYS, MACHINE_NAME_RE, MAX_NICS,
    NETWORK_KEYS,
    NODE_RE, OVERCOMMIT_MAX, PASSWORD_LEN, REALM_RE, ROLE_RE, STAND_KEYS, STAND_NAME_MAX, STAND_NAME_RE,
    STORAGE_RE, USERID_LEN, USER_KEYS, USER_NAME_FORBIDDEN_RE, VMID_MAX, VMID_MIN, split_userid,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as expirylib
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.lifecycle_input import normalize_baseline, normalize_start_order
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.passwords import password_control_problem

__metaclass__ = type


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
    device_type = _choice_field(field, raw, 'device_type', DEVICE_TYPES, LINUX, errors)
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
    machine['start_order'] = normalize_start_order(raw.get('start_order'), errors, field)
    return machine


def _normalize_networks(field, raw, device_type, errors):
    nfield = field + '.networks'
    if raw is None:
        raw = []
    if not isinstance(raw, (list, tuple)):
        errors.append('%s: expected a list of {bridge: name}, got %s' % (nfield, _type_name(raw)))
        return []
    if device_type == LINUX and not raw:
        errors.append('%s: a linux machine needs at least one network' % nfield)
    total = len(raw) + (1 if device_type == ECOROUTER else 0)
    if total > MAX_NICS:
        extra = " (EcoRouter's management NIC net0 counts)" if device_type == ECOROUTER else ''
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


def _expires_field(raw, errors):
    value, problem = expirylib.normalize_expires(raw.get('expires'))
    if problem:
        errors.append('stand.expires: %s' % problem)
    return value


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
        'clone': _choice_field('stand', raw, 'clone', CLONE_MODES, DEFAULTS['clone'], errors),
        'vmid_range': _range_field('stand', raw, 'vmid_range', DEFAULT_VMID_RANGE,
                                   VMID_MIN, VMID_MAX, errors),
        'bridge_range': _range_field('stand', raw, 'bridge_range', DEFAULT_BRIDGE_RANGE,
                                     0, BRIDGE_NUMBER_MAX, errors),
        'start': _bool_field('stand', raw, 'start', DEFAULTS['start'], errors),
        'node': _string_field('stand', raw, 'node', NODE_RE, 'a node name', errors),
        'role': _string_field('stand', raw, 'role', ROLE_RE, 'a PVE role id', errors, DEFAULT_ROLE),
        'management_bridge': _string_field('stand', raw, 'management_bridge', BRIDGE_ID_RE,
                                           'an existing bridge name', errors,
                                           DEFAULT_MANAGEMENT_BRIDGE),
        'storage': _string_field('stand', raw, 'storage', STORAGE_RE, 'a storage id', errors),
        'format': _choice_field('stand', raw, 'format', DISK_FORMATS, None, errors),
        'memory_overcommit': _ratio_field('stand', raw, 'memory_overcommit', DEFAULTS['memory_overcommit'], OVERCOMMIT_MAX, errors),
        'baseline': normalize_baseline(raw.get('baseline'), errors),
        'expires': _expires_field(raw, errors),
        'machines': _normalize_machines(raw.get('machines'), errors,
                                        'machines' in _misspelled(raw, STAND_KEYS)),
    }
    _check_full_clone_only_options(stand, errors)
    # stand.network and stand.ha (issue 17) build on this module's field readers: imported here, not at the top
    from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import ha, sdn
    stand['network'] = sdn.normalize_network(raw.get('network'), errors)
    ha.normalize_ha(raw, stand, errors)
    if errors:
        return None, _unique(errors)
    return stand, []


def _count_of(number, plural):
    return '%d %s' % (number, plural if number != 1 else plural[:-1])
