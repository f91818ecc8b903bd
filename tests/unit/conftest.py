"""The unit tests mirror plugins/. The stand test helpers (test_stand_support's cluster and stand builders,
test_stand_info's listing) are shared with the filter tests, so their folder is on the import path."""
import os
import sys

STAND_TESTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'plugins', 'module_utils', 'stand')
if STAND_TESTS not in sys.path:
    sys.path.insert(0, STAND_TESTS)
