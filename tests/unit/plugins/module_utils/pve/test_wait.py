"""The shared waiters: converge (a write read back after a broken connection) and poll_until (a state
waited for, on the caller's clock and through the caller's sleep)."""
import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.pve import wait as W
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.client import PveApiError


# --- converge ----------------------------------------------------------------------------------

def broken():
    return PveApiError('the connection broke', kind='connection')


def test_converge_rereads_after_a_broken_connection_and_does_not_resend_when_the_write_landed():
    calls = []

    def write():
        calls.append('write')
        raise broken()
    W.converge(write, lambda: True)
    assert calls == ['write']


def test_converge_resends_when_the_write_did_not_land_and_gives_up_after_three_rounds():
    calls = []

    def write():
        calls.append('write')
        raise broken()
    with pytest.raises(PveApiError) as exc:
        W.converge(write, lambda: False)
    assert exc.value.kind == 'connection' and calls == ['write'] * 3


def test_converge_accepts_exists_on_the_resend_when_the_first_attempt_had_landed():
    state = {'n': 0}

    def write():
        state['n'] += 1
        raise broken() if state['n'] == 1 else PveApiError('already exists', kind='exists')
    checks = iter([False, True])
    W.converge(write, lambda: next(checks))
    assert state['n'] == 2


def test_converge_passes_other_errors_through_without_rereading():
    def write():
        raise PveApiError('no', kind='permission')

    def done():
        raise AssertionError('must not re-read')
    with pytest.raises(PveApiError):
        W.converge(write, done)


# --- poll_until --------------------------------------------------------------------------------

class FakeTime(object):
    """A clock that only sleeping moves: every sleep is recorded."""

    def __init__(self):
        self.now = 0.0
        self.sleeps = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.sleeps.append(seconds)
        self.now += seconds


def reads(*values):
    """read() giving these values in turn (an exception instance is raised instead)."""
    pending = list(values)

    def read():
        value = pending.pop(0)
        if isinstance(value, Exception):
            raise value
        return value
    return read


def test_poll_until_returns_the_first_value_that_satisfies_the_predicate():
    t = FakeTime()
    value = W.poll_until(reads({'lock': 'clone'}, {'lock': 'clone'}, {'status': 'ok'}), lambda v: 'lock' not in v,
                         10, t.sleep, clock=t.clock)
    assert value == {'status': 'ok'}
    assert t.sleeps == [1.0, 1.0]


def test_poll_until_sleeps_only_through_the_given_sleep_growing_up_to_the_cap():
    t = FakeTime()
    W.poll_until(reads(*[False] * 6 + [True]), bool, 100, t.sleep, clock=t.clock, interval=0.1, growth=2,
                 max_interval=0.5)
    assert t.sleeps == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5, 0.5])


def test_poll_until_times_out_with_what_it_waited_for_and_never_sleeps_past_the_deadline():
    t = FakeTime()
    with pytest.raises(W.PollTimeout) as caught:
        W.poll_until(lambda: 'locked', lambda v: v == 'free', 2.5, t.sleep, clock=t.clock, what='VM 100 to unlock')
    late = caught.value
    assert late.kind == 'wait_timeout' and isinstance(late, PveApiError)
    assert late.message == 'still waiting for VM 100 to unlock after 2 s (timeout 2.5 s)'
    assert late.waited == 2.5 and late.last == 'locked'
    assert t.sleeps == [1.0, 1.0, 0.5]


def test_poll_until_looks_once_even_with_no_time_left():
    t = FakeTime()
    looks = []

    def read():
        looks.append(1)
        return False
    with pytest.raises(W.PollTimeout):
        W.poll_until(read, bool, 0, t.sleep, clock=t.clock)
    assert looks == [1] and t.sleeps == []


def test_poll_until_counts_a_read_of_a_retried_kind_as_not_yet_and_raises_any_other():
    t = FakeTime()
    assert W.poll_until(reads(broken(), True), bool, 10, t.sleep, clock=t.clock, retry_kinds=('connection',))
    with pytest.raises(PveApiError) as caught:
        W.poll_until(reads(broken()), bool, 10, t.sleep, clock=t.clock)
    assert caught.value.kind == 'connection'

    def always_broken():
        raise broken()
    with pytest.raises(W.PollTimeout) as late:
        W.poll_until(always_broken, bool, 1, t.sleep, clock=t.clock, retry_kinds=('connection',))
    assert late.value.last is None
