"""stand.expires: the pure rules (module_utils/expiry.py) and how the plan records them."""
import calendar
import datetime

import pytest

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand import expiry as E
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import owns, parse_marker

NOW = calendar.timegm((2026, 12, 2, 13, 40, 0))


@pytest.mark.parametrize('value, wanted', [
    ('2027-01-31', {'date': '2027-01-31'}),
    (datetime.date(2027, 1, 31), {'date': '2027-01-31'}),          # YAML's unquoted date
    (30, {'days': 30}), ('30', {'days': 30}), (' 7 ', {'days': 7}),
    ('2027-01-31T18:00:00+01:00', {'at': calendar.timegm((2027, 1, 31, 17, 0, 0))}),
    ('2027-01-31T18:00Z', {'at': calendar.timegm((2027, 1, 31, 18, 0, 0))}),
    (None, None), ('', None),
])
def test_expires_accepts_a_date_a_moment_or_days(value, wanted):
    assert E.normalize_expires(value) == (wanted, None)


@pytest.mark.parametrize('value, words', [
    (True, 'boolean'), (0, '1-3650'), (3651, '1-3650'), ('2027-02-30', 'not a calendar date'),
    ('next month', 'neither a date'), ('2027-01-31T18:00:00', 'neither a date'),
    (datetime.datetime(2027, 1, 31, 18, 0), 'no time zone'), ('2027-01-31T25:00Z', 'not a time of day'),
])
def test_bad_expires_gives_one_clear_message(value, words):
    normalized, problem = E.normalize_expires(value)
    assert normalized is None and words in problem


def test_a_date_ends_at_the_end_of_that_day_in_utc():
    assert E.stamp(E.resolve({'date': '2027-01-31'}, '2026-12-02')) == '2027-01-31T23:59:59Z'


def test_days_count_from_the_first_deploy_recorded_in_the_pools_not_from_today():
    comments = ['deploystand:netlab:s1@pve deploystand-since:2026-11-20',
                'deploystand:netlab:s2@pve deploystand-since:2026-11-25', 'deploystand:netlab:s3@pve']
    ending, warnings = E.plan_expiry({'days': 30}, comments, now=NOW)
    assert ending == {'expires': {'days': 30}, 'since': '2026-11-20', 'expire': ending['expire'],
                      'expires_at': '2026-12-20T23:59:59Z'}
    assert warnings == []
    # a stand without any recorded first deploy starts today
    assert E.plan_expiry({'days': 1}, ['deploystand:netlab:s1@pve'], now=NOW)[0]['expires_at'] == '2026-12-03T23:59:59Z'


def test_an_end_that_has_passed_is_a_warning_not_an_error():
    ending, warnings = E.plan_expiry({'date': '2026-01-31'}, [], now=NOW)
    assert ending['expire'] < NOW and len(warnings) == 1 and 'stand_cleanup.yml' in warnings[0]


def test_no_expires_is_never():
    assert E.plan_expiry(None, [], now=NOW)[0]['expire'] == 0
    assert not E.expired(0, NOW) and not E.expired(None, NOW)
    assert E.expired(NOW - 1, NOW) and not E.expired(NOW + 1, NOW)


def test_pool_comment_tokens_keep_the_marker_and_never_move_the_first_deploy():
    marker = 'deploystand:netlab:s1@pve'
    first = E.pool_comment(marker, '2026-12-02', E.resolve({'date': '2027-01-31'}, None))
    assert first == marker + ' deploystand-since:2026-12-02 deploystand-expires:2027-01-31T23:59:59Z'
    assert owns(first, marker) and parse_marker(first)['userid'] == 's1@pve'
    assert E.since_of(first) == '2026-12-02' and E.stamp(E.expires_of(first)) == '2027-01-31T23:59:59Z'
    later = E.pool_comment(first, '2026-12-24', E.resolve({'date': '2027-02-28'}, None))
    assert later == marker + ' deploystand-since:2026-12-02 deploystand-expires:2027-02-28T23:59:59Z'
    assert E.pool_comment(later, None, 0) == marker + ' deploystand-since:2026-12-02'
    assert E.pool_comment(marker, None, None) == marker


def test_the_stand_validation_names_the_field():
    stand = {'name': 'netlab', 'expires': 'soon', 'machines': [{'name': 'h', 'template': 't', 'networks': ['lan']}]}
    normalized, errors = normalize_stand(stand)
    assert normalized is None and len(errors) == 1 and errors[0].startswith('stand.expires: ')
    normalized, errors = normalize_stand(dict(stand, expires=30))
    assert errors == [] and normalized['expires'] == {'days': 30}
