"""Replace one `## <title>` section of benchmarks/README.md (or append it), for the scripts' --write."""

import os
import re

README = os.path.join(os.path.dirname(os.path.abspath(__file__)), 'README.md')


def replace_section(title, section, path=README):
    """Put `section` (which starts with '## <title>') in place of the README's section of that title."""
    text = open(path, encoding='utf-8').read() if os.path.exists(path) else '# Benchmarks\n'
    pattern = re.compile(r'## {0}\n.*?(?=\n## |\Z)'.format(re.escape(title)), re.S)
    body = section.rstrip('\n') + '\n'
    text = pattern.sub(lambda _m: body, text) if pattern.search(text) else text.rstrip('\n') + '\n\n' + section
    with open(path, 'w', encoding='utf-8') as fh:
        fh.write(text)
