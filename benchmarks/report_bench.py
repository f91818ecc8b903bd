"""The report play for classes of 30 and 300 students: wall time of the play, no cluster needed.

    .venv/bin/python benchmarks/report_bench.py [--students 30,300] [--repeat 3] [--root /work/main]

A playbook adds N student hosts with what the students' play leaves behind, then runs
the deploy playbook's Report play (role deploystand.proxmox.stand_report, writing every format into a
temporary directory) twice: a first report (no ledger yet) and a re-run (the ledger is read and merged).
The play is timed from inside (its first and last task), so ansible-playbook's start-up is not counted;
the whole ansible-playbook run is given too. --root runs another checkout's collection (e.g. the template
report of an earlier commit) for comparison; issue 18 asks for <= 2 s at 30 students and <= 5 s at 300.

What the students' play leaves behind (--from): `class` (default), the class run's results handed to the role
as `stand_report_results`, as deploy_stand.yml does since the class run; `hosts`, stand_student_summary and
stand_student_result on each student host, as role stand_student leaves them (stand_cleanup.yml, playbooks of
one's own, and deploy_stand.yml before the class run). Either way the plan on localhost gives a password for
every tenth student.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.dirname(sys.executable)

PLAYBOOK = '''
- name: Students as the deploy leaves them
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Plan stand-in
      ansible.builtin.set_fact:
        stand_plan_result:
          plan:
            stand: bench
            skipped: []
            class_changes: {added: [], not_in_list: []}
            students: "{{ students }}"
        stand_plan_inputs:
          stand: {name: bench}
        deploystand_scope: "{{ students | map(attribute='userid') | list }}"
    - name: Student hosts
      ansible.builtin.add_host:
        name: "{{ item.userid }}"
        groups: deploystand_students
        ansible_connection: local
        bench_index: "{{ item.index }}"
        bench_name: "{{ item.name }}"
      loop: "{{ students }}"
      loop_control:
        label: "{{ item.userid }}"
      changed_when: false

# what the students' play leaves on each host: the module's result (registered) and the summary (set_fact)
- name: Students' play stand-in
  hosts: deploystand_students
  gather_facts: false
  tasks:
    - name: Result and summary
      ansible.builtin.set_fact:
        stand_student_result: {password_set: true, password: "Generated-Pass-{{ bench_index }}", machines: []}
        stand_student_summary:
          userid: "{{ inventory_hostname }}"
          node: pve1
          pool: "bench-{{ bench_name }}"
          vms: ["{{ bench_name }}-router:{{ 10000 + bench_index | int }}",
                "{{ bench_name }}-host1:{{ 20000 + bench_index | int }}"]
          bridges: {lan: "vmbr{{ 1000 + bench_index | int }}"}
          changed: true
          user_created: true
          user_owned: true
          password_set: true
          password_confirmed: false
          password_kept: ""

- name: Report
  hosts: localhost
  gather_facts: false
  pre_tasks:
    - name: Start
      ansible.builtin.set_fact:
        bench_started: "{{ lookup('ansible.builtin.pipe', 'date +%s.%N') }}"
  roles:
    - role: deploystand.proxmox.stand_report
      vars:
        stand_report_stand: "{{ stand_plan_result.plan.stand }}"
        stand_report_students: "{{ deploystand_scope | default([]) }}"
        stand_report_skipped: []
        stand_report_mode: deploy
        stand_report_dir: "{{ report_dir }}"
CLASS_RESULTS
  post_tasks:
    - name: End
      ansible.builtin.debug:
        msg: "REPORT-PLAY-SECONDS {{ lookup('ansible.builtin.pipe', 'date +%s.%N') | float - bench_started | float }}"
'''


def students(count):
    return [{'userid': 'student{0}@pve'.format(n), 'name': 'student{0}'.format(n), 'index': n, 'node': 'pve1',
             'password': 'Given-Pass-{0}'.format(n) if n % 10 == 0 else None, 'user_exists': False,
             'user_owned': False, 'pool': 'bench-student{0}'.format(n)} for n in range(1, count + 1)]


def class_results(count):
    """userid -> the class run's result of each student, with what the per-host summary of --from hosts says."""
    out = {}
    for student in students(count):
        n, name = student['index'], student['name']
        out[student['userid']] = {
            'userid': student['userid'], 'node': 'pve1', 'pool': student['pool'], 'changed': True,
            'bridges': {'lan': 'vmbr{0}'.format(1000 + n)}, 'user_created': True, 'user_owned': True,
            'password_set': True, 'password_confirmed': False, 'password': 'Generated-Pass-{0}'.format(n),
            'machines': [{'name': name + '-router', 'vmid': 10000 + n}, {'name': name + '-host1', 'vmid': 20000 + n}]}
    return out


def run_once(root, work, count, report_dir, source='class'):
    collections = os.path.join(work, 'collections')
    link = os.path.join(collections, 'ansible_collections', 'deploystand', 'proxmox')
    if not os.path.islink(link):
        os.makedirs(os.path.dirname(link), exist_ok=True)
        os.symlink(root, link)
    playbook = os.path.join(work, 'report.yml')
    with open(playbook, 'w') as handle:
        handle.write(PLAYBOOK.replace('CLASS_RESULTS\n', '        stand_report_results: "{{ results }}"\n'
                                      if source == 'class' else ''))
    extra = os.path.join(work, 'extra-{0}.json'.format(count))
    data = {'students': students(count), 'report_dir': report_dir}
    if source == 'class':
        data['results'] = class_results(count)
    with open(extra, 'w') as handle:
        json.dump(data, handle)
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(root, 'ansible.cfg'), ANSIBLE_COLLECTIONS_PATH=collections,
               ANSIBLE_NOCOLOR='1', ANSIBLE_LOCAL_TEMP=os.path.join(work, 'tmp'),
               ANSIBLE_HOME=os.path.join(work, 'home'))
    began = time.perf_counter()
    proc = subprocess.run([os.path.join(BIN, 'ansible-playbook'), playbook, '-e', '@' + extra], cwd=work, env=env,
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, universal_newlines=True)
    whole = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(proc.stdout[-3000:])
    play = float(proc.stdout.split('REPORT-PLAY-SECONDS ')[1].split('"')[0])
    return play, whole


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--students', default='30,300')
    parser.add_argument('--repeat', type=int, default=3)
    parser.add_argument('--root', default=ROOT, help='the collection checkout to run (default: this one)')
    parser.add_argument('--from', dest='source', choices=['class', 'hosts'], default='class',
                        help="the students' outcome: the class run's results (deploy_stand.yml) or per-host summaries")
    args = parser.parse_args()
    print('| students | report play, first report (s) | report play, re-run (s) | whole ansible-playbook (s) |')
    print('|---|---|---|---|')
    for count in [int(n) for n in args.students.split(',')]:
        firsts, reruns, wholes = [], [], []
        for _round in range(args.repeat):
            with tempfile.TemporaryDirectory() as work:
                report_dir = os.path.join(work, 'reports')
                play, whole = run_once(os.path.abspath(args.root), work, count, report_dir, args.source)
                firsts.append(play)
                wholes.append(whole)
                play, whole = run_once(os.path.abspath(args.root), work, count, report_dir, args.source)
                reruns.append(play)
        print('| {0} | {1:.2f} (best of {4}) | {2:.2f} | {3:.1f} |'.format(
            count, min(firsts), min(reruns), min(wholes), args.repeat))
        sys.stdout.flush()


if __name__ == '__main__':
    main()
