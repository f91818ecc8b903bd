"""One table of connection options: the modules' AUTH_ARGSPEC, the doc fragment and the plugins' variant
of it (deploystand.proxmox.auth.plugin, with the env entries plugins read) name the same options, types,
defaults and environment variables."""
import yaml

from ansible_collections.deploystand.proxmox.plugins.doc_fragments.auth import ModuleDocFragment
from ansible_collections.deploystand.proxmox.plugins.module_utils.pve_module import AUTH_ARGSPEC


def test_modules_and_plugins_document_the_same_connection_options_as_the_argspec():
    modules = yaml.safe_load(ModuleDocFragment.DOCUMENTATION)['options']
    plugins = yaml.safe_load(ModuleDocFragment.PLUGIN)['options']
    assert sorted(modules) == sorted(plugins) == sorted(AUTH_ARGSPEC)
    for name, spec in AUTH_ARGSPEC.items():
        env = spec['fallback'][1]
        for doc in (modules[name], plugins[name]):
            assert doc['type'] == spec['type'] and doc.get('default') == spec.get('default'), name
            assert bool(doc.get('required')) == bool(spec.get('required')), name
        assert [e['name'] for e in plugins[name]['env']] == env, name
        assert 'E({0})'.format(env[0]) in ' '.join(modules[name]['description']), name
