# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r'''
name: stands
short_description: The stands on a Proxmox VE cluster as an inventory, one host per stand VM
version_added: 0.1.0
description:
  - Finds every stand on the cluster from the markers its objects carry (no local state), exactly as the module
    M(deploystand.proxmox.pve_stand_info) does, and makes one host per stand VM, in groups per stand, student,
    node and machine.
  - Groups (each name sanitised as Ansible does for group names, then prefixed with O(group_prefix))
    C(deploystand_vms) (every stand VM), C(stand_<stand>), C(student_<userid>) (C(student1@pve) gives
    C(student_student1_pve); two userids that give the same name each get a short hash suffix, and a warning
    says so), C(node_<node>), and the machine's name (C(router), C(host1), ...).
  - Host names are C(<stand>-<VM name>) (C(netlab-student1-router)); host variables C(pve_vmid), C(pve_node),
    C(pve_pool), C(pve_status), C(pve_name), C(pve_tags), C(pve_maxmem), C(deploystand_stand),
    C(deploystand_userid), C(deploystand_machine), C(deploystand_expires) (the end of the student's part of the
    stand, C(2027-01-31T23:59:59Z), from C(stand.expires); null when it has none), and with O(addresses) C(ansible_host) (the guest agent's
    first address that O(address_interface), O(address_networks) and O(address_family) select; not set when
    the agent does not answer) and C(deploystand_addresses) (every address the agent reported).
  - The cluster is read a constant number of times (resources, pools, users, each online node's bridges), plus
    at most one guest agent call per running stand VM with O(addresses). With O(cache) a second run within
    O(cache_timeout) reads nothing from the cluster; the cache holds the listing only, never a password or
    token secret.
  - Uses a YAML configuration file whose name ends in C(.stands.yml) or C(.stands.yaml).
extends_documentation_fragment:
  - deploystand.proxmox.auth
  - deploystand.proxmox.stand_selection
  - deploystand.proxmox.auth.plugin
  - constructed
  - inventory_cache
options:
  plugin:
    description:
      - The name of this plugin; it makes the file this plugin's configuration.
    type: str
    required: true
    choices: [deploystand.proxmox.stands]
  addresses:
    description:
      - Ask the guest agent of every running stand VM for its addresses, to set C(ansible_host).
      - Needs C(VM.GuestAgent.Audit) on the VMs; refused calls give one warning and no address.
    type: bool
    default: true
  student_hosts:
    description:
      - Also make one host per student, named by its userid (as C(deploy_stand.yml) does), in the groups
        C(deploystand_students) and C(stand_<stand>_students), with C(ansible_connection=local) and the variables
        C(deploystand_userid), C(deploystand_stands) and C(deploystand_pools) - for day-2 playbooks that work
        through the API per student.
    type: bool
    default: false
  group_prefix:
    description:
      - A prefix for every group this plugin makes (not for O(groups) and O(keyed_groups)).
    type: str
    default: ''
author:
  - deploystand.proxmox contributors (@deploystand)
'''

EXAMPLES = r'''
# demo.stands.yml - the connection comes from the PROXMOX_* environment (as for the modules)
plugin: deploystand.proxmox.stands
stands: [netlab]
address_networks: [10.0.0.0/8]
keyed_groups:
  - key: pve_status
    prefix: status
compose:
  ansible_user: "'student'"
cache: true
cache_plugin: ansible.builtin.jsonfile
cache_connection: .cache/deploystand-inventory
'''

import difflib
import hashlib

from ansible.errors import AnsibleParserError
from ansible.plugins.inventory import BaseInventoryPlugin, Cacheable, Constructable

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import (
    HAS_PROXMOXER, PROXMOXER_IMPORT_ERROR, PveApiError, PveClient,
)
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.info import filter_problems, stand_vms
from ansible_collections.deploystand.proxmox.plugins.module_utils.ops.stand_reader import read_stands

try:  # ansible-core 2.19+: variables from an inventory source are not templated unless trusted
    from ansible.template import trust_as_template
except ImportError:
    def trust_as_template(value):
        return value

# Options that decide what the cache holds: a cached listing made with other values is not used.
_SELECTION = ('api_host', 'api_port', 'api_user', 'api_token_id', 'stands', 'students', 'addresses',
              'address_interface', 'address_networks', 'address_family')


class InventoryModule(BaseInventoryPlugin, Constructable, Cacheable):
    """Hosts and groups from the stands found on the cluster (docs/inventory.md)."""

    NAME = 'deploystand.proxmox.stands'

    def verify_file(self, path):
        return super(InventoryModule, self).verify_file(path) and path.endswith(('.stands.yml', '.stands.yaml'))

    def parse(self, inventory, loader, path, cache=True):
        super(InventoryModule, self).parse(inventory, loader, path, cache)
        config = self._read_config_data(path)
        self._check_config(config, path)
        found = self._listing(path, cache)
        self._populate(found)

    # ------------------------------------------------------------------ configuration

    def _check_config(self, config, path):
        """One message for every unknown option and bad selection, before the cluster is read."""
        known = set(self._options) | {'plugin'}
        problems = []
        for key in sorted(set(config) - known):
            close = difflib.get_close_matches(key, sorted(known), n=1)
            problems.append('unknown option {0!r}{1}'.format(key, " (did you mean '{0}'?)".format(close[0])
                                                             if close else ''))
        problems += filter_problems(self.get_option('stands'), self.get_option('students'),
                                    self.get_option('address_networks'), self.get_option('address_family'),
                                    self.get_option('agent_workers'))
        if not self.get_option('api_password') and not self.get_option('api_token_id'):
            problems.append('api_password or api_token_id is required (or PROXMOX_PASSWORD / PROXMOX_TOKEN_ID)')
        if self.get_option('api_token_id') and not self.get_option('api_token_secret'):
            problems.append('api_token_secret is required with api_token_id (or PROXMOX_TOKEN_SECRET)')
        if problems:
            raise AnsibleParserError('{0}: {1}'.format(path, '; '.join(problems)))

    def _selection(self):
        return dict((key, self.get_option(key)) for key in _SELECTION)

    # ------------------------------------------------------------------ reading (or the cache)

    def _listing(self, path, cache):
        use_cache = self.get_option('cache')
        key = self.get_cache_key(path)
        if use_cache and cache:
            try:
                entry = self._cache[key]
            except KeyError:
                entry = None
            if isinstance(entry, dict) and entry.get('selection') == self._selection():
                return entry['listing']
        found = self._read()
        if use_cache:
            # the listing and the selection only: no password or token secret goes to the cache
            self._cache[key] = {'selection': self._selection(), 'listing': found}
        return found

    def _client(self):
        if not HAS_PROXMOXER:
            raise AnsibleParserError('the Python library proxmoxer is required on the controller: pip install '
                                     'proxmoxer requests ({0})'.format(PROXMOXER_IMPORT_ERROR))
        if not self.get_option('validate_certs'):
            self.display.warning('validate_certs is off: the TLS certificate of {0} is not checked; give the '
                                 'cluster CA with ca_path instead'.format(self.get_option('api_host')))
        return PveClient(self.get_option('api_host'), user=self.get_option('api_user'),
                         password=self.get_option('api_password'), token_id=self.get_option('api_token_id'),
                         token_secret=self.get_option('api_token_secret'), port=self.get_option('api_port'),
                         validate_certs=self.get_option('validate_certs'), ca_path=self.get_option('ca_path'),
                         timeout=self.get_option('api_timeout'))

    def _read(self):
        try:
            found = read_stands(self._client(), stands=self.get_option('stands'),
                                students=self.get_option('students'), addresses=self.get_option('addresses'),
                                interface=self.get_option('address_interface'),
                                networks=self.get_option('address_networks'),
                                family=self.get_option('address_family'), workers=self.get_option('agent_workers'))
        except PveApiError as err:
            raise AnsibleParserError('deploystand.proxmox.stands: {0}'.format(err.message))
        for line in found['unseen']:
            self.display.warning('deploystand.proxmox.stands: ' + line)
        return found

    # ------------------------------------------------------------------ hosts and groups

    def _group(self, name):
        return self.inventory.add_group(self._sanitize_group_name(self.get_option('group_prefix') + name))

    def _student_groups(self, found):
        """{userid: group name}; userids whose sanitised names coincide each get a hash suffix."""
        userids = sorted(set(u for s in found['stands'].values() for u in s['students']))
        names = dict((u, self._sanitize_group_name('student_' + u)) for u in userids)
        clashes = dict((n, [u for u in userids if names[u] == n]) for n in set(names.values()))
        for name, users in sorted(clashes.items()):
            if len(users) > 1:
                self.display.warning('deploystand.proxmox.stands: {0} all give the group name {1}; each gets a '
                                     'suffix'.format(', '.join(users), name))
                for userid in users:
                    names[userid] = '{0}_{1}'.format(name, hashlib.sha1(userid.encode('utf-8')).hexdigest()[:6])
        return dict((u, n[len('student_'):]) for u, n in names.items())

    def _populate(self, found):
        students = self._student_groups(found)
        taken = set()
        for stand, student, vm in stand_vms(found):
            host = '{0}-{1}'.format(stand['stand'], vm['name'])
            if host in taken:
                host = '{0}-{1}'.format(host, vm['vmid'])
            taken.add(host)
            self._add_vm_host(host, stand['stand'], student, vm, students[student['userid']])
        if self.get_option('student_hosts'):
            self._add_student_hosts(found)

    def _add_vm_host(self, host, stand, student, vm, student_group):
        self.inventory.add_host(host, group=self._group('deploystand_vms'))
        for group in ['stand_' + stand, 'student_' + student_group, 'node_' + str(vm['node'])] + \
                ([vm['machine']] if vm['machine'] else []):
            self.inventory.add_child(self._group(group), host)
        variables = {'pve_vmid': vm['vmid'], 'pve_node': vm['node'], 'pve_pool': vm['pool'],
                     'pve_status': vm['status'], 'pve_name': vm['name'], 'pve_tags': vm['tags'],
                     'pve_maxmem': vm['maxmem'], 'deploystand_stand': stand, 'deploystand_userid': student['userid'],
                     'deploystand_machine': vm['machine'],
                     # the stand's end (UTC, as its pool records it; None = never), docs/stand-model.md "expires"
                     'deploystand_expires': student.get('expires_at')}
        if 'addresses' in vm:
            variables['deploystand_addresses'] = vm['addresses']
            if vm['address']:
                variables['ansible_host'] = vm['address']
        self._set_host_variables(host, variables)

    def _add_student_hosts(self, found):
        by_user = {}
        for name in sorted(found['stands']):
            for userid, student in sorted(found['stands'][name]['students'].items()):
                by_user.setdefault(userid, []).append((name, student['pool']))
        for userid, stands in sorted(by_user.items()):
            self.inventory.add_host(userid, group=self._group('deploystand_students'))
            for name, _pool in stands:
                self.inventory.add_child(self._group('stand_{0}_students'.format(name)), userid)
            self._set_host_variables(userid, {
                'deploystand_userid': userid, 'deploystand_stands': [n for n, _p in stands],
                'deploystand_pools': [p for _n, p in stands], 'ansible_connection': 'local',
                # the controller's Python, which has proxmoxer (the same as deploy_stand.yml's student hosts)
                'ansible_python_interpreter': trust_as_template('{{ ansible_playbook_python }}')})

    def _set_host_variables(self, host, variables):
        for key, value in variables.items():
            self.inventory.set_variable(host, key, value)
        strict = self.get_option('strict')
        hostvars = self.inventory.get_host(host).get_vars()
        self._set_composite_vars(self.get_option('compose'), hostvars, host, strict=strict)
        self._add_host_to_composed_groups(self.get_option('groups'), hostvars, host, strict=strict)
        self._add_host_to_keyed_groups(self.get_option('keyed_groups'), hostvars, host, strict=strict)
