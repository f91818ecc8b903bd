"""module_utils/ops/automation_identity.py: the pure decisions, the token file, and a token file that cannot be
written after the token was made (the token is deleted again) against the simulator."""
import errno
import os
import subprocess

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.ops import automation_identity as A
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveClient

USER, TOKEN = 'deploystand@pve', 'deploystand@pve!ansible'


def params(tmp_path, **extra):
    out = dict(role='DeployStandAutomation', privileges=['VM.Audit', 'Sys.Audit'], userid=USER, token='ansible',
               paths=['/vms', '/nodes'], comment='deploystand automation', token_file=str(tmp_path / 'token.env'),
               token_renew=False)
    out.update(extra)
    return out


def test_the_token_file_round_trips_through_a_shell_and_the_parser(tmp_path):
    values = {'PROXMOX_HOST': 'pve1.example.org', 'PROXMOX_PORT': 8006, 'PROXMOX_TOKEN_ID': TOKEN,
              'PROXMOX_TOKEN_SECRET': "5e3'a b$c", 'PROXMOX_CA_PATH': '/etc/my ca.pem'}
    text = A.token_file_text(values)
    assert A.parse_token_file(text) == dict((k, str(v)) for k, v in values.items())
    path = tmp_path / 'token.env'
    path.write_text(text)
    out = subprocess.run(['bash', '-c', '. "$0" && env', str(path)], env={'PROXMOX_PASSWORD': 'x'},
                         stdout=subprocess.PIPE, universal_newlines=True, check=True).stdout
    seen = dict(line.split('=', 1) for line in out.splitlines() if line.startswith('PROXMOX_'))
    assert seen == dict((k, str(v)) for k, v in values.items())      # and PROXMOX_PASSWORD is unset


def test_grants_missing_and_extra():
    acl = [{'path': '/vms', 'type': 'user', 'ugid': USER, 'roleid': 'R', 'propagate': 1},
           {'path': '/vms', 'type': 'token', 'ugid': TOKEN, 'roleid': 'R', 'propagate': 0},
           {'path': '/', 'type': 'token', 'ugid': TOKEN, 'roleid': 'R', 'propagate': 1},
           {'path': '/', 'type': 'user', 'ugid': 'other@pve', 'roleid': 'R', 'propagate': 1}]
    missing, extra = A.grant_changes(acl, 'R', ['/vms'], USER, TOKEN)
    assert missing == [('/vms', 'token', TOKEN, 'R')]           # not propagated counts as missing
    assert extra == [('/', 'token', TOKEN, 'R')]                # another user's grant is none of ours
    missing, _extra = A.grant_changes(acl, 'R', ['/vms'], USER, TOKEN, token_fresh=True)
    assert missing == [('/vms', 'token', TOKEN, 'R')]
    assert A.acl_writes(missing + [('/vms', 'user', USER, 'R')]) == [
        {'path': '/vms', 'roles': 'R', 'tokens': [TOKEN], 'users': [USER]}]


def test_grants_without_propagation_want_the_flag_off():
    acl = [{'path': '/', 'type': 'user', 'ugid': USER, 'roleid': 'HA', 'propagate': 0},
           {'path': '/', 'type': 'token', 'ugid': TOKEN, 'roleid': 'HA', 'propagate': 1}]
    missing, extra = A.grant_changes(acl, 'HA', ['/'], USER, TOKEN, propagate=False)
    assert missing == [('/', 'token', TOKEN, 'HA')] and extra == []     # a propagated copy is written again


def test_preparing_the_directory_makes_it_0700_and_check_mode_makes_nothing(tmp_path):
    path = tmp_path / 'a' / 'b' / 'token.env'
    assert A.prepare_token_dir(str(path), check_mode=True) == [str(tmp_path / 'a'), str(tmp_path / 'a' / 'b')]
    assert not (tmp_path / 'a').exists()
    A.prepare_token_dir(str(path))
    assert oct((tmp_path / 'a').stat().st_mode & 0o777) == oct((tmp_path / 'a' / 'b').stat().st_mode & 0o777) == \
        '0o700'
    A.write_token_file(str(path), 'export A=1\n')
    assert oct(path.stat().st_mode & 0o777) == '0o600' and os.listdir(str(path.parent)) == ['token.env']


def test_a_file_that_cannot_be_written_after_the_token_was_made_deletes_the_token_again(sim_tiny, tmp_path):
    client = PveClient(sim_tiny.host, port=sim_tiny.port, user='root@pam', password=sim_tiny.password,
                       ca_path=sim_tiny.cafile)
    secrets = []

    def full_disk(path, text):
        raise OSError(errno.ENOSPC, 'No space left on device')
    work = A.AutomationIdentity(client, params(tmp_path), on_secret=secrets.append, writer=full_disk)
    with pytest.raises(A.IdentityError) as caught:
        work.run()
    message = str(caught.value)
    assert 'No space left on device' in message and 'was deleted again, so no secret is lost' in message
    assert secrets and secrets[0] not in message                  # the new secret was masked, never shown
    user = sim_tiny.state()['users'][USER]
    assert user['tokens'] == []                                   # no token without its secret on disk
    assert not work.result['token_created'] and not (tmp_path / 'token.env').exists()

    # the next run (with the disk fixed) makes the token and writes it
    done = A.AutomationIdentity(client, params(tmp_path)).run()
    assert done['token_created'] and A.read_token_file(str(tmp_path / 'token.env'))['PROXMOX_TOKEN_ID'] == TOKEN
