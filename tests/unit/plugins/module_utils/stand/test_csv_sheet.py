import csv
import io

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.csv_sheet import csv_text


def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_kept_as_text():
    text = csv_text(('name', 'problems'), [{'name': 's1-host1', 'problems': '=HYPERLINK("http://x")'},
                                           {'name': '@SUM(A1)', 'problems': None}])
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{'name': 's1-host1', 'problems': '\'=HYPERLINK("http://x")'},
                    {'name': "'@SUM(A1)", 'problems': ''}]
    assert text.splitlines()[0] == 'name,problems'
