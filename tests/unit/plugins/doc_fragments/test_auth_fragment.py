"""One table of connection options: the modules' AUTH_ARGSPEC and the doc fragment name the same options,
types, defaults and environment variables, and the plugins' addition (deploystand.proxmox.auth.plugin) gives
exactly those environment variables (as `env:`, which plugins read) and nothing else."""
import yaml

from ansible_collections.deploystand.proxmox.plugins.doc_fragments.auth import ModuleDocFragment
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve.module import AUTH_ARGSPEC


def test_modules_and_plugins_document_the_same_connection_options_as_the_argspec():
    options = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    plugin = yaml.safe_load(ModuleDocFragment.PLUGIN)['options']
    assert sorted(options) == sorted(plugin) == sorted(AUTH_ARGSPEC)
    for name, spec in AUTH_ARGSPEC.items():
        env = spec['fallback'][1]
        doc = options[name]
        assert doc['type'] == spec['type'] and doc.get('default') == spec.get('default'), name
        assert bool(doc.get('required')) == bool(spec.get('required')), name
        assert 'E({0})'.format(env[0]) in ' '.join(doc['description']), name
        assert plugin[name] == {'env': [{'name': e} for e in env]}, name
