# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The errors of deploystand.proxmox shared by every layer.

``StandError``: a request the stand logic cannot satisfy (exhausted range, unresolvable template...).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


class StandError(Exception):
    """A request the stand logic cannot satisfy (exhausted range, unresolvable template...)."""
