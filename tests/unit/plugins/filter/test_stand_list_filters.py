"""The listing's presentation filters: one CSV row per VM (and per student without VM), the terminal table."""
import csv
import io

from ansible_collections.deploystand.proxmox.plugins.filter import stand_list as F
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import info as I

from test_stand_info import netlab


def listing():
    resources, pools, users, bridges = netlab()
    resources[:] = [r for r in resources if r.get('pool') != 'netlab-s2']       # s2: no VM left
    users[0]['expire'] = 1798761600
    bridges['pve1'].append({'iface': 'vmbr1009', 'comments': 'old, "quoted" deploystand:netlab:s9@pve:lan'})
    return I.find_stands(resources, pools, users, bridges)


def test_rows_are_one_per_vm_and_one_per_student_without_vm():
    rows = F.stand_list_rows(listing())
    assert [(r['userid'], r['vmid'], r['machine'], r['memory_mb']) for r in rows] == [
        ('s1@pve', 10000, 'router', 1024), ('s1@pve', 10001, 'host1', 1024), ('s2@pve', '', '', '')]
    assert rows[2]['complete'] is False and 'holds no VM' in rows[2]['problems']
    assert rows[0]['expire_at'] == '2027-01-01T00:00:00Z' and rows[0]['bridges'] == 'lan=vmbr1000@pve1'


def test_csv_has_the_header_and_reads_back():
    text = F.stand_list_csv(listing())
    assert text.splitlines()[0] == ','.join(F.CSV_COLUMNS)
    assert [r['name'] for r in csv.DictReader(io.StringIO(text))] == ['s1-router', 's1-host1', '']


def test_table_has_a_line_per_student_then_look_alikes():
    lines = F.stand_list_table(listing())
    assert lines[0].split()[:3] == ['stand', 'student', 'nodes']
    assert lines[1].split()[:6] == ['netlab', 's1@pve', 'pve1', '1/2', '2.0G', '-']
    assert '2027-01-01' in lines[1] and lines[1].endswith('ok     lan=vmbr1000') and 'INCOMPLETE' in lines[2]
    assert lines[3] == '1 stand(s), 2 student(s), 2 VM(s)'
    assert lines[4] == 'incomplete: netlab s2@pve: pool netlab-s2 holds no VM of the stand'
    assert lines[5].startswith('look-alike of stand netlab: bridge vmbr1009 on pve1: private bridge lan of s9@pve')
    assert F.stand_list_table({'stands': {}, 'look_alikes': [], 'unseen': ['node pve2 is offline']})[1:] == [
        '(no stand found)', '0 stand(s), 0 student(s), 0 VM(s)', 'not seen: node pve2 is offline']
