# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""CSV text for a spreadsheet (the stand listing, the status page): a header line, one row per dict."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import csv
import io


def sheet_cell(value):
    # a cell a spreadsheet would run as a formula is quoted as text (OWASP "CSV injection"): names and comments
    # come from the cluster, where anyone with VM.Config.Options on a VM can write them
    text = '' if value is None else str(value)
    return "'" + text if text[:1] in ('=', '+', '@', '\t', '\r') else text


def csv_text(columns, rows):
    """CSV (RFC 4180, csv module quoting) of `rows` under the header `columns`."""
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, lineterminator='\n')
    writer.writeheader()
    for row in rows:
        writer.writerow(dict((k, sheet_cell(v)) for k, v in row.items()))
    return out.getvalue()
