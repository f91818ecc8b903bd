# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Template resolution and the placement of students on nodes (clone work per lock domain, memory,
overcommit, capacity).

Pure: standard library only, works on the cluster facts.
"""
from __future__ import absolute_import, division, print_function

from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.facts import (
    _node_info, _online_nodes, _storage_is_shared, _template_storages, _templates_named, _vm_by_id,
    _vm_tags, _vms,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import _count_of, _machine_is_full
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    pool_id, stand_tag, vm_name, vm_name_problem,
)

__metaclass__ = type


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


def _lock_domain(cluster, node, storage):
    """PVE allocates and clones a disk under its storage's lock (pve-storage `PVE::Storage::vdisk_alloc`
    and `vdisk_clone` take `PVE::Storage::Plugin::cluster_lock_storage`): one cluster-wide lock for a
    shared storage, one per node for a local one (docs/performance.md)."""
    return ('shared', storage) if _storage_is_shared(cluster, node, storage) else (node, storage)


def clone_work(stand, student, node, cluster):
    """{lock domain: new disks} the student's machines still to clone would add with the stand on `node`.

    A linked clone's disks go where its template's are (on the template's node); a full clone's to the
    stand's storage on `node` when one is given, else the template's. Machines whose template does not
    resolve on the node add nothing (the plan refuses them with its own message)."""
    existing = set(vm.get('name') for vm in _stand_vms_of(stand, student, cluster))
    work = {}
    for machine in stand['machines']:
        if not vm_name_problem(student['userid'], machine['name']) \
                and vm_name(student['userid'], machine['name']) in existing:
            continue
        try:
            vmid, source_node, _target = resolve_template(machine, node, cluster)
        except StandError:
            continue
        full = _machine_is_full(stand, machine)
        storage = (machine.get('storage') or stand.get('storage')) if full else None
        if storage:
            domains = [_lock_domain(cluster, node, storage)]
        else:
            domains = [_lock_domain(cluster, source_node, s) for s in (_template_storages(cluster, vmid) or [])]
        for domain in domains:
            work[domain] = work.get(domain, 0) + 1
    return work


def _add_work(placed_work, work):
    for domain, disks in work.items():
        placed_work[domain] = placed_work.get(domain, 0) + disks


def _best_node(stand, cluster, hosts, placed_memory, placed_work, student, need):
    """Among the hosts with room for `need` (all hosts when none has: the capacity check then refuses
    with the numbers), the one where the student's clones wait least: the fewest disks already placed in
    the busiest lock domain the student's new disks would join; ties by the most free memory, then name.

    Clones behind one storage lock run one at a time, so spreading the disks over the lock domains, not
    the memory alone, is what shortens the deploy; with every template on one shared storage all nodes
    tie and memory decides, as before."""
    def waits(n):
        work = clone_work(stand, student, n, cluster)
        return max([placed_work.get(d, 0) + w for d, w in work.items()] or [0])
    fitting = [n for n in hosts if _room(stand, cluster, n, placed_memory) >= need] or hosts
    return min(fitting, key=lambda n: (waits(n), -_free_memory(cluster, n, placed_memory), n))


def place_students(stand, students, cluster):
    """{userid: node} for every student.

    Order of rules: keep a stand where its VMs already are; else the student's `node` pin; else
    `stand.node`; else, among the online nodes (that can host the templates) with room for the
    student's stand after what this run already placed, the one whose storage locks have the fewest
    clones queued (ties by the most free memory, then node name). Pins and kept stands are counted
    before balancing. Raises StandError when a balanced student has no node to go to."""
    placed_memory, placed_work = {}, {}
    placement = {}
    balanced = []
    for student in students:
        kept = current_node(stand, student, cluster)
        node = kept or student.get('node') or stand.get('node')
        if node:
            placement[student['userid']] = node
            placed_memory[node] = placed_memory.get(node, 0) + student_memory_need(stand, student, cluster)
            _add_work(placed_work, clone_work(stand, student, node, cluster))
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
        best = _best_node(stand, cluster, hosts, placed_memory, placed_work, student, need)
        placement[student['userid']] = best
        placed_memory[best] = placed_memory.get(best, 0) + need
        _add_work(placed_work, clone_work(stand, student, best, cluster))
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
