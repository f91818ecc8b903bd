"""The filters stand_cleanup.yml decides with: which stands of a listing go, what the removal plan gets."""
from ansible_collections.deploystand.proxmox.plugins.filter import expiry as F
from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.inputs import normalize_stand

NOW = 1800000000


def listing():
    def student(expires, machines):
        return {'expires': expires, 'vms': [{'machine': m} for m in machines]}
    return {'stands': {
        'oldlab': {'expires': NOW - 10, 'expires_at': 'old', 'students': {
            's1@pve': student(NOW - 10, ['router', 'host1']), 's2@pve': student(NOW - 20, ['host1', None])}},
        'newlab': {'expires': NOW + 10, 'expires_at': 'new', 'students': {'s1@pve': student(NOW + 10, ['host1'])}},
        'forever': {'expires': None, 'expires_at': None, 'students': {'s3@pve': student(None, ['host1'])}}}}


def test_only_stands_whose_end_has_passed_are_selected_and_a_name_never_widens_that():
    assert [s['stand'] for s in F.stand_cleanup_selection(listing(), now=NOW)] == ['oldlab']
    assert F.stand_cleanup_selection(listing(), ['newlab', 'forever'], now=NOW) == []
    chosen = F.stand_cleanup_selection(listing(), ['oldlab'], now=NOW)[0]
    assert chosen['students'] == ['s1@pve', 's2@pve']


def test_the_removal_stand_is_valid_for_the_removal_plan_and_names_the_machines_of_the_vms():
    removal = F.stand_cleanup_selection(listing(), now=NOW)[0]['removal']
    assert [m['name'] for m in removal['machines']] == ['host1', 'router']
    normalized, errors = normalize_stand(removal)
    assert errors == [] and normalized['name'] == 'oldlab'
    assert normalize_stand(F.removal_stand('empty', {'students': {'a@pve': {'vms': []}}}))[1] == []


def test_the_lines_say_what_goes_and_why_the_rest_stays():
    selection = F.stand_cleanup_selection(listing(), now=NOW)
    lines = F.stand_cleanup_lines(listing(), selection, check_mode=True)
    assert lines == ['keeping forever: it has no end (stand.expires, on every student pool)',
                     'keeping newlab: ends new', 'would remove oldlab: ended old; students s1@pve, s2@pve']
    assert F.stand_cleanup_nodes({'b': {'nodes': {'pve2': [], 'pve1': []}}, 'a': {'nodes': {}}}) == [
        ['b', 'pve1'], ['b', 'pve2']]
    assert F.stand_expiry_stamp(0) is None and F.stand_expiry_stamp('1801439999') == '2027-01-31T23:59:59Z'
