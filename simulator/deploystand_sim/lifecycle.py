"""The VM lifecycle between deploy and destroy: snapshots, rollback, power, and what status shows.

Follows qemu-server src/PVE/API2/Qemu.pm (snapshot, rollback, delsnapshot, vm_shutdown, vm_reboot,
vm_stop, vm_status), src/PVE/QemuConfig.pm (__snapshot_save_vmstate, find_vmstate_storage, the
__snapshot_rollback_* hooks), src/PVE/QemuServer.pm (_do_vm_stop, vm_reboot), src/PVE/CLI/qm.pm
(cleanup: the restart after a reboot) and pve-guest-common src/PVE/AbstractConfig.pm
(snapshot_create, snapshot_rollback, snapshot_delete and the config locks they hold).

fakepve's snapshot, rollback and power handlers are replaced, not extended: its snapshot tasks do
their work in one step, so the `snapshot` config lock they set is never seen by anyone, a RAM
snapshot's rollback leaves the VM stopped, and a shutdown refuses a stopped VM before its task.
HA-managed VMs are left to the handlers below this mixin.

Two locks, as in PVE: the config file's flock (fakepve's `acquire`/`release`, 10 s wait), taken
briefly by each step, and the `lock:` value in the config (`snapshot`, `rollback`,
`snapshot-delete`) that stays while the task's long part runs and makes every other config change,
start or snapshot fail with `VM is locked (<lock>)`.
"""

import contextlib
import json
import re
import time
import uuid

from aiohttp import web

from fakepve import shapes
from fakepve.model import TaskError
from fakepve.qemu import SNAPSHOT_SKIP, drives_of, volume_ref
from fakepve.routing import die, param_error

MiB = 1024 ** 2
# qemu-server's default memory (MiB) when the config has none.
DEFAULT_MEMORY = 512
# __snapshot_save_vmstate reserves twice the RAM plus this much (MiB) for the device state.
DRIVER_STATE_MIB = 500
# _do_vm_stop's wait when the request gives no timeout.
SHUTDOWN_DEFAULT_TIMEOUT = 60
# __snapshot_rollback_vm_stop: a hard stop with this timeout.
ROLLBACK_STOP_TIMEOUT = 5
# The share of its memory a running guest uses (mem in status/current and /cluster/resources).
GUEST_MEMORY_USE = 0.4
# alloc_image of these storage types dies (pve-storage ISCSIPlugin, ISCSIDirectPlugin, PBSPlugin).
NO_IMAGE_ALLOC = {'iscsi': "can't allocate space in iscsi storage",
                  'iscsidirect': "can't allocate space in iscsi storage",
                  'pbs': "can't allocate space in pbs storage"}
TRUE = ('1', 'true', 'yes', 'on')
# QemuServer.pm $fast_plug_option: written at once even while the VM runs (fakepve's own list lacks
# vmstatestorage, shares and migrate_*, and has `agent`, which PVE keeps pending until the next start).
FAST_PLUG = ('description', 'hookscript', 'lock', 'migrate_downtime', 'migrate_speed', 'name', 'onboot',
             'protection', 'shares', 'startup', 'tags', 'vmstatestorage')


def flag(value):
    """A PVE boolean parameter or property value as True/False."""
    return str(value).lower() in TRUE


def memory_mib(config):
    """get_current_memory: `memory` is a number or the property string `current=N[,...]`."""
    text = str(config.get('memory') or DEFAULT_MEMORY)
    found = re.search(r'(?:^|current=)(\d+)', text)
    return int(found.group(1)) if found else DEFAULT_MEMORY


def agent_enabled(config):
    """parse_guest_agent: `agent` is `[enabled=]<bool>[,fstrim_cloned_disks=..][,type=..]`."""
    for part in str(config.get('agent', '')).split(','):
        key, eq, value = part.partition('=')
        if not eq:
            return flag(key)
        if key == 'enabled':
            return flag(value)
    return False


def startup_down(config):
    """The `down=` seconds of the `startup` option, which _do_vm_stop uses when no timeout is given."""
    found = re.search(r'(?:^|,)down=(\d+)', str(config.get('startup') or ''))
    return int(found.group(1)) if found else None


def snapshot_of(config):
    """__snapshot_copy_config: the config without the snapshot bookkeeping, lock, notes and unused disks."""
    return dict((k, v) for k, v in config.items() if k not in SNAPSHOT_SKIP and not re.match(r'^unused\d+$', k))


class Lifecycle(object):
    """Mixin of LabPve: snapshots, rollback, power and the status a running VM shows."""

    def _init_lifecycle(self):
        # vmid -> the VM object while its destroy request runs (its snapshots' RAM files go with it).
        self._destroying = {}

    # ------------------------------------------------------------ helpers

    @contextlib.asynccontextmanager
    async def _config_flock(self, vm):
        """lock_config: the config file's flock, waited for at most 10 s (fakepve's lock_wait)."""
        holder = object()
        await self.acquire(vm, holder)
        try:
            yield
        finally:
            self.release(vm, holder)

    @staticmethod
    def _task_check_lock(vm):
        """AbstractConfig::check_lock inside a worker: the task ends with `VM is locked (<lock>)`."""
        if vm.lock:
            raise TaskError('VM is locked ({0})'.format(vm.lock))

    @staticmethod
    def _root_only(user, p, *names):
        """raise_param_exc for the options only root@pam may give (skiplock, keepActive)."""
        for name in names:
            if flag(p.get(name)) and user != 'root@pam':
                raise param_error(**{name: 'Only root may use this option.'})

    def guest_uptime(self, vm):
        """Seconds (PVE time) since the VM's QEMU started; 0 when it is not running."""
        if vm.status != 'running' or not vm.started_at:
            return 0
        real = max(0.0, time.time() - vm.started_at)
        return int(real / self.time_scale) if self.time_scale else int(real)

    def guest_booted(self, vm):
        """True once the guest has been up for `guest_boot` (always at time factor 0)."""
        if not self.time_scale:
            return True
        real = max(0.0, time.time() - (vm.started_at or 0))
        return real / self.time_scale >= self.durations['guest_boot']

    def _vmstate_secs(self, vm):
        return self.task_secs('snapshot_vmstate', memory_mib(vm.config) / 1024.0)

    # ------------------------------------------------------- status and usage

    def _vm_usage(self, vm):
        data = super()._vm_usage(vm)
        if vm.status == 'running':
            data['uptime'] = self.guest_uptime(vm)
            if 'mem' not in vm.stats:
                data['mem'] = data['memhost'] = int(data['maxmem'] * GUEST_MEMORY_USE)
        return data

    def _vm_status(self, vm, listing=False):
        data = super()._vm_status(vm, listing)
        # vm_status: `agent` is 1 when the config enables the agent, else absent.
        data.pop('agent', None)
        if not listing and agent_enabled(vm.config):
            data['agent'] = 1
        return data

    async def _status_current(self, request):
        response = await super()._status_current(request)
        vm = self._vm(request)
        if agent_enabled(vm.config):
            return response
        # fakepve's answer is completed from the schema, which names `agent` (optional) too.
        body = json.loads(response.text)
        body['data'].pop('agent', None)
        return web.json_response(body)

    # ------------------------------------------------------------- config

    async def _apply_config(self, vm, user, p):
        running = vm.status == 'running'
        agent_before = vm.config.get('agent')
        await super()._apply_config(vm, user, p)
        if not running:
            return
        for key in FAST_PLUG:
            if key in vm.pending:
                value = vm.pending.pop(key)
                if value is None:
                    vm.config.pop(key, None)
                else:
                    vm.config[key] = value
        if 'agent' in p and vm.config.get('agent') != agent_before:
            # The agent's chardev comes with the next QEMU start: the change stays pending.
            vm.pending['agent'] = vm.config.pop('agent')
            if agent_before is not None:
                vm.config['agent'] = agent_before

    # -------------------------------------------------------------- power

    async def _guest_down(self, vm, timeout, force, secs_key):
        """_do_vm_stop with shutdown: ACPI (or the agent's guest-shutdown), then wait up to `timeout`.

        Returns the log line of a forced stop, or None; raises PVE's timeout error without force.
        """
        timeout = SHUTDOWN_DEFAULT_TIMEOUT if timeout is None else timeout
        # A running, enabled agent takes the request even when the guest ignores ACPI.
        listens = vm.acpi or (agent_enabled(vm.config) and self.agent_answers(vm))
        guest = self.task_secs(secs_key) if not vm.shutdown_secs else vm.shutdown_secs * float(
            self.faults['slow_factor'] or 1)
        if listens and guest < timeout:
            await self.pause(guest)
            vm.status = vm.qmpstatus = 'stopped'
            return None
        await self.pause(timeout)
        if not force:
            raise TaskError('VM quit/powerdown failed - got timeout')
        vm.status = vm.qmpstatus = 'stopped'
        return 'VM still running - terminating now with SIGTERM'

    async def _do_shutdown(self, vm, user, p):
        if vm.ha_managed:
            return await super()._do_shutdown(vm, user, p)
        self._root_only(user, p, 'skiplock', 'keepActive')
        force, skiplock = flag(p.get('forceStop')), flag(p.get('skiplock'))
        hard = False
        if vm.status == 'running' and vm.qmpstatus == 'paused':
            # A paused guest would get the ACPI request only when resumed.
            if not force:
                raise die('VM is paused - cannot shutdown')
            hard = True
        timeout = None if p.get('timeout') is None else int(p['timeout'])

        async def body():
            if vm.status != 'running':
                return None
            if not skiplock:
                self._task_check_lock(vm)
            if hard:
                vm.status = vm.qmpstatus = 'stopped'
                return 'VM is paused - stop instead of shutdown'
            wait = timeout if timeout is not None else startup_down(vm.config)
            return await self._guest_down(vm, wait, force, 'shutdown')
        return await self.task(vm.node, 'qmshutdown', vm.vmid, user, body, vm=vm)

    async def _do_stop(self, vm, user, p):
        if vm.ha_managed:
            return await super()._do_stop(vm, user, p)
        self._root_only(user, p, 'skiplock', 'keepActive', 'migratedfrom')
        skiplock = flag(p.get('skiplock'))

        async def body():
            # _do_vm_stop: nothing to do without a QEMU process; the lock is checked only then.
            if vm.status != 'running':
                return None
            if not skiplock:
                self._task_check_lock(vm)
            await self.pause(vm.stop_secs)
            vm.status = vm.qmpstatus = 'stopped'
            return None
        return await self.task(vm.node, 'qmstop', vm.vmid, user, body, vm=vm)

    async def _do_reboot(self, vm, user, p):
        if vm.status == 'running' and vm.qmpstatus == 'paused':
            raise die('VM is paused - cannot shutdown')
        if vm.status != 'running':
            raise die('VM {0} not running'.format(vm.vmid))
        timeout = None if p.get('timeout') is None else int(p['timeout'])

        async def body():
            async with self._config_flock(vm):
                if vm.status != 'running':
                    return None
                self._task_check_lock(vm)
                await self._guest_down(vm, timeout, False, 'reboot')
            # qmeventd sees QEMU exit; `qm cleanup` finds the reboot request and starts the VM
            # again as root@pam (a qmstart task of its own, which applies pending changes).
            await self._do_start(vm, 'root@pam', {})
            return None
        return await self.task(vm.node, 'qmreboot', vm.vmid, user, body, vm=vm, lock=False)

    # ----------------------------------------------------------- snapshots

    def vmstate_storage(self, config):
        """find_vmstate_storage: `vmstatestorage`, else a shared then a local storage holding a disk
        of the VM (a file-based one preferred), else `local`."""
        if config.get('vmstatestorage'):
            return config['vmstatestorage']
        found = {True: None, False: None}
        sids = sorted({volume_ref(volume)[0] for _k, volume, _p in drives_of(config, skip_cdrom=True)} - {None})
        for sid in sids:
            store = self.storages.get(sid) or {}
            shared = bool(store.get('shared'))
            if found[shared] is None or store.get('path'):
                found[shared] = sid
        return found[True] or found[False] or 'local'

    async def _alloc_vmstate(self, vm, snapname):
        """__snapshot_save_vmstate's vdisk_alloc: the state volume, under the storage lock."""
        sid = self.vmstate_storage(vm.config)
        store = self.storages.get(sid)
        if store is None:
            raise TaskError("storage '{0}' does not exist".format(sid))
        if not store.get('active', 1):
            raise TaskError("storage '{0}' is not online".format(sid))
        if store.get('type') in NO_IMAGE_ALLOC:
            raise TaskError(NO_IMAGE_ALLOC[store['type']])
        await self.storage_lock(vm.node, sid)
        name = 'vm-{0}-state-{1}'.format(vm.vmid, snapname)
        if store.get('path'):
            name = '{0}/{1}.raw'.format(vm.vmid, name)
        size = (memory_mib(vm.config) * 2 + DRIVER_STATE_MIB) * MiB
        store.setdefault('volumes', {})[name] = {'content': 'images', 'format': 'raw', 'size': size,
                                                 'vmid': vm.vmid, 'ctime': int(time.time())}
        return '{0}:{1}'.format(sid, name)

    async def _free_vmstate(self, vm, volid):
        """vdisk_free of a state volume: under the storage lock, as every free."""
        sid = volume_ref(volid)[0]
        if sid in self.storages:
            await self.storage_lock(vm.node, sid)
        self._qm_free(volid)

    async def _snapshot_prepare(self, vm, name, ram, description, log):
        """__snapshot_prepare, under the flock: checks, the RAM file, the `snapshot` lock, snapstate prepare."""
        if vm.template:
            raise TaskError("you can't take a snapshot if it's a template")
        self._task_check_lock(vm)
        if name in vm.snapshots:
            raise TaskError("snapshot name '{0}' already used".format(name))
        if not self._qm_can_snapshot(vm.config):
            raise TaskError('snapshot feature is not available')
        for other in sorted(vm.snapshots):
            if vm.snapshots[other].get('parent') == name:
                log.append("deleting parent '{0}' reference from '{1}' to avoid bogus snapshot cycle.".format(
                    name, other))
                del vm.snapshots[other]['parent']
        statefile = None
        if ram and vm.status == 'running':
            # A stopped VM has no RAM to save: PVE takes a disk-only snapshot, without an error.
            statefile = await self._alloc_vmstate(vm, name)
        snap = snapshot_of(vm.config)
        if statefile:
            snap.update(vmstate=statefile, runningmachine=shapes.MACHINE,
                        runningcpu=str(vm.config.get('cpu') or 'x86-64-v2-AES') + ',enforce')
        snap.update(snapstate='prepare', snaptime=int(time.time()))
        if description:
            snap['description'] = description
        vm.snapshots[name] = snap
        self._qm_lock(vm, 'snapshot')
        return snap

    def _unlink_snapshot(self, vm, name):
        """snapshot_delete's cleanup: children (and the current config) move to the deleted one's parent."""
        parent = vm.snapshots[name].get('parent')
        for conf in [vm.config] + [s for n, s in vm.snapshots.items() if n != name]:
            if conf.get('parent') == name:
                if parent:
                    conf['parent'] = parent
                else:
                    conf.pop('parent')
        del vm.snapshots[name]

    async def _qm_snapshot(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        name = v['snapname']
        if name == 'current':
            raise die("unable to use snapshot name 'current' (reserved name)")
        if name.lower() == 'pending':
            raise die("unable to use snapshot name 'pending' (reserved name)")
        self.need_quorum()
        ram, description = flag(v.get('vmstate')), v.get('description')
        log = []

        async def body():
            async with self._config_flock(vm):
                snap = await self._snapshot_prepare(vm, name, ram, description, log)
            if snap.get('vmstate'):
                log.append("saving VM state and RAM using storage '{0}'".format(volume_ref(snap['vmstate'])[0]))
            drives = [k for k, _vol, _p in drives_of(snap, skip_cdrom=True)]
            log.extend("snapshotting 'drive-{0}' ({1})".format(k, volume_ref(snap[k].split(',')[0])[1])
                       for k in drives)
            try:
                await self.pause(self.task_secs('snapshot') + (self._vmstate_secs(vm) if snap.get('vmstate') else 0))
                await self.ceph_io(vm, drives)
            except TaskError:
                # snapshot_create's cleanup: snapshot_delete with force, which also drops the lock.
                log.append('snapshot create failed: starting cleanup')
                if snap.get('vmstate'):
                    self._qm_free(snap['vmstate'])
                self._unlink_snapshot(vm, name)
                self._qm_lock(vm, None)
                raise
            async with self._config_flock(vm):
                # __snapshot_commit
                if vm.lock != 'snapshot':
                    raise TaskError('missing snapshot lock')
                snap.pop('snapstate', None)
                self._qm_lock(vm, None)
                vm.config['parent'] = name
            return '\n'.join(log) or None
        return await self.task(vm.node, 'qmsnapshot', vm.vmid, user, body, vm=vm, lock=False)

    async def _qm_snapshot_delete(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        name = v['snapname']
        force = flag(v.get('force'))
        self.need_quorum()

        async def body():
            if name not in vm.snapshots:
                raise TaskError("snapshot '{0}' does not exist".format(name))
            async with self._config_flock(vm):
                # set_lock: check_lock, then `lock: snapshot-delete`.
                self._task_check_lock(vm)
                self._qm_lock(vm, 'snapshot-delete')
            async with self._config_flock(vm):
                if vm.template:
                    raise TaskError("you can't delete a snapshot if vm is a template")
                snap = vm.snapshots[name]
                snap['snapstate'] = 'delete'
            if snap.get('vmstate'):
                await self._free_vmstate(vm, snap['vmstate'])
                snap.pop('vmstate')
            try:
                await self.pause(self.task_secs('snapshot_delete'))
                await self.ceph_io(vm, [k for k, _vol, _p in drives_of(snap, skip_cdrom=True)])
            except TaskError:
                if not force:
                    # What failed stays: the snapshot in state `delete` and `lock: snapshot-delete`.
                    raise
            async with self._config_flock(vm):
                if vm.lock != 'snapshot-delete':
                    raise TaskError("encountered invalid lock, expected 'snapshot-delete'")
                self._unlink_snapshot(vm, name)
                self._qm_lock(vm, None)
            return None
        return await self.task(vm.node, 'qmdelsnapshot', vm.vmid, user, body, vm=vm, lock=False)

    def _rollback_target(self, vm, name):
        if vm.template:
            raise TaskError("you can't rollback if vm is a template")
        snap = vm.snapshots.get(name)
        if snap is None:
            raise TaskError("snapshot '{0}' does not exist".format(name))
        if snap.get('snapstate'):
            raise TaskError('unable to rollback to incomplete snapshot (snapstate = {0})'.format(snap['snapstate']))
        return snap

    def _apply_snapshot(self, vm, name, snap):
        """__snapshot_apply_config and the rollback hook: the snapshot's config, the current notes and
        unused disks kept, a new vmgenid, the running-* keys of a RAM snapshot dropped."""
        config = dict((k, x) for k, x in vm.config.items() if k == 'description' or re.match(r'^unused\d+$', k))
        config.update(snapshot_of(snap))
        for key in ('runningmachine', 'runningcpu', 'running-nets-host-mtu'):
            config.pop(key, None)
        if config.get('vmgenid'):
            config['vmgenid'] = str(uuid.uuid4())
        config['parent'] = name
        vm.config = config
        vm.pending = {}
        vm.name = config.get('name') or 'VM {0}'.format(vm.vmid)

    def _power_on(self, vm):
        """vm_start's effect: the bridges must be up; the QEMU process runs."""
        self._start_bridges_ok(vm)
        vm.status = vm.qmpstatus = 'running'
        vm.started_at = time.time()

    async def _qm_rollback(self, v, user):
        vm = self.find(v['node'], v['vmid'])
        name = v['snapname']
        start = flag(v.get('start'))
        if start:
            # qemu-server 9.1.10: the start after the rollback needs VM.PowerMgmt, checked up front.
            self.require(user, '/vms/{0}'.format(vm.vmid), 'VM.PowerMgmt')
        self.need_quorum()

        async def body():
            log = []
            async with self._config_flock(vm):
                self._rollback_target(vm, name)
                self._task_check_lock(vm)
                if vm.status == 'running':
                    # __snapshot_rollback_vm_stop: a hard stop, whatever the snapshot holds.
                    await self.pause(min(self.task_secs('stop'), ROLLBACK_STOP_TIMEOUT))
                    vm.status = vm.qmpstatus = 'stopped'
                self._qm_lock(vm, 'rollback')
            await self.pause(self.task_secs('rollback'))
            async with self._config_flock(vm):
                if vm.lock != 'rollback':
                    raise TaskError('got wrong lock')
                snap = self._rollback_target(vm, name)
                self._qm_lock(vm, None)
                self._apply_snapshot(vm, name, snap)
                if snap.get('vmstate'):
                    # __snapshot_rollback_vm_start: QEMU resumes from the state file.
                    log.append('start VM {0} with the state of snapshot {1}'.format(vm.vmid, name))
                    await self.pause(self._vmstate_secs(vm) + self.task_secs('start'))
                    self._power_on(vm)
            if start and vm.status != 'running':
                await self.pause(self.task_secs('start'))
                self._power_on(vm)
            return '\n'.join(log) or None
        return await self.task(vm.node, 'qmrollback', vm.vmid, user, body, vm=vm, lock=False)

    # -------------------------------------------------------------- destroy

    async def _qm_destroy(self, v, user):
        vm = self.vm(int(v['vmid']))
        if vm is not None:
            self._destroying[vm.vmid] = vm
        return await super()._qm_destroy(v, user)

    def _pool_leave(self, vmid):
        # The destroy task calls this once the VM is gone: destroy_vm also frees each snapshot's RAM file.
        super()._pool_leave(vmid)
        vm = self._destroying.pop(vmid, None)
        if vm is not None and self.vm(vmid) is None:
            for snap in vm.snapshots.values():
                if snap.get('vmstate'):
                    self._qm_free(snap['vmstate'])

    # ---------------------------------------------------------------- state

    @staticmethod
    def snapshot_dump(vm):
        """{name: {parent, snaptime, description, vmstate, snapstate}} of a VM, for the state dump."""
        return dict((name, {'parent': s.get('parent'), 'snaptime': s.get('snaptime'),
                            'description': s.get('description') or '', 'vmstate': s.get('vmstate'),
                            'snapstate': s.get('snapstate')})
                    for name, s in sorted(vm.snapshots.items()))
