"""Scenario validation, the state dump and the CLI."""
import json
import os
import re
import signal
import subprocess
import sys
import time

import pytest
import requests

from deploystand_sim.scenario import ScenarioError, load

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_default_scenario_shape(sim):
    state = sim.state()
    names = {(v['node'], v['name']) for v in state['vms'].values() if v['template']}
    for node in ('pve1', 'pve2', 'pve3'):
        assert {(node, 'linux-tpl'), (node, 'ecorouter-tpl')} <= names
    assert state['vms'][100]['status'] == 'running' and state['vms'][9100]['config']['scsi0'].startswith('shared-nfs:')
    assert state['users']['teacher@pve']['comment'] == 'course admin'
    assert state['networks']['pve2']['running']['vmbr1000']['comments'] == 'lab uplink'
    json.dumps(state)


def test_a_storage_enabled_on_some_nodes_is_listed_on_those_only(sim_factory):
    sim = sim_factory({'nodes': [{'name': 'pve1'}, {'name': 'pve2'}],
                       'storages': [{'name': 'local-lvm', 'type': 'lvmthin'},
                                    {'name': 'fast', 'type': 'dir', 'content': ['images'], 'nodes': ['pve1']}]})
    from sim_helpers import client
    found = [(s['node'], s['storage']) for s in client(sim).cluster.resources.get(type='storage')]
    assert ('pve1', 'fast') in found and ('pve2', 'fast') not in found and ('pve2', 'local-lvm') in found


def test_bad_scenario_names_file_and_key(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text('nodes:\n  - {name: pve1}\n  - {name: pve2, memory_gb: lots}\n')
    with pytest.raises(ScenarioError) as err:
        load(str(bad))
    assert str(err.value) == "scenario bad.yml: nodes[1].memory_gb: expected a number, got 'lots'"


def test_bad_scenario_from_cli_has_no_traceback(tmp_path):
    bad = tmp_path / 'bad.yml'
    bad.write_text('nodes: [{name: pve1}]\ntemplates: [{vmid: 9001, name: t, node: pve9}]\n')
    run = subprocess.run([sys.executable, '-m', 'deploystand_sim', '--scenario', str(bad), '--port', '0',
                          '--state-dir', str(tmp_path / 's')], capture_output=True, text=True, timeout=30,
                         env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'simulator')))
    assert run.returncode == 2
    assert run.stderr.strip() == "deploystand_sim: scenario bad.yml: templates[0].node: unknown node 'pve9' (nodes: pve1)"


def test_cli_serves_writes_env_and_control_endpoint(tmp_path):
    state = tmp_path / 'sim'
    proc = subprocess.Popen([sys.executable, '-m', 'deploystand_sim', '--scenario', 'tiny', '--port', '0',
                             '--time-factor', '0', '--state-dir', str(state)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True,
                            env=dict(os.environ, PYTHONPATH=os.path.join(ROOT, 'simulator')))
    try:
        deadline = time.time() + 20
        while not (state / 'sim.json').exists() and time.time() < deadline:
            time.sleep(0.05)
        info = json.loads((state / 'sim.json').read_text())
        env = (state / 'env').read_text()
        assert "export PROXMOX_USER='root@pam'" in env and 'PROXMOX_VALIDATE_CERTS' in env
        assert info['pid'] == proc.pid
        got = requests.get(info['url'] + '/sim/state', auth=('root', 'secret'), verify=info['cafile']).json()
        assert set(got['vms']) == {'9001', '9002'}
        assert requests.get(info['url'] + '/sim/state', verify=info['cafile']).status_code == 401
        requests.put(info['url'] + '/sim/faults', json={'error_rate': 1.0}, auth=('root', 'secret'),
                     verify=info['cafile']).raise_for_status()
        assert requests.get(info['url'] + '/api2/json/version', verify=info['cafile']).status_code == 503
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _err = proc.communicate(timeout=10)
    assert proc.returncode == 0 and 'stopped' in out


def test_sdn_scenario_has_foreign_zones_vnets_and_ha(sim_factory):
    state = sim_factory('sdn').state()
    assert sorted(state['sdn']['zones']) == ['office', 'teach']
    assert sorted(state['sdn']['running']['vnets']) == ['officenet', 'teachnet', 'vnother1']
    # `applied: false` leaves a VNet written but pending
    assert 'draft' in state['sdn']['vnets'] and state['sdn']['pending'] is True
    assert sorted(state['sdn']['nodes']['pve2']['vnets']) == ['teachnet', 'vnother1']
    assert state['sdn']['nodes']['pve1']['vnets']['teachnet']['segment'] == 'vxlan:100'
    assert state['ha']['resources']['vm:100']['comment'] == 'gateway of the teachers'
    assert state['ha']['rules']['gateway']['resources'] == ['vm:100']
    assert state['vms'][100]['node'] == 'pve1' and 'linux-tpl' in {v['name'] for v in state['vms'].values()}


@pytest.mark.parametrize('extra,message', [
    ({'sdn': {'vnets': [{'vnet': 'v1', 'zone': 'nozone', 'tag': 1}]}},
     "sdn.vnets[0].zone: unknown zone 'nozone' (zones: none)"),
    ({'sdn': {'zones': [{'zone': 'z1', 'type': 'vxlan'}]}}, 'sdn.zones[0]: create sdn zone object failed'),
    ({'sdn': {'zones': [{'zone': 'z1', 'type': 'simple', 'nodes': ['pve9']}]}}, "unknown node 'pve9'"),
    ({'ha': {'groups': [{'group': 'g', 'nodes': 'pve1'}]}}, 'PVE 9 has HA rules instead of groups'),
    ({'pve_version': 7}, 'pve_version: expected 8 or 9'),
])
def test_bad_sdn_or_ha_scenario_is_named(extra, message):
    from deploystand_sim.scenario import build
    with pytest.raises(ScenarioError, match=re.escape(message)):
        build(dict({'base': 'tiny'}, **extra))
