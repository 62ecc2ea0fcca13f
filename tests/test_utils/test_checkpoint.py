# Copyright (c) medvlp contributors. All rights reserved.
import collections
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging import HistoryBuffer, MessageHub
from mmengine.runner.checkpoint import CheckpointLoader, _load_checkpoint

import medvlp  # noqa: F401  (installs the safe loader)
from medvlp.utils import allow_checkpoint_globals, load_checkpoint_file
from medvlp.utils import checkpoint as ckpt_mod


def _mmengine_like_checkpoint(path):
    """A checkpoint holding what mmengine's runner saves: numpy scalars, HistoryBuffers."""
    hub = MessageHub.get_instance('medvlp-test-ckpt')
    for value in (1.0, 0.5, 0.25):
        hub.update_scalar('train/loss', value)
    state = dict(
        meta=dict(epoch=2, iter=10, seed=np.int64(3), mean=np.float32(0.5),
                  arr=np.arange(3)),
        state_dict=collections.OrderedDict(weight=torch.ones(2)),
        message_hub=hub.state_dict())
    torch.save(state, path)
    return state


def test_plain_torch_load_rejects_mmengine_checkpoints(tmp_path):
    """The problem medvlp solves: torch>=2.6 refuses mmengine's own checkpoints."""
    path = tmp_path / 'ckpt.pth'
    _mmengine_like_checkpoint(path)
    with pytest.raises(pickle.UnpicklingError):
        torch.load(path, weights_only=True)


def test_safe_loader_reads_mmengine_checkpoints(tmp_path):
    path = tmp_path / 'ckpt.pth'
    _mmengine_like_checkpoint(path)
    ckpt = load_checkpoint_file(str(path))
    assert ckpt['meta']['seed'] == 3
    assert np.array_equal(ckpt['meta']['arr'], np.arange(3))
    buffer = ckpt['message_hub']['log_scalars']['train/loss']
    assert isinstance(buffer, HistoryBuffer)
    assert buffer.mean() == pytest.approx(0.58333, abs=1e-4)
    # mmengine's own entry point (used by resume, load_from and init_cfg) goes through it
    assert CheckpointLoader._schemes[''] is ckpt_mod.load_from_local_safe
    assert _load_checkpoint(str(path))['meta']['iter'] == 10


class _Unlisted:
    """A class no allow-list knows."""

    def __init__(self, value=1):
        self.value = value


def test_unknown_global_gives_clear_error_and_can_be_allowed(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(extra=_Unlisted(5)), path)
    name = f'{__name__}._Unlisted'
    with pytest.raises(pickle.UnpicklingError, match='MEDVLP_CHECKPOINT_SAFE_GLOBALS'):
        load_checkpoint_file(str(path))
    monkeypatch.setenv('MEDVLP_CHECKPOINT_SAFE_GLOBALS', name)
    assert load_checkpoint_file(str(path))['extra'].value == 5
    monkeypatch.delenv('MEDVLP_CHECKPOINT_SAFE_GLOBALS')
    monkeypatch.setattr(ckpt_mod, '_EXTRA_SAFE_GLOBALS', [])
    allow_checkpoint_globals(_Unlisted)
    assert load_checkpoint_file(str(path))['extra'].value == 5


def test_trust_switch_falls_back_with_warning(tmp_path, monkeypatch):
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(extra=_Unlisted(7)), path)
    monkeypatch.setenv('MEDVLP_TRUST_CHECKPOINTS', '1')
    with pytest.warns(UserWarning, match='weights_only=False'):
        assert load_checkpoint_file(str(path))['extra'].value == 7


class _EvilGetattr:
    """Pickles as getattr(HistoryBuffer, '__init__'): not a statistics method."""

    def __reduce__(self):
        return getattr, (HistoryBuffer, '__init__')


def test_getattr_is_limited_to_history_buffer_statistics(tmp_path):
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(evil=_EvilGetattr()), path)
    with pytest.raises(pickle.UnpicklingError, match='statistics methods'):
        load_checkpoint_file(str(path))


def test_missing_checkpoint_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='does not exist'):
        load_checkpoint_file(str(tmp_path / 'nope.pth'))


def test_pretrained_init_cfg_loads_with_prefix(tmp_path):
    """init_cfg=dict(type='Pretrained', prefix='backbone.') reaches the safe loader."""
    from mmpretrain.models import VisionTransformer
    arch = dict(embed_dims=32, num_layers=1, num_heads=2, feedforward_channels=64)
    src = VisionTransformer(arch=arch, img_size=32, patch_size=16)
    state = collections.OrderedDict(
        (f'backbone.{k}', v) for k, v in src.state_dict().items())
    path = tmp_path / 'pretrain.pth'
    hub = MessageHub.get_instance('medvlp-test-pretrained')
    hub.update_scalar('train/loss', 1.0)
    torch.save(dict(state_dict=state, message_hub=hub.state_dict(),
                    meta=dict(seed=np.int64(0))), path)
    dst = VisionTransformer(
        arch=arch, img_size=32, patch_size=16,
        init_cfg=dict(type='Pretrained', checkpoint=str(path), prefix='backbone.'))
    dst.init_weights()
    for key, value in src.state_dict().items():
        assert torch.equal(dst.state_dict()[key], value), key


# --------------------------------------------------------------------------------------
# integrity: empty, truncated, modified, non-checkpoint and non-finite files
# --------------------------------------------------------------------------------------
def _weights_checkpoint(path, size=4096):
    torch.manual_seed(0)
    torch.save(dict(state_dict=collections.OrderedDict(w=torch.randn(size), b=torch.ones(3)),
                    meta=dict(epoch=1)), path)
    return path


def test_empty_file_names_the_file(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(ckpt_mod.CorruptCheckpointError, match='empty.pth.*empty file'):
        load_checkpoint_file(str(path))


def test_truncated_file_is_corrupt_not_eoferror(tmp_path):
    path = _weights_checkpoint(tmp_path / 'ckpt.pth')
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 2])
    with pytest.raises(ckpt_mod.CorruptCheckpointError, match='ckpt.pth.*truncated'):
        load_checkpoint_file(str(path))


def test_non_checkpoint_file_gets_no_advice_to_disable_safety(tmp_path):
    path = tmp_path / 'notes.pth'
    path.write_text('these are not weights\n' * 20)
    with pytest.raises(ckpt_mod.CorruptCheckpointError) as info:
        load_checkpoint_file(str(path))
    assert 'notes.pth' in str(info.value)
    assert 'MEDVLP_TRUST_CHECKPOINTS' not in str(info.value)


def test_sidecar_digest_catches_a_block_overwritten_mid_file(tmp_path):
    path = _weights_checkpoint(tmp_path / 'epoch_1.pth', size=1 << 16)
    digest = ckpt_mod.write_checkpoint_digest(str(path))
    assert (tmp_path / 'epoch_1.pth.sha256').read_text().split() == [digest, 'epoch_1.pth']
    assert ckpt_mod.verify_checkpoint_digest(str(path)) is True
    data = bytearray(path.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 4096] = bytes(4096)
    path.write_bytes(bytes(data))
    with pytest.raises(ckpt_mod.CorruptCheckpointError, match='checksum file'):
        load_checkpoint_file(str(path))
    # a user-facing error: tools turn it into one line
    assert issubclass(ckpt_mod.CorruptCheckpointError, ckpt_mod.UserError)


def test_non_finite_weights_are_refused_or_warned(tmp_path, monkeypatch):
    path = tmp_path / 'nan.pth'
    torch.save(dict(state_dict=dict(w=torch.tensor([1.0, float('nan'), float('inf')]),
                                    ok=torch.ones(2), steps=torch.tensor([3]))), path)
    with pytest.raises(ckpt_mod.CorruptCheckpointError, match='1 tensors with NaN/inf \\(w\\)'):
        load_checkpoint_file(str(path))
    assert ckpt_mod.nonfinite_tensors(torch.load(path)) == {'w': 2}
    monkeypatch.setenv('MEDVLP_CHECKPOINT_NONFINITE', 'warn')
    assert load_checkpoint_file(str(path))['state_dict']['ok'].sum() == 2
    assert load_checkpoint_file(str(path), nonfinite='ignore')['state_dict']['w'][0] == 1
    monkeypatch.setenv('MEDVLP_CHECKPOINT_NONFINITE', 'sometimes')
    with pytest.raises(ckpt_mod.UserError, match='MEDVLP_CHECKPOINT_NONFINITE'):
        load_checkpoint_file(str(path))


def test_find_intact_checkpoint_skips_a_truncated_latest(tmp_path):
    import os
    import time
    first = _weights_checkpoint(tmp_path / 'epoch_1.pth')
    time.sleep(0.01)
    latest = _weights_checkpoint(tmp_path / 'epoch_2.pth')
    ckpt_mod.write_checkpoint_digest(str(first))
    (tmp_path / 'last_checkpoint').write_text(str(latest))
    assert ckpt_mod.find_intact_checkpoint(str(tmp_path)) == str(latest)
    latest.write_bytes(latest.read_bytes()[:100])
    assert ckpt_mod.find_intact_checkpoint(str(tmp_path)) == str(first)
    os.remove(first)
    assert ckpt_mod.find_intact_checkpoint(str(tmp_path)) is None
