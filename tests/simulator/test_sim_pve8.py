"""`pve_version: 8`: no SDN lock or rollback, HA groups instead of rules (docs/simulator.md, PVE 8 mode)."""
import pytest
from proxmoxer.core import ResourceException

from sim_helpers import client, raw, wait


@pytest.fixture
def pve8(sim_factory):
    return sim_factory({'base': 'default', 'pve_version': 8})


def test_version_reports_pve8(pve8):
    assert client(pve8).version.get()['release'] == '8.4'


@pytest.mark.parametrize('method,path', [('POST', '/cluster/sdn/lock'), ('DELETE', '/cluster/sdn/lock'),
                                         ('POST', '/cluster/sdn/rollback'), ('GET', '/cluster/ha/rules')])
def test_pve9_endpoints_are_not_implemented(pve8, method, path):
    status, body = raw(pve8, method, path)
    assert (status, body['message']) == (501, "Method '{0} {1}' not implemented\n".format(method, path))


def test_lock_token_is_an_unknown_parameter_but_changes_and_apply_work(pve8):
    status, body = raw(pve8, 'POST', '/cluster/sdn/zones', zone='lab', type='simple', **{'lock-token': 'x'})
    assert status == 400 and 'lock-token' in body['errors']
    api = client(pve8)
    api.cluster.sdn.zones.post(zone='lab', type='simple')
    api.cluster.sdn.vnets.post(vnet='v1', zone='lab')
    assert wait(api, 'pve1', api.cluster.sdn.put())['exitstatus'] == 'OK'
    assert 'v1' in [i['iface'] for i in api.nodes('pve2').network.get(type='vnet')]


def test_ha_groups_work_and_guard_their_resources(pve8):
    api = client(pve8)
    api.cluster.ha.groups.post(group='lab', nodes='pve1,pve2', restricted=1, comment='deploystand:lab')
    assert api.cluster.ha.groups('lab').get()['comment'] == 'deploystand:lab'
    api.cluster.ha.resources.post(sid='vm:100', group='lab', state='started')
    assert api.cluster.ha.resources('vm:100').get()['group'] == 'lab'
    with pytest.raises(ResourceException, match="delete ha group failed: ha group is used by service 'vm:100'"):
        api.cluster.ha.groups('lab').delete()
    api.cluster.ha.resources('vm:100').delete()
    api.cluster.ha.groups('lab').delete()
    assert api.cluster.ha.groups.get() == []


def test_group_ids_are_pve_config_ids(pve8):
    code, body = raw(pve8, 'POST', '/cluster/ha/groups', group='deploystand.lab', nodes='pve1')
    assert code == 400 and body['errors'] == {'group': "invalid format - invalid configuration ID 'deploystand.lab'\n"}
