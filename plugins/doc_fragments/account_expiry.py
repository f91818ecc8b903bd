# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type


class ModuleDocFragment(object):
    """The account-expiry options pve_user_pool and pve_stand_student share (stand.expires, issue 16)."""

    DOCUMENTATION = r'''
options:
  expire:
    description:
      - The end of the student's account, in epoch seconds (C(0) = never), as PVE's own user C(expire); after it
        PVE refuses the student's logins. The stand_plan role gives the plan's C(expire) (from C(stand.expires)).
      - Set on a user that carries the stand's marker (the stand made it). An account other stands use too gets
        the latest end among them (C(0) when one of them has none), so no stand cuts off another's students; an
        account that existed before the stand keeps its own expiry (RV(expire_managed) is false).
      - Also kept in the pool's comment as C(deploystand-expires:<UTC time>) (removed for C(0)), which the listing
        and C(stand_cleanup.yml) read. Not given - nothing about the expiry is read or written.
    type: int
  since:
    description:
      - The stand's first deploy (C(YYYY-MM-DD), the plan's C(since)), written into the comment of a pool this
        run creates as C(deploystand-since:<date>) (and of an existing pool without one when O(expire) is set), so
        that C(stand.expires) in days gives the same end on every run. Never changed once written.
    type: str
'''
