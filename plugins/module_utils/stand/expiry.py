# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""When a stand ends: `stand.expires` (a date, a moment, or a number of days from the stand's first
deploy) and the two tokens a stand keeps in its student pools' comments to know it again.

Pure logic, standard library only (like stand.py). The rules (docs/stand-model.md, "expires"):

- `2027-01-31` (a date) ends at the end of that day in UTC: 2027-01-31T23:59:59Z;
- `2027-01-31T18:00:00+01:00` (an ISO moment with its offset, or `Z`) ends then;
- `30` (days, 1-3650) ends at the end of the day (UTC) 30 days after the stand's first deploy.

The first deploy is the date in the `deploystand-since:<YYYY-MM-DD>` token that the stand writes
into each of its student pools' comments when it makes them (the earliest of the stand's pools;
today when it has none yet), so the expiry is the same on every re-run. The resolved end is
written as `deploystand-expires:<YYYY-MM-DDTHH:MM:SSZ>` into the same comments (what the listing
and stand_cleanup.yml read: the stand's own objects, whoever owns the accounts) and as PVE's own
user `expire` (epoch seconds, 0 = never) on the accounts the stand alone uses.
"""
from __future__ import absolute_import, division, print_function

import calendar
import datetime
import re
import time

__metaclass__ = type

SINCE_PREFIX = 'deploystand-since:'
EXPIRES_PREFIX = 'deploystand-expires:'
DAYS_MAX = 3650
DAY = 86400

_DATE_RE = re.compile(r'^\d{4}-\d{2}-\d{2}$')
_MOMENT_RE = re.compile(r'^(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?(Z|[+-]\d{2}:?\d{2})$')
_STAMP = '%Y-%m-%dT%H:%M:%SZ'


class ExpiryError(ValueError):
    """A value of stand.expires or of an expiry token that is not usable; the message says why."""


def _date(text):
    try:
        return datetime.datetime.strptime(text, '%Y-%m-%d').date()
    except ValueError:
        raise ExpiryError('{0!r} is not a calendar date'.format(text))


def _end_of_day(day):
    """Epoch of the last second of that (UTC) day."""
    return calendar.timegm(day.timetuple()) + DAY - 1


def normalize_expires(value):
    """stand.expires -> (normalized, problem). normalized is None (no expiry), {'date': 'YYYY-MM-DD'},
    {'at': epoch} or {'days': n}; problem is None or the message (without the field name)."""
    if value is None or value == '':
        return None, None
    if isinstance(value, bool):
        return None, 'expected a date (2027-01-31), an ISO moment with its offset or a number of days, got a boolean'
    if isinstance(value, datetime.datetime):
        if value.tzinfo is None:
            return None, '{0} has no time zone (add Z or an offset, e.g. +01:00)'.format(value.isoformat())
        return {'at': int(calendar.timegm(value.utctimetuple()))}, None
    if isinstance(value, datetime.date):
        return {'date': value.isoformat()}, None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    if isinstance(value, int) or text.isdigit():
        days = int(text)
        if not 1 <= days <= DAYS_MAX:
            return None, 'a number of days must be 1-{0}, got {1}'.format(DAYS_MAX, days)
        return {'days': days}, None
    try:
        if _DATE_RE.match(text):
            return {'date': _date(text).isoformat()}, None
        return {'at': parse_moment(text)}, None
    except ExpiryError as exc:
        return None, str(exc)


def parse_moment(text):
    """'2027-01-31T18:00:00+01:00' (or ...Z) -> epoch seconds; ExpiryError otherwise."""
    found = _MOMENT_RE.match(str(text).strip())
    if not found:
        raise ExpiryError('{0!r} is neither a date (2027-01-31), an ISO moment with its offset '
                          '(2027-01-31T18:00:00+01:00) nor a number of days'.format(text))
    day, hour, minute, second, zone = found.groups()
    hour, minute, second = int(hour), int(minute), int(second or 0)
    if hour > 23 or minute > 59 or second > 59:
        raise ExpiryError('{0!r} is not a time of day'.format(text))
    epoch = calendar.timegm(_date(day).timetuple()) + hour * 3600 + minute * 60 + second
    if zone != 'Z':
        digits = zone[1:].replace(':', '')
        offset = int(digits[:2]) * 3600 + int(digits[2:]) * 60
        epoch -= offset if zone[0] == '+' else -offset
    return epoch


def stamp(epoch):
    """'2027-01-31T23:59:59Z' for an epoch (None for none)."""
    return time.strftime(_STAMP, time.gmtime(int(epoch))) if epoch else None


def today(now=None):
    """Today's date in UTC as 'YYYY-MM-DD'."""
    return time.strftime('%Y-%m-%d', time.gmtime(time.time() if now is None else now))


def resolve(expires, since):
    """The epoch the stand ends at (0 = never) for normalize_expires' value and the first deploy date."""
    if not expires:
        return 0
    if 'at' in expires:
        return int(expires['at'])
    if 'date' in expires:
        return _end_of_day(_date(expires['date']))
    return _end_of_day(_date(since) + datetime.timedelta(days=int(expires['days'])))


# ------------------------------------------------------------------------------ pool comments

def _token_value(comment, prefix):
    for token in str(comment or '').split():
        if token.startswith(prefix) and len(token) > len(prefix):
            return token[len(prefix):]
    return None


def since_of(comment):
    """The first-deploy date a pool comment records ('YYYY-MM-DD'), or None (absent or unreadable)."""
    value = _token_value(comment, SINCE_PREFIX)
    if value is None or not _DATE_RE.match(value):
        return None
    try:
        return _date(value).isoformat()
    except ExpiryError:
        return None


def expires_of(comment):
    """The end a pool comment records (epoch), or None."""
    value = _token_value(comment, EXPIRES_PREFIX)
    if value is None:
        return None
    try:
        return calendar.timegm(time.strptime(value, _STAMP))
    except ValueError:
        return None


def _without(comment, prefix):
    return ' '.join(t for t in str(comment or '').split() if not t.startswith(prefix))


def pool_comment(comment, since=None, expire=None):
    """The pool comment with the stand's tokens: the since token added when `since` is given and the
    comment has none (a recorded first deploy is never changed), the expires token set to `expire`
    (0: removed; None: left as it is). Every other token is kept in its place."""
    text = ' '.join(str(comment or '').split())
    if since and since_of(text) is None:
        text = '{0} {1}{2}'.format(_without(text, SINCE_PREFIX), SINCE_PREFIX, since).strip()
    if expire is not None:
        text = _without(text, EXPIRES_PREFIX)
        if expire:
            text = '{0} {1}{2}'.format(text, EXPIRES_PREFIX, stamp(expire)).strip()
    return text


def first_deploy(pool_comments, now=None):
    """The stand's first deploy: the earliest since date among its pools' comments, else today."""
    dates = sorted(d for d in (since_of(c) for c in pool_comments) if d)
    return dates[0] if dates else today(now)


def plan_expiry(expires, pool_comments, now=None):
    """What the plan records: {'expires' (normalized input), 'since', 'expire' (epoch, 0 = never),
    'expires_at'} and the warnings (an end that has passed)."""
    since = first_deploy(pool_comments, now)
    expire = resolve(expires, since)
    warnings = []
    now = time.time() if now is None else now
    if expire and expire < now:
        warnings.append('stand.expires: the stand ended at {0}: its students cannot log in, and '
                        'stand_cleanup.yml removes it'.format(stamp(expire)))
    return {'expires': expires, 'since': since, 'expire': expire, 'expires_at': stamp(expire)}, warnings


def expired(expire, now=None):
    """True when the end (epoch) has passed; a stand without an end never expires."""
    return bool(expire) and int(expire) < (time.time() if now is None else now)
