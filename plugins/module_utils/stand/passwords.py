# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Generated student passwords and the rule for typed ones. Pure: standard library only.
"""
from __future__ import absolute_import, division, print_function

import secrets
import unicodedata

from ansible_collections.deploystand.proxmox.plugins.module_utils.argspecs import DEFAULTS
from ansible_collections.deploystand.proxmox.plugins.module_utils.errors import StandError
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import (
    PASSWORD_ALPHABET, PASSWORD_LEN,
)

__metaclass__ = type


def generate_password(length=DEFAULTS['password_length']):
    """Random password without look-alike characters (0 O o 1 l I), with at least one lower-case
    letter, upper-case letter and digit. length must be within PVE's 8-64."""
    if not PASSWORD_LEN[0] <= length <= PASSWORD_LEN[1]:
        raise StandError('generate_password: length must be %d-%d' % PASSWORD_LEN)
    while True:
        password = ''.join(secrets.choice(PASSWORD_ALPHABET) for _char in range(length))
        if (any(c.islower() for c in password) and any(c.isupper() for c in password)
                and any(c.isdigit() for c in password)):
            return password


def password_control_problem(password):
    """Why a password with a control character (a tab, a newline, ...) is refused, or None. PVE stores
    it, but nobody can type it in the login form. Never names the password, only the position."""
    for index, char in enumerate(password):
        if unicodedata.category(char) == 'Cc':
            return ('holds a control character (U+%04X at position %d), which nobody can type at the login; '
                    'use printable characters' % (ord(char), index + 1))
    return None
