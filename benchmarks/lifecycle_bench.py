"""Day-2 benchmark: power off + on, snapshot and reset of a class at PVE-like durations, against the bound.

    .venv/bin/python benchmarks/lifecycle_bench.py                  # 30 students, time factor 1, writes the README
    .venv/bin/python benchmarks/lifecycle_bench.py --students 6 --time-factor 0.25 --no-write

One simulator process (default scenario, 3 nodes), the durations of run.py plus the snapshot ones set
explicitly, the example stand with a start order (the EcoRouter 0, the hosts 1). It deploys the class once
(not measured here: run.py does), then runs, as a teacher would: stand_power.yml shutdown, started;
stand_snapshot.yml (disk-only); stand_reset.yml (every machine rolls back); and, for each, a no-op re-run of
the same playbook (power and snapshot; a reset always acts), which is the controller's floor for a
class of that size (plan, the class's module run, each student host's outcome, the recap). The results replace the "Day-2
lifecycle" section of benchmarks/README.md.

Lower bound (critical path on the cluster, PVE seconds x time factor): every VM of the class works in
parallel (PVE takes no storage lock for volume snapshots or rollbacks, only the config lock of each VM),
so the bound is that of one student, whose machines go in start-order groups:
- shutdown: 2 groups x shutdown (hosts, then the router);
- started: 2 groups x start;
- snapshot: snapshot (all machines at once);
- reset: stop (a running VM is stopped by the rollback) + rollback, all at once, then 2 groups x start.
"""

import argparse
import os
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import run as R  # noqa: E402  (benchmarks/run.py: the simulator, the playbook runner, the machine line)
from readme_section import replace_section  # noqa: E402

POWER = os.path.join(R.ROOT, 'playbooks', 'stand_power.yml')
SNAPSHOT = os.path.join(R.ROOT, 'playbooks', 'stand_snapshot.yml')
RESET = os.path.join(R.ROOT, 'playbooks', 'stand_reset.yml')
DURATIONS = dict(R.DURATIONS, snapshot=2.0, snapshot_vmstate=4.0, rollback=3.0, snapshot_delete=2.0)
TITLE = 'Day-2 lifecycle'


def stand():
    machines = []
    for machine in R.STAND['machines']:
        order = 0 if machine.get('device_type') == 'ecorouter' else 1
        machines.append(dict(machine, start_order=order))
    return dict(R.STAND, machines=machines, memory_overcommit=R.BENCH_OVERCOMMIT)


def groups():
    return len(set(0 if m.get('device_type') == 'ecorouter' else 1 for m in R.STAND['machines']))


def bounds(tf):
    d, g = DURATIONS, groups()
    return {'shutdown': g * d['shutdown'] * tf, 'started': g * d['start'] * tf, 'snapshot': d['snapshot'] * tf,
            'reset': (d['stop'] + d['rollback'] + g * d['start']) * tf}


def check(state, n, want_status, want_snapshots=None):
    vms = R.stand_vms(state)
    problems = []
    if len(vms) != n * len(R.STAND['machines']):
        problems.append('{0} stand VMs'.format(len(vms)))
    wrong = [vm['name'] for vm in vms if vm['status'] != want_status]
    if wrong:
        problems.append('{0} VMs not {1}'.format(len(wrong), want_status))
    if want_snapshots is not None:
        bad = [vm['name'] for vm in vms if sorted(vm.get('snapshots') or {}) != want_snapshots]
        if bad:
            problems.append('{0} VMs without exactly {1}'.format(len(bad), want_snapshots))
    return problems


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--students', type=int, default=30)
    ap.add_argument('--time-factor', type=float, default=1.0)
    ap.add_argument('--no-write', action='store_true')
    args = ap.parse_args(argv)
    R.ensure_collection_link()
    began = time.time()
    workdir = tempfile.mkdtemp(prefix='lifecycle-bench-')
    sim = R.Sim(workdir, args.time_factor)
    rows, notes = [], []
    try:
        sim.control('PUT', '/sim/durations', DURATIONS)
        users = os.path.join(workdir, 'users.yml')
        R.users_yaml(users, args.students)
        base = {'stand': stand()}
        deploy = R.run_playbook(sim, workdir, 'deploy', R.DEPLOY, users, None, base)
        if deploy['rc']:
            raise SystemExit('deploy failed: see ' + deploy['log'])
        notes.append('deploy of the class (setup, not the subject here): {0:.1f} s'.format(deploy['wall']))
        bound = bounds(args.time_factor)
        steps = [('shutdown', POWER, {'stand_power': 'shutdown'}, 'stopped', None, True),
                 ('started', POWER, {'stand_power': 'started'}, 'running', None, True),
                 ('snapshot', SNAPSHOT, {}, 'running', ['baseline'], True),
                 ('reset', RESET, {}, 'running', ['baseline'], False)]
        for label, book, extra, status, snaps, rerun in steps:
            done = R.run_playbook(sim, workdir, label, book, users, None, dict(base, **extra))
            state = sim.control('GET', '/sim/state')
            problems = check(state, args.students, status, snaps) + (['rc {0}'.format(done['rc'])] if done['rc'] else [])
            again = R.run_playbook(sim, workdir, label + '-again', book, users, None, dict(base, **extra)) \
                if rerun else None
            if again is not None and R.changed_total(again):
                problems.append('re-run changed {0}'.format(R.changed_total(again)))
            rows.append({'step': label, 'wall': done['wall'], 'bound': bound[label],
                         'ratio': done['wall'] / bound[label] if bound[label] else 0,
                         'floor': again['wall'] if again else None, 'cpu': done['cpu'], 'load': done['load'],
                         'requests': done['counters']['total'] / float(args.students),
                         'problems': problems})
    finally:
        sim.stop()
    took = time.time() - began
    lines = ['| step | wall | lower bound | wall / bound | no-op re-run (controller floor) | wall - floor | '
             'controller CPU | API requests / student | load avg after | problems |', '|' + '---|' * 10]
    for row in rows:
        shown = dict(row, problems='; '.join(row['problems']) or 'none',
                     floor='{0:.1f}s'.format(row['floor']) if row['floor'] is not None else '- (a reset always acts)',
                     over='{0:.1f}s'.format(row['wall'] - row['floor']) if row['floor'] is not None else '-')
        lines.append('| {step} | {wall:.1f}s | {bound:.1f}s | {ratio:.1f}x | {floor} | {over} | {cpu:.1f}s | '
                     '{requests:.0f} | {load:.1f} | {problems} |'.format(**shown))
    text = ('## {title}\n\nMeasured {date} on {machine}, by `benchmarks/lifecycle_bench.py --students {n} '
            '--time-factor {tf}` ({n} students of the example stand, {vms} VMs, router start_order 0 and hosts 1; '
            'forks {forks}). The whole run took {took:.1f} minutes. Durations (PVE seconds): shutdown/start/stop '
            '2, snapshot 2, rollback 3, request 20 ms. {notes}.\n\n{table}\n\nThe lower bound is the cluster\'s '
            'critical path (see the script\'s docstring): every VM works in parallel, so it does not grow with the '
            'class. What does grow is the controller\'s share - the plan, the class\'s module run and each student host\'s outcome - which the '
            'no-op re-run of the same playbook measures; "wall - floor" is what the step adds to it.\n'.format(
                title=TITLE, date=time.strftime('%Y-%m-%d %H:%M'), machine=R.machine(), n=args.students,
                tf=args.time_factor, vms=args.students * len(R.STAND['machines']), forks=R._cfg_forks(),
                took=took / 60, notes='; '.join(notes), table='\n'.join(lines)))
    print(text)
    if not args.no_write:
        replace_section(TITLE, text)


if __name__ == '__main__':
    main()
