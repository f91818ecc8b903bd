# -*- coding: utf-8 -*-
# Copyright (c) deploystand.proxmox contributors
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one HTML page style: a page of cards (one per student), green or red, readable on a
classroom screen and on paper, and the small picture of a student's network as inline SVG. Pure Python,
standard library only; no external asset, no JavaScript.

Every text that reaches the page goes through `esc` (or `table`, `link`, `network_svg`, which call it):
a VM or student name is data, never markup. Callers build a card body from these pieces, or pass
their own HTML built with `esc`.

    cards = [card('student1@pve', body, state='ok', subtitle='node pve1')]
    html = page('netlab: status', cards, intro='3 students, 9 machines')

Used by the status page (status_report.py, `page` and `card`) and the credentials handout (report.py,
`cards_page`, one card per printed page).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from html import escape as _escape

from ansible_collections.deploystand.proxmox.plugins.module_utils.stand.names import ECOROUTER

STATES = ('ok', 'bad', 'neutral')

PAGE_CSS = """
:root { --ok: #1b7f3b; --ok-bg: #e7f5ea; --bad: #b3261e; --bad-bg: #fdecea; --line: #c9ced6; --ink: #1d232b; }
* { box-sizing: border-box; }
body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, Arial, sans-serif; color: var(--ink);
       margin: 1.5rem; font-size: 15px; line-height: 1.35; }
h1 { font-size: 1.6rem; margin: 0 0 .3rem 0; }
.intro { color: #4a525c; margin: 0 0 1rem 0; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1rem; }
.card { border: 2px solid var(--line); border-left-width: .7rem; border-radius: .5rem; padding: .7rem .9rem;
        break-inside: avoid; page-break-inside: avoid; background: #fff; }
.card.ok { border-color: var(--ok); background: var(--ok-bg); }
.card.bad { border-color: var(--bad); background: var(--bad-bg); }
.card h2 { font-size: 1.2rem; margin: 0; display: flex; justify-content: space-between; gap: .5rem; }
.card .state { font-size: .85rem; font-weight: 700; padding: .1rem .5rem; border-radius: 1rem; color: #fff;
               background: #6b7280; white-space: nowrap; }
.card.ok .state { background: var(--ok); }
.card.bad .state { background: var(--bad); }
.card .sub { color: #4a525c; font-size: .9rem; margin: .15rem 0 .5rem 0; }
.card table { border-collapse: collapse; width: 100%; font-size: .85rem; margin: .3rem 0; }
.card th, .card td { text-align: left; padding: .15rem .35rem; border-bottom: 1px solid var(--line);
                     vertical-align: top; }
.card th { font-weight: 600; }
.card ul { margin: .3rem 0; padding-left: 1.2rem; }
.card .problems li { color: var(--bad); font-weight: 600; }
.card a { color: #0b57d0; word-break: break-all; }
.card svg { display: block; max-width: 100%; height: auto; margin-top: .4rem; }
.mono { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
footer { margin-top: 1rem; color: #4a525c; font-size: .8rem; }
@media print {
  body { margin: 0; font-size: 11pt; }
  .cards { display: block; }
  .card { margin: 0 0 .6cm 0; background: #fff !important; border-color: #000; }
  .card.ok { border-left: .25cm solid #000; }
  .card.bad { border-left: .25cm double #000; }
  .card .state { color: #000; background: #fff !important; border: 1px solid #000; }
  .card.bad .state::before { content: "! "; }
  .card a { color: #000; text-decoration: none; }
  .card a[href]::after { content: ""; }
  /* a handout: each card on its own sheet, to hand to its student */
  .one-per-page .card { break-after: page; page-break-after: always; }
  .one-per-page .card:last-child { break-after: auto; page-break-after: auto; }
}
"""


def esc(value):
    """Text for HTML (element content or a quoted attribute): None is empty."""
    return _escape('' if value is None else str(value), quote=True)


def link(url, text=None):
    """An <a> to an http(s) URL (anything else, e.g. javascript:, is shown as plain text)."""
    url = '' if url is None else str(url)
    if not url.lower().startswith(('https://', 'http://')):
        return esc(text if text is not None else url)
    return '<a href="{0}">{1}</a>'.format(esc(url), esc(text if text is not None else url))


def table(headers, rows, mono=()):
    """A table of escaped cells; a cell given as ('html', markup) is inserted as is (built with esc).
    mono: indexes of the columns set in a monospace font."""
    out = ['<table><thead><tr>']
    out.extend('<th>{0}</th>'.format(esc(h)) for h in headers)
    out.append('</tr></thead><tbody>')
    for row in rows:
        out.append('<tr>')
        for index, cell in enumerate(row):
            content = cell[1] if isinstance(cell, tuple) and cell and cell[0] == 'html' else esc(cell)
            out.append('<td{0}>{1}</td>'.format(' class="mono"' if index in mono else '', content))
        out.append('</tr>')
    out.append('</tbody></table>')
    return ''.join(out)


def bullet_list(items, css=None):
    if not items:
        return ''
    return '<ul{0}>{1}</ul>'.format(' class="{0}"'.format(esc(css)) if css else '',
                                    ''.join('<li>{0}</li>'.format(esc(i)) for i in items))


def card(title, body, state='neutral', badge=None, subtitle=None):
    """One card: title (text), body (HTML built with the helpers here), state ok | bad | neutral,
    badge (text in the corner; default the state), subtitle (text under the title)."""
    state = state if state in STATES else 'neutral'
    badge = badge if badge is not None else {'ok': 'OK', 'bad': 'ATTENTION', 'neutral': ''}[state]
    return ('<section class="card {0}"><h2><span>{1}</span>{2}</h2>{3}{4}</section>'.format(
        state, esc(title), '<span class="state">{0}</span>'.format(esc(badge)) if badge else '',
        '<p class="sub">{0}</p>'.format(esc(subtitle)) if subtitle else '', body))


def page(title, cards, intro=None, footer=None, one_per_page=False):
    """A whole HTML document: the title, an intro line, the cards, a footer line (all text escaped,
    cards as `card` made them). Self-contained: the style is inline, nothing is loaded.
    one_per_page: printed, every card starts a new sheet (a handout cut into one sheet per student)."""
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            '<title>{0}</title><style>{1}</style></head><body{5}><h1>{0}</h1>{2}'
            '<main class="cards">{3}</main>{4}</body></html>\n').format(
                esc(title), PAGE_CSS, '<p class="intro">{0}</p>'.format(esc(intro)) if intro else '',
                '\n'.join(cards), '<footer>{0}</footer>'.format(esc(footer)) if footer else '',
                ' class="one-per-page"' if one_per_page else '')


# ------------------------------------------------------------------------------ network picture

_BOX_W, _BOX_H, _GAP, _BUS_GAP, _TOP, _LEFT = 96, 34, 18, 24, 8, 8


def router_first(machines):
    """The machines of a picture with the router(s) first, the stand's order kept otherwise."""
    return sorted(machines, key=lambda m: m.get('device_type') != ECOROUTER)


def network_svg(machines, labels=None):
    """A small picture of a network: machines as boxes in a row (the router first, as given), each
    network as a horizontal line under them, a drop from each machine to each network it joins.
    machines: [{'machine', 'device_type', 'networks': [{'name', 'private', 'management'}]}] (see
    stand_status.network_plan); labels: {network name: text shown after the name, e.g. 'vmbr1001'}.
    Private networks are solid, shared bridges dashed, a management port dotted."""
    labels = labels or {}
    networks = []
    for machine in machines:
        for net in machine['networks']:
            if net['name'] not in [n['name'] for n in networks]:
                networks.append(net)
    # the machines on the left, the networks' names in a column of their own on the right
    label_x = _LEFT + max(1, len(machines)) * (_BOX_W + _GAP)
    longest = max([len(n['name']) + len(str(labels.get(n['name']) or '')) for n in networks] or [0])
    width = label_x + 7 * (longest + 14)
    bus_top = _TOP + _BOX_H + 20
    height = bus_top + len(networks) * _BUS_GAP + 4
    out = ['<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {0} {1}" width="{0}" height="{1}" '
           'role="img" font-family="sans-serif" font-size="11">'.format(width, height),
           '<title>network of the stand</title>']
    ys = {}
    for index, net in enumerate(networks):
        y = bus_top + index * _BUS_GAP
        ys[net['name']] = y
        dash = '' if net.get('private') else (' stroke-dasharray="2 3"' if net.get('management')
                                              else ' stroke-dasharray="6 4"')
        colour = '#1b5fa8' if net.get('private') else '#6b7280'
        out.append('<line x1="{0}" y1="{1}" x2="{2}" y2="{1}" stroke="{3}" stroke-width="2"{4}/>'.format(
            _LEFT, y, label_x - 6, colour, dash))
        label = net['name'] + (' ' + str(labels[net['name']]) if labels.get(net['name']) else '')
        label += '' if net.get('private') else (' (management)' if net.get('management') else ' (shared)')
        out.append('<text x="{0}" y="{1}" fill="{2}">{3}</text>'.format(label_x, y + 4, colour, esc(label)))
    for index, machine in enumerate(machines):
        x = _LEFT + index * (_BOX_W + _GAP)
        centre = x + _BOX_W // 2
        router = machine.get('device_type') == ECOROUTER
        for net in machine['networks']:
            out.append('<line x1="{0}" y1="{1}" x2="{0}" y2="{2}" stroke="#374151" stroke-width="1.5"/>'
                       '<circle cx="{0}" cy="{2}" r="3" fill="#374151"/>'.format(
                           centre, _TOP + _BOX_H, ys[net['name']]))
        out.append('<rect x="{0}" y="{1}" width="{2}" height="{3}" rx="{4}" fill="{5}" stroke="#374151"/>'.format(
            x, _TOP, _BOX_W, _BOX_H, 10 if router else 3, '#fde8c8' if router else '#e5edf8'))
        out.append('<text x="{0}" y="{1}" text-anchor="middle" font-weight="600">{2}</text>'.format(
            centre, _TOP + _BOX_H // 2 + 4, esc(machine['machine'])))
    out.append('</svg>')
    return ''.join(out)


def _fields_table(fields):
    """Label/value rows; the values a student types (user, login, password) in a monospace font."""
    if not fields:
        return ''
    return '<table><tbody>{0}</tbody></table>'.format(''.join(
        '<tr><th>{0}</th><td{1}>{2}</td></tr>'.format(
            esc(label), ' class="mono"' if str(label).lower() in ('password', 'login', 'user') else '',
            esc(value)) for label, value in fields))


def _entry_link(entry):
    if not entry.get('link'):
        return ''
    label = entry.get('link_label')
    return '<p>{0}{1}</p>'.format(esc(label) + ': ' if label else '', link(entry['link']))


def cards_page(title, entries, intro=None, footer=None, one_per_page=False):
    """A page of simple cards from data only (no HTML needed by the caller), e.g. the credentials handout:
    entries: [{'title', 'state' (ok|bad|neutral), 'badge', 'subtitle', 'fields': [(label, value)],
    'link': url, 'link_label': text before it, 'notes': [text], 'network': network_svg's machines,
    'labels': its labels}], every key but 'title' optional. Values are text (escaped); a field whose label
    is 'password' is set in monospace. one_per_page: see `page`."""
    cards = []
    for entry in entries:
        body = [_fields_table(entry.get('fields') or []), _entry_link(entry), bullet_list(entry.get('notes') or [])]
        if entry.get('network'):
            body.append(network_svg(entry['network'], labels=entry.get('labels')))
        cards.append(card(entry['title'], ''.join(body), state=entry.get('state', 'neutral'), badge=entry.get('badge'),
                          subtitle=entry.get('subtitle')))
    return page(title, cards, intro=intro, footer=footer, one_per_page=one_per_page)
