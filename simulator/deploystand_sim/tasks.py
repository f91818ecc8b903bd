"""Waiting for a task the simulator started itself (an apply's node reloads, an HA manager's action)."""

import asyncio

POLL = 0.005


async def finished(pve, upid):
    """The task record once its status is `stopped` (at time factor 0 it already is)."""
    record = pve.tasks[upid]
    while record['status'] != 'stopped':
        await asyncio.sleep(POLL)
    return record
