"""The QEMU guest agent as the API shows it: whether it answers, and the addresses it reports.

Follows qemu-server src/PVE/API2/Qemu/Agent.pm (one endpoint per command; network-get-interfaces
needs VM.GuestAgent.Audit or VM.GuestAgent.Unrestricted) and src/PVE/QemuServer/Agent.pm
(assert_agent_available: `No QEMU guest agent configured` when the config has no `agent` key,
`VM <id> is not running`, then a guest-ping with a 3 s timeout whose failure is
`QEMU guest agent is not running`; each a 500 from the API handler).

What runs inside a guest is a property of its disk, so it is kept on the VM object (fakepve's
`vm.agent`: None when the guest runs no agent, else a dict of answers) and a clone inherits it from
its source. Addresses are deterministic: each bridge has an IPv4 network (`guest_networks`, from the
scenario; a bridge not listed gets 10.x.y.0/24 derived from its name) and a guest's address on it is
derived from its VMID; a per-VM override names the addresses per NIC.
"""

import ipaddress
import re
import zlib

from fakepve import agent as fake_agent
from fakepve.model import PveError

from .lifecycle import agent_enabled

# The sim's vmbr0 is the node's 192.0.2.10/24 (network.py default_interfaces).
DEFAULT_GUEST_NETWORKS = {'vmbr0': '192.0.2.0/24'}
# qga_check_running: guest-ping with this timeout (PVE seconds).
PING_TIMEOUT = 3
# The first host number handed to guests on a network with room for it (below: routers, the node).
FIRST_GUEST_HOST = 20
# PCI slots of net0..net5 on bus 0 (qemu-server PCI.pm), named ens<slot> by a systemd guest;
# net6.. sit behind the bridge on bus 1 (enp1s<addr>).
NET_SLOTS = (18, 19, 20, 21, 22, 23)
MAC = re.compile(r'(?:^|,)(?:[a-z0-9_-]+)=([0-9A-Fa-f]{2}(?::[0-9A-Fa-f]{2}){5})(?:,|$)')
BRIDGE = re.compile(r'(?:^|,)bridge=([^,]+)')


def default_network(bridge):
    """10.<a>.<b>.0/24 from the bridge name's CRC-32: the same every run."""
    crc = zlib.crc32(bridge.encode())
    return '10.{0}.{1}.0/24'.format((crc >> 8) & 0xff, crc & 0xff)


def guest_address(cidr, vmid):
    """The address a VM gets on a network: a host number derived from its VMID, with the prefix."""
    net = ipaddress.ip_network(cidr, strict=False)
    hosts = net.num_addresses - 2
    if hosts < 1:
        return None
    offset = FIRST_GUEST_HOST + vmid % (hosts - FIRST_GUEST_HOST) if hosts > 2 * FIRST_GUEST_HOST \
        else 1 + vmid % hosts
    return '{0}/{1}'.format(net.network_address + offset, net.prefixlen)


def link_local(mac):
    """The guest's IPv6 link-local address from its MAC (EUI-64)."""
    octets = [int(x, 16) for x in mac.split(':')]
    octets[0] ^= 0x02
    eui = octets[:3] + [0xff, 0xfe] + octets[3:]
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + eui)))


def nic_name(index):
    return 'ens{0}'.format(NET_SLOTS[index]) if index < len(NET_SLOTS) else 'enp1s{0}'.format(index - 5)


def address_entry(text):
    ip = ipaddress.ip_interface(text)
    return {'ip-address-type': 'ipv{0}'.format(ip.version), 'ip-address': str(ip.ip), 'prefix': ip.network.prefixlen}


def statistics():
    return dict.fromkeys(('rx-bytes', 'rx-dropped', 'rx-errs', 'rx-packets', 'tx-bytes', 'tx-dropped', 'tx-errs',
                          'tx-packets'), 0)


class GuestAgent(object):
    """Mixin of LabPve: the guest agent's answers and the guests' traits (agent, ACPI, shutdown time)."""

    def _init_agent(self):
        # bridge -> IPv4 network in CIDR form, or None: guests on that bridge get no address.
        self.guest_networks = dict(DEFAULT_GUEST_NETWORKS)

    # ------------------------------------------------------------- knobs

    def set_guest(self, vmid, agent=None, hangs=None, addresses=None, acpi=None, shutdown_secs=None):
        """Change what runs inside VM `vmid`'s guest (None leaves a trait as it is).

        agent: True (the guest runs qemu-guest-agent) or False; hangs: the agent runs but does not
        answer; addresses: {'net0': ['10.1.2.3/24', ...], ...} replaces the derived ones per NIC
        ([] = no address), {} goes back to the derived ones; acpi: False makes the guest ignore ACPI
        shutdown requests; shutdown_secs: how long its shutdown takes (0: the `shutdown` duration).
        """
        vm = self.vm(int(vmid))
        if vm is None:
            raise ValueError('no VM {0}'.format(vmid))
        if agent is not None:
            vm.agent = ({} if vm.agent is None else vm.agent) if agent else None
        if hangs is not None:
            vm.agent_hangs = bool(hangs)
        if addresses is not None:
            if vm.agent is None:
                raise ValueError('VM {0} runs no guest agent: no addresses to set'.format(vmid))
            vm.agent['addresses'] = dict((k, list(x)) for k, x in addresses.items())
            if not addresses:
                del vm.agent['addresses']
        if acpi is not None:
            vm.acpi = bool(acpi)
        if shutdown_secs is not None:
            vm.shutdown_secs = float(shutdown_secs)
        return self.guest_traits(vm)

    @staticmethod
    def guest_traits(vm):
        return {'agent': vm.agent is not None, 'hangs': bool(vm.agent_hangs), 'acpi': bool(vm.acpi),
                'shutdown_secs': vm.shutdown_secs,
                'addresses': dict((vm.agent or {}).get('addresses') or {}) or None}

    def agent_answers(self, vm):
        """True if a guest-ping would succeed: running, agent enabled, the guest runs it, booted, not hung."""
        return (vm.status == 'running' and agent_enabled(vm.config) and vm.agent is not None
                and not vm.agent_hangs and self.guest_booted(vm))

    # ----------------------------------------------------------- answers

    async def _agent_call(self, match, values):
        vm = self.find(values['node'], values['vmid'])
        command = match.template.rsplit('/', 1)[1]
        if command == 'agent':
            command = values.get('command')
        if 'agent' not in vm.config:
            raise PveError(500, 'No QEMU guest agent configured')
        if vm.status != 'running':
            raise PveError(500, 'VM {0} is not running'.format(vm.vmid))
        if not self.agent_answers(vm):
            if vm.agent_hangs and vm.agent is not None and agent_enabled(vm.config):
                await self.pause(PING_TIMEOUT)
            raise PveError(500, 'QEMU guest agent is not running')
        fake_agent.record(vm, command, values)
        if command == 'network-get-interfaces' and 'interfaces' not in vm.agent:
            return {'result': self.guest_interfaces(vm)}
        return fake_agent.result(vm, command, values)

    def nic_addresses(self, vm, key, value):
        """The 'a.b.c.d/p' addresses the guest has on NIC `key` (value: its netN config)."""
        override = (vm.agent or {}).get('addresses') or {}
        if key in override:
            return list(override[key])
        if re.search(r'(?:^|,)link_down=(1|true|yes|on)(?:,|$)', value):
            return []
        found = BRIDGE.search(value)
        if not found:
            return []
        bridge = found.group(1)
        cidr = self.guest_networks[bridge] if bridge in self.guest_networks else default_network(bridge)
        if cidr is None:
            return []
        address = guest_address(cidr, vm.vmid)
        return [address] if address else []

    def guest_interfaces(self, vm):
        """guest-network-get-interfaces of a Linux guest: lo, then one interface per netN in order."""
        out = [{'name': 'lo', 'hardware-address': '00:00:00:00:00:00',
                'ip-addresses': [address_entry('127.0.0.1/8'), address_entry('::1/128')],
                'statistics': statistics()}]
        keys = sorted((k for k in vm.config if re.match(r'^net\d+$', k)), key=lambda k: int(k[3:]))
        for key in keys:
            value = str(vm.config[key])
            found = MAC.search(value)
            mac = found.group(1).lower() if found else '00:00:00:00:00:00'
            addresses = [address_entry(a) for a in self.nic_addresses(vm, key, value)]
            if found:
                addresses.append(address_entry(link_local(mac) + '/64'))
            out.append({'name': nic_name(int(key[3:])), 'hardware-address': mac, 'ip-addresses': addresses,
                        'statistics': statistics()})
        return out

    # ------------------------------------------------------------- clones

    async def _qm_clone(self, v, user):
        src = self.vm(int(v['vmid']))
        upid = await super()._qm_clone(v, user)
        new = self.vm(int(v['newid']))
        if src is not None and new is not None and new is not src:
            # The clone's disk is the source's: the same guest OS, agent and ACPI handling.
            new.agent = None if src.agent is None else dict(
                (k, x) for k, x in src.agent.items() if k != 'addresses')
            new.acpi, new.shutdown_secs = src.acpi, src.shutdown_secs
        return upid
