# Copyright (c) medvlp contributors. All rights reserved.
"""Remote checkpoints (http, torchvision://, open-mmlab://) go through the safe loader.

A local HTTP server on 127.0.0.1 serves a malicious checkpoint (its pickle calls
``os.makedirs`` when unpickled with ``weights_only=False``) and a benign one.
"""
import functools
import hashlib
import http.server
import os
import pickle
import threading

import pytest
import torch
import torch.nn as nn
from mmengine.runner import checkpoint as mm_ckpt
from mmengine.runner.checkpoint import _load_checkpoint

import medvlp  # noqa: F401  (installs the safe loaders)
from medvlp.utils import checkpoint_remote
from medvlp.utils.checkpoint import CorruptCheckpointError


class _Evil:
    """Unpickling it creates a folder: proof that code ran."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.makedirs, (self.marker, )


class _QuietHandler(http.server.SimpleHTTPRequestHandler):

    def log_message(self, *args):
        pass


@pytest.fixture
def server(tmp_path, monkeypatch):
    """Serve tmp_path/served on 127.0.0.1; downloads go to tmp_path/cache."""
    served = tmp_path / 'served'
    served.mkdir()
    monkeypatch.setenv('MEDVLP_CACHE', str(tmp_path / 'cache'))
    handler = functools.partial(_QuietHandler, directory=str(served))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield served, f'http://127.0.0.1:{httpd.server_address[1]}'
    httpd.shutdown()
    httpd.server_close()


def _benign(path):
    torch.manual_seed(0)
    torch.save(dict(state_dict=dict(weight=torch.randn(2, 3), bias=torch.zeros(2))), path)
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_malicious_file_does_run_code_through_mmengines_own_loader(server, tmp_path):
    """Control: without medvlp's loader the served file executes code."""
    served, url = server
    marker = tmp_path / 'pwned'
    torch.save(dict(state_dict={}, payload=_Evil(str(marker))), served / 'evil.pth')
    mm_ckpt.load_from_http(f'{url}/evil.pth', model_dir=str(tmp_path / 'mm_cache'))
    assert marker.is_dir()


def test_malicious_remote_checkpoint_is_refused(server, tmp_path):
    served, url = server
    marker = tmp_path / 'pwned'
    torch.save(dict(state_dict={}, payload=_Evil(str(marker))), served / 'evil.pth')
    with pytest.raises(pickle.UnpicklingError, match='os.makedirs|posix.makedirs'):
        _load_checkpoint(f'{url}/evil.pth')
    assert not marker.exists()
    # also through init_cfg=dict(type='Pretrained')
    module = nn.Linear(3, 2)
    module.init_cfg = dict(type='Pretrained', checkpoint=f'{url}/evil.pth')
    from mmengine.model.weight_init import initialize
    with pytest.raises(pickle.UnpicklingError):
        initialize(module, module.init_cfg)
    assert not marker.exists()


def test_benign_remote_checkpoint_loads_into_a_module(server):
    served, url = server
    _benign(served / 'good.pth')
    from mmengine.model.weight_init import initialize
    module = nn.Linear(3, 2)
    initialize(module, dict(type='Pretrained', checkpoint=f'{url}/good.pth'))
    expected = torch.load(served / 'good.pth')['state_dict']
    assert torch.equal(module.weight, expected['weight'])


@pytest.mark.parametrize('scheme', ['torchvision', 'open-mmlab'])
def test_model_zoo_schemes_use_the_safe_loader(server, tmp_path, monkeypatch, scheme):
    served, url = server
    marker = tmp_path / 'pwned'
    torch.save(dict(state_dict={}, payload=_Evil(str(marker))), served / 'evil.pth')
    lookup = 'get_torchvision_models' if scheme == 'torchvision' else 'get_external_models'
    monkeypatch.setattr(mm_ckpt, lookup, lambda: {'resnet_x': f'{url}/evil.pth'})
    with pytest.raises(pickle.UnpicklingError):
        _load_checkpoint(f'{scheme}://resnet_x')
    assert not marker.exists()


def test_pinned_sha256_fragment_and_hub_file_names(server, tmp_path):
    served, url = server
    digest = _benign(served / 'good.pth')
    assert 'state_dict' in _load_checkpoint(f'{url}/good.pth#sha256={digest}')
    wrong = '0' * 64
    with pytest.raises(CorruptCheckpointError, match='does not match the pinned'):
        _load_checkpoint(f'{url}/good.pth#sha256={wrong}')
    # torch hub's convention: name-<hex prefix>.pth
    (served / f'mae-{digest[:8]}.pth').write_bytes((served / 'good.pth').read_bytes())
    assert 'state_dict' in _load_checkpoint(f'{url}/mae-{digest[:8]}.pth')
    (served / 'mae-deadbeef.pth').write_bytes((served / 'good.pth').read_bytes())
    with pytest.raises(CorruptCheckpointError, match='deadbeef'):
        _load_checkpoint(f'{url}/mae-deadbeef.pth')
    cache = tmp_path / 'cache' / 'checkpoints'
    assert not (cache / 'mae-deadbeef.pth').exists()
    assert not list(cache.glob('*.part'))


def test_split_pinned_url():
    split = checkpoint_remote.split_pinned_url
    assert split('https://h/a.pth') == ('https://h/a.pth', None)
    assert split('https://h/a-0123abcd.pth') == ('https://h/a-0123abcd.pth', '0123abcd')
    assert split('https://h/a.pth#sha256=ABCDEF12') == ('https://h/a.pth', 'abcdef12')
    with pytest.raises(CorruptCheckpointError, match='#sha256'):
        split('https://h/a.pth#md5=00')
