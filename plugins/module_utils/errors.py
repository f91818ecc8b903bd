# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors of deploystand.proxmox shared by every layer.

- ``StandError``: a request the stand logic cannot satisfy (exhausted range, unresolvable template...).
- ``RunFailed``: a refusal or failure of a whole run (a machine, a student): the message for the user and
  the result up to that point, which the module returns with the failure (``PveModule.run``).
- API errors are ``pve/client.py`` ``PveApiError``, with a ``kind``.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class StandError(Exception):
    """A request the stand logic cannot satisfy (exhausted range, unresolvable template...)."""


class RunFailed(Exception):
    """A run that failed or was refused: the message (every failed part), and the result so far."""

    def __init__(self, message, result):
        super(RunFailed, self).__init__(message)
        self.message = message
        self.result = result
