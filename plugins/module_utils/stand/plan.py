# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The deploy plan: ``build_plan`` turns the input and the cluster facts into one entry per student
(node, pool, bridges, VMIDs, machines), with the errors, warnings and foreign objects found.

Pure: standard library only. See docs/stand-model.md.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.allocation import (
    _count_free_vmids, _used_vmids, assign_vmids,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.bridges import (
    _bridge_comments, _bridge_invisible, _bridge_sort_key, _classify_bridge, _same_name_elsewhere,
    _unmarked_bridges, allocate_bridges, bridge_share,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.checks import (
    _check_names, _check_nodes, _check_templates_exist, _check_users_exist, _foreign_vms_in_vmid_range,
    _node_problem, _user_label,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import (
    _node_bridges, _vm_tags, _vms,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import (
    _machine_is_full, _unique, normalize_stand, normalize_users,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    ECOROUTER, MANAGED_TAG, _marker_tokens, bridge_marker, owns, parse_marker, pool_id, pool_marker, stand_tag,
    user_marker, vm_name,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.placement import (
    capacity_problems, place_students, resolve_template,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan_notes import (
    _bridges_outside_range, _class_change_warnings, class_changes, summarize_foreign,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.privileges import (
    _skipped_foreign, ha_needs, missing_privileges, privilege_errors, privilege_needs,
    skip_students_with_foreign_pools, unlisted_paths,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.storage import (
    full_clone_storage_problems,
)

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as expirylib
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import ha as halib
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import sdn as sdnlib

__metaclass__ = type


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


def _existing_vm(cluster, pool, name, tag):
    found = [vm for vm in _vms(cluster)
             if vm.get('pool') == pool and vm.get('name') == name and tag in _vm_tags(vm)]
    return min(found, key=lambda vm: int(vm['vmid'])) if found else None


def _look_alike_vms(cluster, pool, name, tag):
    return [vm for vm in _vms(cluster)
            if vm.get('pool') == pool and vm.get('name') == name and tag not in _vm_tags(vm)]


def _plan_networks(stand, machine, classes):
    networks = []
    if machine['device_type'] == ECOROUTER:
        # EcoRouter's management port: net0 on the management bridge, link down (docs/stand-model.md 6)
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
    if existing is not None and existing.get('node') != node and not sdnlib.is_sdn(stand):
        # node bridges are per node: the student's private networks exist on its node only (a stand that was
        # spread over nodes in mode sdn, or a VM an admin migrated, would get a NIC on a bridge that is not there)
        errors.append('%s: %s (VM %s) is on node %s, but with stand.network mode bridges all of the student\'s '
                      'machines share the private bridges of its node %s: migrate the VM to %s (or destroy the '
                      'student\'s stand) and run again; nothing was changed'
                      % (_user_label(student), name, existing['vmid'], existing.get('node'), node, node))
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
        'start_order': machine.get('start_order') or 0,
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
    if any(m['device_type'] == ECOROUTER for m in stand['machines']):
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


def _derive_plan(stand, students, cluster, missing_out=None, capacity=True, extra_needs=None):
    """Placement, templates, bridges and VMIDs -> (plan, errors); plan is None on errors.

    missing_out, a list, receives the privilege needs the caller's permissions do not cover. capacity=False
    leaves the memory check out (a reset creates nothing new: stand/lifecycle_plan.py); extra_needs(planned,
    needs) adds that run's own privilege needs."""
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
    sdn = sdnlib.plan_sdn(stand, planned, cluster, errors)     # None in bridges mode
    ha = halib.plan_ha(stand, planned, cluster, errors)        # None without stand.ha / machines[].ha
    errors += full_clone_storage_problems(stand, planned, cluster)
    # a multi-node zone places machine by machine (stand/sdn.py judges each machine's memory); else per student
    errors += capacity_errors if capacity and not (sdn and sdn.get('spread')) else []
    node_bridges = {} if sdnlib.is_sdn(stand) else _allocate_node_bridges(stand, planned, cluster, errors)
    _assign_preferred_vmids(stand, planned, cluster, errors)
    needs = sdnlib.adjust_needs(privilege_needs(stand, planned, node_bridges, cluster), sdn)
    if extra_needs is not None:
        needs = extra_needs(planned, needs)
    else:
        # deploy only: the day-2 plans (extra_needs) never write HA config
        needs += ha_needs(ha)
    missing = missing_privileges(needs, cluster)
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
        'baseline': stand.get('baseline'),
        'students': planned, 'nodes': node_bridges, 'stale_bridges': stale,
        'foreign': _unique(_skipped_foreign(skipped, cluster) + foreign + _same_name_elsewhere(stand, students, cluster)
                           + _unmarked_bridges(stand, sorted(node_bridges), cluster)
                           + _foreign_vms_in_vmid_range(stand, cluster)),
        'warnings': _placement_warnings(stand, students, placement, cluster) + stale_warnings,
        'class_changes': class_changes(stand['name'], students, cluster),
        'skipped': skipped,
        'network_mode': stand['network']['mode'], 'sdn': sdn, 'ha': ha,
    }
    plan['foreign_summary'] = summarize_foreign(stand['name'], plan['foreign'], cluster)
    ending, ending_warnings = expirylib.plan_expiry(stand.get('expires'), _own_pool_comments(stand['name'], cluster))
    plan.update(ending)
    plan['warnings'] += ending_warnings
    plan['warnings'] += [entry['message'] for entry in skipped]
    plan['warnings'] += _bridges_outside_range(stand, node_bridges)
    plan['warnings'] += capacity_warnings if capacity else []
    plan['warnings'] += _class_change_warnings(stand['name'], plan['class_changes'], cluster)
    return plan, []


def _own_pool_comments(stand_name, cluster):
    """The comments of the stand's student pools (the pools whose comment owns its pool marker)."""
    out = []
    for pool, info in sorted((cluster.get('pools') or {}).items()):
        marker = parse_marker((info or {}).get('comment'))
        if marker and marker['stand'] == stand_name and marker['userid'] and not marker['alias'] \
                and owns(info.get('comment'), pool_marker(stand_name, marker['userid'])):
            out.append(info.get('comment'))
    return out


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


def build_plan(stand_raw, users_raw, cluster, capacity=True, extra_needs=None):
    """Validate everything and plan the deploy -> (plan, errors).

    errors lists every problem found; plan is None whenever errors is not empty. capacity and extra_needs:
    see _derive_plan (the reset plan of stand/lifecycle_plan.py uses them)."""
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
    plan, derive_errors = _derive_plan(stand, students, cluster, capacity=capacity, extra_needs=extra_needs)
    if derive_errors:
        return None, derive_errors
    return plan, []
