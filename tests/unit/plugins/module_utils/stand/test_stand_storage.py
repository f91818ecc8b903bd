"""Full-clone storage checked by the plan (issue 13 item 11), per node the student is placed on:
it exists, takes VM images, is enabled on the template's node (and on the target node, shared, for
a clone across nodes), and can hold the format asked for."""
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.plan import build_plan

from test_stand_support import linux_stand, make_cluster, make_stand, one_error


def store(shared=False, content=('images', 'rootdir'), plugintype='lvmthin', status='available'):
    return {'shared': shared, 'content': list(content), 'status': status, 'plugintype': plugintype}


def storages(**per_node):
    """Both nodes get local-lvm and nfs (shared, images); per_node adds more: pve1={'x': store()}."""
    out = {}
    for node in ('pve1', 'pve2'):
        out[node] = {'local-lvm': store(), 'nfs': store(shared=True, content=('images', 'iso'), plugintype='nfs')}
        out[node].update(per_node.get(node, {}))
    return out


def errors_for(stand, users=('s1@pve',), **per_node):
    _plan, errors = build_plan(stand, list(users), make_cluster(storages=storages(**per_node)))
    return errors


def full(storage, **overrides):
    return make_stand(clone='full', storage=storage, **overrides)


def test_a_storage_that_takes_images_on_the_node_is_accepted():
    assert errors_for(full('nfs', node='pve1')) == []
    assert errors_for(full('nfs', node='pve2')) == []       # alpine-tpl is cloned from pve1: nfs is shared


def test_a_storage_that_does_not_exist_is_refused_with_a_hint():
    message = one_error(errors_for(linux_stand(clone='full', storage='nsf', node='pve1'), users=('s1@pve', 's2@pve')))
    assert message == "stand.storage (machine host1, full clone): storage 'nsf' does not exist (did you mean 'nfs'?)"


def test_one_message_per_machine_and_problem_for_a_whole_class():
    errors = errors_for(full('nsf'), users=['s%d@pve' % n for n in range(10)])
    assert len(errors) == 2                                   # router and host1, not one per student
    assert [e.split(' (machine ')[1].split(',')[0] for e in errors] == ['router', 'host1']


def test_a_storage_without_images_content_is_refused():
    message = errors_for(full('backup', node='pve1'),
                         pve1={'backup': store(content=('backup', 'iso'), plugintype='dir')})[0]
    assert "storage 'backup' does not take VM disks (content: backup,iso; PVE needs 'images')" in message


def test_a_storage_not_enabled_on_the_node_is_refused_naming_where_it_is():
    stand = linux_stand(clone='full', storage='fast', node='pve2')
    message = one_error(errors_for(stand, pve1={'fast': store(plugintype='zfspool')}))
    assert message.startswith('stand.storage (machine host1, full clone): ')
    # the linux template is on pve1 (shared nfs) and cloned to pve2: PVE checks both nodes
    assert "storage 'fast' is not available on node pve2 (it is enabled on pve1)" in message
    assert "storage 'fast' is not shared, so a clone from node pve1 cannot put disks there for node pve2" in message


def test_a_machine_storage_is_named_as_the_machines_field():
    stand = make_stand(node='pve2')
    stand['machines'][0].update(full_clone=True, storage='fast')
    message = one_error(errors_for(stand, pve1={'fast': store()}))
    assert message.startswith("stand.machines[0].storage (machine router, full clone): storage 'fast' is not "
                              "available on node pve2")


def test_a_format_the_storage_type_cannot_hold_is_refused():
    message = one_error(errors_for(linux_stand(clone='full', storage='local-lvm', format='qcow2', node='pve1')))
    assert "format 'qcow2': storage 'local-lvm' (lvmthin) holds raw only; PVE would silently make raw disks" in message
    assert errors_for(linux_stand(clone='full', storage='nfs', format='qcow2', node='pve1')) == []


def test_linked_clones_and_existing_vms_need_no_storage_check():
    assert errors_for(make_stand(node='pve1')) == []
    cluster = make_cluster(storages=storages(), vms=[
        {'vmid': 10000, 'name': 's1-host1', 'node': 'pve1', 'pool': 'netlab-s1', 'tags': ['deploystand', 'stand-netlab'],
         'template': False, 'status': 'running', 'maxmem': 1}])
    _plan, errors = build_plan(linux_stand(clone='full', storage='gone', node='pve1'), ['s1@pve'], cluster)
    assert errors == []


def test_storage_and_capacity_problems_come_in_the_same_one_list():
    errors = errors_for(linux_stand(clone='full', storage='nsf', node='pve1'), users=['s%d@pve' % n for n in range(30)])
    assert [e.split(' ')[0] for e in errors] == ['stand.storage', 'capacity:']
