"""The API client against the simulator: logins, TLS, the error map, the task waiter, retries."""
import socket
import time

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve import client as pve_client
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError, PveClient


def connect(sim, **overrides):
    options = dict(host=sim.host, port=sim.port, user='root@pam', password=sim.password, ca_path=sim.cafile,
                   sleep=lambda s: None)
    options.update(overrides)
    return PveClient(**options)


def failure(fn, *args, **kwargs):
    with pytest.raises(PveApiError) as caught:
        fn(*args, **kwargs)
    assert 'Traceback' not in caught.value.message
    return caught.value


def test_password_login_over_verified_tls_reads_the_release(sim):
    client = connect(sim)
    assert client.release() == (9, 0)
    assert {n['node'] for n in client.get('nodes')} == {'pve1', 'pve2', 'pve3'}


def test_token_login_works_with_the_bare_and_the_full_token_id(sim):
    secret = sim.add_token('root@pam', 'ansible', privsep=False)
    bare = connect(sim, password=None, token_id='ansible', token_secret=secret)
    full = connect(sim, user=None, password=None, token_id='root@pam!ansible', token_secret=secret)
    assert bare.identity == full.identity == 'root@pam!ansible'
    assert len(bare.get('cluster/resources', type='node')) == 3
    assert full.post('pools', poolid='viatoken', comment='x') is None


def test_wrong_password_says_login_failed_and_names_the_user(sim):
    err = failure(connect, sim, password='wrong-password')
    assert err.kind == pve_client.AUTH
    assert 'login failed for root@pam' in err.message


def test_wrong_token_secret_is_an_authentication_error(sim):
    sim.add_token('root@pam', 'ansible')
    client = connect(sim, password=None, token_id='ansible', token_secret='00000000-0000-0000-0000-000000000000')
    err = failure(client.get, 'version')
    assert err.kind == pve_client.AUTH


def test_expired_token_says_so(sim):
    secret = sim.add_token('root@pam', 'old', privsep=False, expire=int(time.time()) - 60)
    client = connect(sim, password=None, token_id='old', token_secret=secret)
    err = failure(client.get, 'version')
    assert err.kind == pve_client.AUTH
    assert 'expired' in err.message


def test_unknown_certificate_is_a_tls_error_that_explains_ca_path(sim):
    # The machine's default CA bundle does not know the simulator's self-signed certificate.
    err = failure(connect, sim, ca_path=None)
    assert err.kind == pve_client.TLS
    assert 'ca_path' in err.message and 'PROXMOX_CA_PATH' in err.message


def test_unverified_tls_still_connects(sim):
    assert connect(sim, ca_path=None, validate_certs=False).release() == (9, 0)


def test_the_web_interface_is_on_the_api_address():
    assert pve_client.pve_web_url('pve1.example.org', 8006) == 'https://pve1.example.org:8006/'
    assert pve_client.pve_web_url('fd00::1', '443') == 'https://[fd00::1]:443/'
    assert pve_client.pve_web_url('10.0.0.5') == 'https://10.0.0.5:8006/'
    assert pve_client.pve_web_url('') is None and pve_client.pve_web_url(None, 8006) is None


def test_unreachable_host_names_the_address_and_what_to_check():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        port = sock.getsockname()[1]
    err = failure(PveClient, '127.0.0.1', user='root@pam', password='x', port=port, retries=1,
                  sleep=lambda s: None)
    assert err.kind == pve_client.UNREACHABLE
    assert '127.0.0.1:{0}'.format(port) in err.message and 'PROXMOX_HOST' in err.message


def test_permission_denied_names_the_path_and_the_privilege(sim):
    sim.add_user('student9@pve', 'Student9-Password')
    student = connect(sim, user='student9@pve', password='Student9-Password')
    err = failure(student.post, 'nodes/pve1/qemu/9001/clone', newid=12345)
    assert err.kind == pve_client.PERMISSION
    assert 'student9@pve lacks the privilege' in err.message
    assert '/vms/' in err.message


def test_missing_object_is_not_found(sim):
    client = connect(sim)
    err = failure(client.get, 'nodes/pve1/qemu/4242/config')
    assert err.kind == pve_client.NOT_FOUND
    assert client.exists('nodes/pve1/qemu/9001/config')
    assert not client.exists('nodes/pve1/qemu/4242/config')


def test_refused_parameter_lists_the_field_and_pve_reason(sim):
    client = connect(sim)
    err = failure(client.put, 'nodes/pve1/qemu/100/config', net0='virtio,bridge=vmbr0,bogus=1')
    assert err.kind == pve_client.PARAMETER
    assert 'net0' in err.message and 'bogus' in err.message


def test_failed_task_is_reported_with_its_own_error_and_log(sim):
    client = connect(sim)
    upid = client.post('nodes/pve1/qemu/9001/status/start')
    err = failure(client.wait_task, upid, timeout=5)
    assert err.kind == pve_client.TASK_FAILED
    assert "you can't start a vm if it's a template" in err.message
    assert 'qmstart 9001' in err.message
    assert any('TASK ERROR' in line for line in err.log)


def test_task_outliving_its_timeout_says_which_task_and_how_long(sim_factory):
    sim = sim_factory(time_factor=1.0)
    sim.set_durations(linked_clone=30, request_latency=0)
    client = PveClient(sim.host, user='root@pam', password=sim.password, port=sim.port, ca_path=sim.cafile)
    upid = client.post('nodes/pve1/qemu/9001/clone', newid=12001, name='slow')
    err = failure(client.wait_task, upid, timeout=0.5)
    assert err.kind == pve_client.TASK_TIMEOUT
    assert 'qmclone 9001' in err.message and 'timeout 0.5 s' in err.message


def test_reads_are_retried_over_dropped_connections_and_5xx(sim):
    client = connect(sim, retries=8)
    sim.set_faults(drop_rate=0.3, error_rate=0.3, seed=7)
    sim.reset_counters()
    for _ in range(10):
        assert client.get('version')['release'] == '9.0'
    sim.set_faults(drop_rate=0.0, error_rate=0.0)
    seen = sim.counters()
    assert seen['total'] > 10  # some reads had to be sent again


def test_a_write_is_not_resent_after_the_connection_broke(sim):
    client = connect(sim, retries=8)
    sim.set_faults(drop_rate=1.0, seed=1)
    err = failure(client.post, 'pools', poolid='once', comment='x')
    sim.set_faults(drop_rate=0.0)
    assert err.kind == pve_client.CONNECTION
    assert sum(n for key, n in sim.counters()['requests'].items() if key.startswith('POST /pools')) == 1


def test_pools_are_addressed_the_way_the_cluster_release_supports(sim):
    assert connect(sim).pool_path('netlab-a') == ('pools', {'poolid': 'netlab-a'})
    sim.call(lambda pve: setattr(pve, 'release_version', '8.0'))
    old = connect(sim)
    assert old.pool_path('netlab-a') == ('pools/netlab-a', {})
    old.post('pools', poolid='netlab-a', comment='made on 8.0')
    path, params = old.pool_path('netlab-a')
    assert old.get(path, **params)['comment'] == 'made on 8.0'


def test_a_feature_missing_from_an_old_release_is_named_with_both_versions(sim):
    sim.call(lambda pve: setattr(pve, 'release_version', '7.4'))
    err = failure(connect(sim).require_release, (8, 0), 'SDN.Use on bridges')
    assert err.kind == pve_client.VERSION
    assert 'SDN.Use on bridges needs Proxmox VE 8.0 or newer; this cluster runs 7.4' == err.message
