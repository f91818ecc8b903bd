"""A real VM migration: POST and GET /nodes/{node}/qemu/{vmid}/migrate.

Follows qemu-server src/PVE/API2/Qemu.pm (migrate_vm, migrate_vm_precondition), src/PVE/QemuMigrate.pm
(prepare, scan_local_volumes, phase2_start_local_cluster, phase3_cleanup) and pve-guest-common
AbstractMigrate.pm (the task log and how it ends). What PVE checks, and what it does not:

- the API checks VM.Migrate on /vms/<id>, and nothing about the NICs: no SDN.Use, no bridge on the target;
- an offline migration moves the config to the target; a NIC's bridge is looked up there only at the
  next start (`bridge '<br>' does not exist`, or the target's bridge of that name is used);
- an online migration starts the VM on the target first, so a missing bridge there fails the migration
  and the VM stays running on the source.
"""

import re
import time

from fakepve.model import TaskError
from fakepve.qemu import drives_of, volume_ref
from fakepve.routing import die, param_error

from .sdn import perl_die

GiB = 1024 ** 3
DISK_REFERENCE = 10 * GiB
SIZE = re.compile(r'(?:^|,)size=(\d+(?:\.\d+)?)([KMGT]?)')
UNITS = {'': 1, 'K': 1024, 'M': 1024 ** 2, 'G': GiB, 'T': 1024 ** 4}
ROOT_ONLY = ('force', 'migration_type', 'migration_network')


class Abort(Exception):
    """A migration that stops before the VM moved (AbstractMigrate: `migration aborted`)."""


def drive_size(value):
    found = SIZE.search(str(value))
    return int(float(found.group(1)) * UNITS[found.group(2)]) if found else 0


class MigrateApi(object):
    """Mixin of LabPve: a VM moves to another node, taking the time its local disks and memory need."""

    def _routes_migrate(self):
        one = '/nodes/{node}/qemu/{vmid}/migrate'
        return [('GET', one, self._qm_migrate_check), ('POST', one, self._qm_migrate)]

    def _qm_alloc(self, sid, vmid, fmt, size, linked_from=None):
        """Remember the base of a linked clone's volume (PVE names it base-X-disk-N/vm-Y-disk-N)."""
        volid, fmt = super()._qm_alloc(sid, vmid, fmt, size, linked_from)
        if linked_from:
            name = volume_ref(volid)[1]
            self._volumes(sid)[name]['base'] = linked_from.split('/')[-1]
        return volid, fmt

    def vm_disks(self, vm):
        """[(key, volid, local, size in bytes, base volume or None)] of the VM's disks (no CD-ROMs)."""
        out = []
        for key, volume, _props in drives_of(vm.config, skip_cdrom=True):
            sid, name = volume_ref(volume)
            if sid is None or sid not in self.storages:
                continue
            record = self._volumes(sid).get(name) or {}
            size = int(record.get('size') or 0) or drive_size(vm.config[key])
            out.append((key, volume, not self.storages[sid].get('shared'), size, record.get('base')))
        return out

    # ------------------------------------------------------------- the API

    async def _qm_migrate_check(self, v, user):
        """migrate_vm_precondition: where the VM may go and which of its disks would be copied."""
        self.need_quorum()
        vm = self.find(v['node'], v['vmid'])
        self._check_lock(vm)
        local = [{'volid': volid, 'size': size, 'cdrom': 0, 'is_unused': 0, 'drivename': key}
                 for key, volid, is_local, size, _base in self.vm_disks(vm) if is_local]
        data = {'running': 1 if vm.status == 'running' else 0,
                'allowed_nodes': [n for n in sorted(self.nodes) if n != vm.node], 'not_allowed_nodes': {},
                'local_disks': local, 'local_resources': [], 'mapped-resources': [], 'mapped-resource-info': {},
                'has-dbus-vmstate': 1}
        if vm.ha_managed:
            data['dependent-ha-resources'] = []
        return data

    async def _qm_migrate(self, v, user):
        """migrate_vm: the checks PVE makes before it forks the `qmigrate` (or `hamigrate`) task."""
        node, target = v['node'], v['target']
        if target == node:
            raise param_error(target='target is local node.')
        self.need_quorum()
        if target not in self.nodes:
            raise die("no such cluster node '{0}'".format(target))
        for option in ROOT_ONLY:
            if v.get(option) and user != 'root@pam':
                raise param_error(**{option: 'Only root may use this option.'})
        if v.get('targetstorage'):
            raise die('targetstorage is not modelled by the simulator')
        vm = self.find(node, v['vmid'])
        self._check_lock(vm)
        online = bool(int(v.get('online') or 0))
        if vm.status == 'running':
            if not online:
                raise die("can't migrate running VM without --online")
        else:
            online = False
        if vm.ha_managed:
            return await self.ha_request_migration(vm, target, user)
        return await self.start_migration(vm, target, user, online, bool(int(v.get('with-local-disks') or 0)))

    # ------------------------------------------------------------ the task

    def _own_task(self, ttype, tid):
        """The running task record of this (type, id): where the migration writes its log lines."""
        for record in reversed(self.tasklog):
            if record['type'] == ttype and record['id'] == str(tid) and record['status'] == 'running':
                return record
        return {'log': []}

    async def start_migration(self, vm, target, user, online, with_local_disks=False):
        """The `qmigrate` task on the VM's node; returns its UPID."""
        spent = [0.0]

        async def wait(key, scale=1.0):
            secs = self.task_secs(key, scale)
            spent[0] += secs
            await self.pause(secs)

        def duration():
            secs = int(spent[0])
            return '{0:02d}:{1:02d}:{2:02d}'.format(secs // 3600, secs // 60 % 60, secs % 60)

        async def body():
            log = self._own_task('qmigrate', vm.vmid)['log']

            def out(message):
                log.append('{0} {1}'.format(time.strftime('%Y-%m-%d %H:%M:%S'), message))
            try:
                out("starting migration of VM {0} to node '{1}' ({2})".format(vm.vmid, target, self.node_ip(target)))
                problems = await self._migrate_work(vm, target, online, with_local_disks, out, wait)
            except Abort as e:
                if vm.lock == 'migrate':
                    self._qm_lock(vm, None)
                out('ERROR: migration aborted (duration {0}): {1}'.format(duration(), e))
                raise TaskError('migration aborted') from None
            if problems:
                out('ERROR: migration finished with problems (duration {0})'.format(duration()))
                raise TaskError('migration problems')
            out('migration finished successfully (duration {0})'.format(duration()))
            return None
        return await self.task(vm.node, 'qmigrate', vm.vmid, user, body, vm=vm)

    async def _migrate_work(self, vm, target, online, with_local_disks, out, wait):
        """prepare, phase 1 (local disks), phase 2 (online: start on the target), phase 3 (the VM moves).

        Raises Abort before the VM moved; returns True for "finished with problems" (the VM stayed)."""
        if not self.nodes[target].get('online', True):
            raise Abort("Can't connect to destination address using public key")
        if vm.lock:
            raise Abort('VM is locked ({0})'.format(vm.lock))
        if vm.status == 'running' and not online:
            raise Abort("can't migrate running VM without --online")
        self._qm_lock(vm, 'migrate')
        local = [d for d in self.vm_disks(vm) if d[2]]
        for _key, volid, _local, _size, base in local:
            if base:
                # QemuMigrate scan_local_volumes: a linked clone on local storage cannot leave its base.
                raise Abort('Problem found while scanning volumes - ' + perl_die(
                    "can't migrate '{0}' as it's a clone of '{1}'".format(volid, base), 'QemuMigrate.pm', 586))
        if online and local and not with_local_disks:
            for _key, volid, _local, _size, _base in local:
                out("ERROR: can't migrate local disk '{0}': can't live migrate attached local disks without "
                    "with-local-disks option".format(volid))
            raise Abort("Problem found while scanning volumes - can't migrate VM - check log")
        for _key, volid, _local, _size, _base in local:
            out("found local disk '{0}' (attached)".format(volid))
        disk_scale = sum(d[3] for d in local) / float(DISK_REFERENCE)
        if local and not online:
            out('copying local disk images')
            await wait('migrate', disk_scale)
        await wait('migrate_overhead')
        if online:
            out("starting VM {0} on remote node '{1}'".format(vm.vmid, target))
            problems = [p for p in (self.tap_plug_check(target, b) for _k, b in self.vm_bridges(vm.config)) if p]
            if problems:
                for problem in problems:
                    out('[{0}] {1}'.format(target, problem))
                out('ERROR: online migrate failure - unable to detect remote migration address')
                out('aborting phase 2 - cleanup resources')
                out('migrate_cancel')
                self._qm_lock(vm, None)
                return True
            if local:
                out('starting storage migration')
                await wait('migrate', disk_scale)
            await wait('migrate_memory', int(vm.config.get('memory') or 512) / 1024.0)
        # phase3_cleanup: the config moves to the target node
        vm.node = target
        self._qm_lock(vm, None)
        return False
