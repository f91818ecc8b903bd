"""The class a day-2 playbook hands to one module run (plugins/filter/lifecycle.py stand_class_students)."""
from ansible_collections.deploystand.proxmox.plugins.filter.lifecycle import stand_class_lines, stand_class_students

PLAN = {'students': [
    {'userid': 's1@pve', 'pool': 'netlab-s1', 'node': 'pve1', 'machines': [{'name': 's1-router'}],
     'bridges': [{'alias': 'lan', 'iface': 'vmbr1000'}, {'alias': 'dmz', 'iface': 'vmbr1001'}]},
    {'userid': 's2@pve', 'pool': 'netlab-s2', 'node': 'pve2', 'machines': [{'name': 's2-router'}], 'bridges': []},
]}


def test_only_the_plays_students_in_the_plans_order_with_what_a_power_run_takes():
    assert stand_class_students(PLAN, ['s2@pve', 'nobody@pve']) == [
        {'userid': 's2@pve', 'pool': 'netlab-s2', 'machines': [{'name': 's2-router'}]}]


def test_a_reset_gets_the_node_and_each_alias_bridge():
    first = stand_class_students(PLAN, ['s1@pve', 's2@pve'], 'reset')[0]
    assert (first['node'], first['bridges']) == ('pve1', {'lan': 'vmbr1000', 'dmz': 'vmbr1001'})


def test_the_summary_names_each_student_with_its_machines_and_a_failure_with_its_message():
    lines = stand_class_lines({
        's1@pve': {'machines': [{'name': 's1-router', 'vmid': 10000, 'status_before': 'running', 'status': 'stopped'}]},
        's2@pve': {'failed': True, 'msg': 's2@pve: nothing was changed: x', 'machines': []}}, 'power')
    assert list(lines) == ['s1@pve', 's2@pve']
    assert lines['s1@pve'] == ['s1-router (VM 10000): running -> stopped']
    assert lines['s2@pve'] == ['failed: s2@pve: nothing was changed: x']
