"""Serve a simulated PVE cluster over HTTPS until SIGTERM or SIGINT.

    python -m deploystand_sim [--scenario default|tiny|PATH] [--host 127.0.0.1] [--port 8006|0]
                              [--state-dir .sim] [--time-factor 0.05] [--seed N] [fault flags]

Writes into the state dir: ca.pem (the certificate to verify with), env (shell exports of the
PROXMOX_* variables) and sim.json (url, pid, cafile, scenario). Control endpoint (HTTP basic
auth root:<password>): GET /sim/state, GET /sim/counters, POST /sim/counters/reset,
GET|PUT /sim/faults, GET|PUT /sim/durations.
"""

import argparse
import asyncio
import json
import os
import signal
import sys

from fakepve.certs import make_cert

from .scenario import ScenarioError, build


def parse(argv):
    ap = argparse.ArgumentParser(prog='python -m deploystand_sim', description=__doc__.split('\n\n')[0])
    ap.add_argument('--scenario', default='default', help='default, tiny or a path to a scenario YAML')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=8006, help='0 lets the system pick a free port')
    ap.add_argument('--state-dir', default='.sim')
    ap.add_argument('--time-factor', type=float, default=0.05,
                    help='real seconds per PVE second (0: every task finishes at once)')
    ap.add_argument('--password', help="root@pam's password (default: the scenario's)")
    ap.add_argument('--seed', type=int, help='makes the fault draws repeatable')
    faults = ap.add_argument_group('faults (rates are 0..1)')
    faults.add_argument('--drop-rate', type=float, help='share of connections reset')
    faults.add_argument('--error-rate', type=float, help='share of GET requests answered 503')
    faults.add_argument('--task-fail-rate', type=float, help='share of tasks that fail')
    faults.add_argument('--slow-factor', type=float, help='multiplies every task duration')
    faults.add_argument('--lock-contention', type=float, help='share of clones that time out on the storage lock')
    return ap.parse_args(argv)


def write_state(args, pve, cafile):
    env = {'PROXMOX_HOST': pve.host, 'PROXMOX_PORT': str(pve.port), 'PROXMOX_USER': 'root@pam',
           'PROXMOX_PASSWORD': pve.password, 'PROXMOX_CA_PATH': cafile, 'PROXMOX_VALIDATE_CERTS': 'true'}
    envfile = os.path.join(args.state_dir, 'env')
    with open(envfile, 'w', encoding='utf-8') as fh:
        for key, value in env.items():
            fh.write("export {0}='{1}'\n".format(key, value.replace("'", "'\\''")))
    with open(os.path.join(args.state_dir, 'sim.json'), 'w', encoding='utf-8') as fh:
        json.dump({'url': pve.url, 'pid': os.getpid(), 'cafile': cafile, 'scenario': args.scenario,
                   'envfile': envfile}, fh, indent=2)
    return envfile


async def serve(args):
    faults = dict((k, getattr(args, k)) for k in ('drop_rate', 'error_rate', 'task_fail_rate', 'slow_factor',
                                                   'lock_contention') if getattr(args, k) is not None)
    pve = build(args.scenario, password=args.password, time_factor=args.time_factor, faults=faults,
                seed=args.seed, host=args.host, port=args.port)
    os.makedirs(args.state_dir, exist_ok=True)
    state_dir = os.path.abspath(args.state_dir)
    args.state_dir = state_dir
    certfile, keyfile, _ = make_cert(state_dir, name='ca', hosts=(args.host,))
    cafile = os.path.join(state_dir, 'ca.pem')
    os.replace(certfile, cafile)
    await pve.start(cafile, keyfile)
    envfile = write_state(args, pve, cafile)
    print('deploystand simulator ({0}) listening on {1}'.format(args.scenario, pve.url))
    print('  CA file:     {0}'.format(cafile))
    print('  credentials: root@pam / {0}'.format(pve.password))
    print('  env file:    {0}   (source it: . {0})'.format(envfile), flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await pve.stop()
    try:
        os.remove(os.path.join(state_dir, 'sim.json'))
    except OSError:
        pass
    print('deploystand simulator stopped', flush=True)


def main(argv=None):
    args = parse(sys.argv[1:] if argv is None else argv)
    try:
        asyncio.run(serve(args))
    except ScenarioError as e:
        print('deploystand_sim: {0}'.format(e), file=sys.stderr)
        return 2
    except ValueError as e:
        print('deploystand_sim: {0}'.format(e), file=sys.stderr)
        return 2
    except OSError as e:
        print('deploystand_sim: cannot listen on {0}:{1}: {2}'.format(args.host, args.port, e.strerror or e),
              file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
