# Copyright (c) medvlp contributors. All rights reserved.
"""No host-device synchronisation in a training step (forward + backward).

On a GPU each sync stalls the kernel queue; on the CPU they are free, so they creep in
unnoticed. :class:`medvlp.utils.host_sync.HostSyncCounter` counts them here, on CPU, on a
real demo batch, and the test names where each one comes from: none in the pre-training
algorithms; in the downstream mmpretrain classifier and mmseg segmentors, none in medvlp
code and the rest at named mmpretrain/mmseg/torch call sites (end of the file).
"""
import sys

import pytest
import torch
from algorithm_helpers import build_model, demo_config_and_batch
from mmengine.registry import DefaultScope

from medvlp.utils.host_sync import HostSyncCounter

MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py'
# the MLM head picks its positions by boolean indexing on the CPU (free there) and with a
# fixed-size gather on accelerators; 'static' checks the accelerator path here
STATIC_MLM = {'mlm_head.select': 'static'}
CONFIGS = {
    'mrm': ('configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py', STATIC_MLM),
    'joimternet': ('configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py', STATIC_MLM),
    'medim-features': (MEDIM, {}),
    'medim-inputs': (MEDIM, {
        'mask_on': 'inputs',
        'decoder': dict(type='mmpretrain.MAEPretrainDecoder', num_patches=36, patch_size=16,
                        in_chans=3, embed_dim=96, decoder_embed_dim=64, decoder_depth=1,
                        decoder_num_heads=2)}),
}


def _step_syncs(model, batch):
    with DefaultScope.overwrite_default_scope('medvlp'):
        data = model.data_preprocessor(batch, True)
        with HostSyncCounter() as counter:
            losses = model(**data, mode='loss')
            sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    return counter


@pytest.mark.parametrize('name', sorted(CONFIGS))
def test_training_step_has_no_host_sync(name, repo_root, tmp_path):
    """After a first step (which runs the one-off consistency checks), none at all."""
    config, overrides = CONFIGS[name]
    cfg, batch = demo_config_and_batch(repo_root / config, tmp_path, batch_size=4)
    model = build_model(cfg, **overrides)
    model.train()
    _step_syncs(model, batch)
    counter = _step_syncs(model, batch)
    assert counter.count == 0, f'{name}: {counter.count} host syncs\n{counter.summary()}'


def test_mlm_head_fixed_size_gather_matches_boolean_selection():
    from medvlp.models.heads import MaskedLanguageModelingHead
    torch.manual_seed(0)
    feats, ids = torch.randn(3, 10, 8), torch.randint(0, 20, (3, 10))
    masked = torch.rand(3, 10) < 0.3
    masked[:, 0] = True
    head = MaskedLanguageModelingHead(8, 20, select='static')
    reference = torch.nn.functional.cross_entropy(head(feats[masked]), ids[masked])
    assert torch.allclose(head.loss(feats, ids, masked), reference, atol=1e-6)
    dynamic = MaskedLanguageModelingHead(8, 20)  # 'auto': boolean indexing on the CPU
    dynamic.load_state_dict(head.state_dict())
    assert torch.allclose(dynamic.loss(feats, ids, masked), reference, atol=1e-6)
    most = int(masked.sum(1).max())
    capped = MaskedLanguageModelingHead(8, 20, max_predictions=most, select='static')
    capped.load_state_dict(head.state_dict())
    assert torch.allclose(capped.loss(feats, ids, masked), reference, atol=1e-6)
    assert int(capped.unscored_count) == 0
    capped.max_predictions = 1  # keeps the first masked position of each sequence
    first = masked.float().argmax(1)
    rows = torch.arange(3)
    expected = torch.nn.functional.cross_entropy(head(feats[rows, first]), ids[rows, first])
    assert torch.allclose(capped.loss(feats, ids, masked), expected, atol=1e-6)
    assert int(capped.unscored_count) == int(masked.sum()) - 3
    nothing = torch.zeros_like(masked)
    assert head.loss(feats, ids, nothing) == 0


def test_bert_square_padding_mask_gives_the_same_features():
    from medvlp.models.text_encoders import BertTextEncoder
    torch.manual_seed(0)
    enc = BertTextEncoder(vocab_size=50, hidden_size=16, num_layers=2, num_heads=2,
                          max_position_embeddings=16, dropout=0.0).eval()
    ids = torch.randint(1, 50, (2, 7))
    mask = torch.ones(2, 7, dtype=torch.long)
    mask[1, 4:] = 0
    ours = enc(ids, mask)['token_feats']
    hf = enc.bert(input_ids=ids, attention_mask=mask).last_hidden_state
    assert torch.allclose(ours[mask.bool()], hf[mask.bool()], atol=1e-5)
    assert enc.bert.config._attn_implementation == 'sdpa'


# ------------------------------------------------------------------- downstream models
# One training step (data preprocessor + forward, then backward) of mmpretrain's
# ImageClassifier and mmseg's EncoderDecoder built from the tiny downstream configs. No
# medvlp code syncs; the syncs left are inside mmpretrain/mmseg/torch, each allowed below
# at its exact call site (found from the statement, so a moved line is still found and a
# changed one fails). ``where`` is the innermost calling frame outside torch.
CLS_CONFIGS = {
    'cls-finetune': 'configs/benchmarks/classification/covid/'
                    'vit-tiny-p16_ft_1xb16-60_covid-demo.py',
    'cls-linear-probe': 'configs/benchmarks/classification/covid/'
                        'vit-tiny-p16_linear-probe_1xb16-60_covid-demo.py',
}
SEG_CONFIGS = {
    'seg-upernet': 'configs/benchmarks/segmentation/'
                   'upernet_vit-tiny-p16_1xb8-120it_covid-lung-96px.py',
    'seg-setr': 'configs/benchmarks/segmentation/'
                'setr_vit-tiny-p16_frozen_1xb8-120it_covid-lung-96px.py',
}


def _site(module, statement: str) -> str:
    """``file:line`` of the first line of ``module`` that contains ``statement``."""
    import inspect
    path = inspect.getsourcefile(module)
    with open(path, encoding='utf-8') as f:
        for number, line in enumerate(f, start=1):
            if statement in line:
                return f'{path}:{number}'
    raise AssertionError(f'{statement!r} is no longer in {path}: re-check its host syncs')


def _third_party_sites() -> dict:
    """Allowed sync sites: name -> ``(kind, file:line, why)``."""
    from mmpretrain.structures import utils as cls_utils
    from mmseg.models.losses import accuracy, dice_loss
    one_hot = ('torch one_hot checks min() and max() with .item() on the CPU only '
               '(aten/src/ATen/native/Onehot.cpp; on CUDA it relies on device asserts): '
               'CPU-only')
    return {
        'label_to_onehot': (
            'item', _site(cls_utils, 'F.one_hot(label, num_classes)'),
            'mmpretrain label_to_onehot (MultiLabelClsHead._get_loss): ' + one_hot),
        'dice one_hot': (
            'item', _site(dice_loss, 'torch.nn.functional.one_hot(one_hot_target'),
            'mmseg _expand_onehot_labels_dice: ' + one_hot),
        'dice pred': (
            'bool_index', _site(dice_loss, 'pred = pred[:, torch.arange(num_classes) != ignore'),
            'mmseg dice_loss drops the ignore_index channel with a boolean mask made on the '
            'CPU; on CUDA its indices are copied to the device with a blocking copy'),
        'dice target': (
            'bool_index', _site(dice_loss, 'target = target[:, torch.arange(num_classes) !='),
            'mmseg dice_loss, the same for the target'),
        'accuracy correct': (
            'bool_index', _site(accuracy, 'correct = correct[:, target != ignore_index]'),
            'mmseg accuracy (acc_seg of every decode head): boolean mask on the device'),
        'accuracy total': (
            'bool_index', _site(accuracy, 'total_num = target[target != ignore_index].numel()'),
            'mmseg accuracy: boolean mask on the device, then numel()'),
    }


def _counted_step(model, batch):
    """Syncs of the data preprocessor + forward, and of the backward, separately."""
    with HostSyncCounter() as forward:
        data = model.data_preprocessor(batch, True)
        losses = model(**data, mode='loss')
    total = sum(v for k, v in losses.items() if 'loss' in k)
    with HostSyncCounter() as backward:
        total.backward()  # downstream backward
    return forward, backward


def _cls_model_and_batch(repo_root, shared_data, name):
    from mmengine.config import Config
    from mmengine.dataset import Compose, default_collate
    from mmpretrain.registry import MODELS, TRANSFORMS

    from medvlp.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(repo_root / CLS_CONFIGS[name]))
    cfg.model.backbone.init_cfg = None
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        model = MODELS.build(cfg.model)
        model.init_weights()
        pipeline = Compose([TRANSFORMS.build(t if t['type'] != 'LoadCXRImage' else
                                             dict(t, type='medvlp.LoadCXRImage'))
                            for t in cfg.train_dataloader.dataset.pipeline])
        images = sorted((shared_data / 'covid-cxr' / 'images').glob('*.png'))[:4]
        # COVID-19 positive / negative alternately: COVIDCXRDataset's binary labels
        batch = default_collate([pipeline(dict(img_path=str(path), gt_label=[0] if i % 2 else []))
                                 for i, path in enumerate(images)])
    return model, batch, 'mmpretrain'


def _seg_model_and_batch(repo_root, shared_data, name):
    from mmengine.config import Config
    from mmengine.runner import Runner
    from mmseg.registry import MODELS

    from medvlp.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    cfg = Config.fromfile(str(repo_root / SEG_CONFIGS[name]))
    cfg.model.backbone.init_cfg = None
    cfg.train_dataloader.update(num_workers=0, persistent_workers=False, batch_size=4)
    cfg.train_dataloader.dataset.data_root = str(shared_data / 'covid-cxr')
    with DefaultScope.overwrite_default_scope('mmseg'):
        batch = next(iter(Runner.build_dataloader(cfg.train_dataloader, seed=0)))
        model = MODELS.build(cfg.model)
        model.init_weights()
    return model, batch, 'mmseg'


#: name -> (builder, {site statement kind: count per forward}, backward bool-index count).
#: Classification: 2 .item() per sample with a positive label (2 of the 4). UPerNet: its
#: decode head has the Dice loss, and it and the auxiliary FCN head report acc_seg; the
#: backward of dice_loss's ``pred[:, mask]`` is one more boolean index_put.
DOWNSTREAM = {
    'cls-finetune': (_cls_model_and_batch, {'label_to_onehot': 4}, 0),
    'cls-linear-probe': (_cls_model_and_batch, {'label_to_onehot': 4}, 0),
    'seg-upernet': (_seg_model_and_batch, {'dice one_hot': 2, 'dice pred': 1,
                                           'dice target': 1, 'accuracy correct': 2,
                                           'accuracy total': 2}, 1),
    'seg-setr': (_seg_model_and_batch, {'dice one_hot': 2, 'dice pred': 1,
                                        'dice target': 1, 'accuracy correct': 1,
                                        'accuracy total': 1}, 1),
}


@pytest.mark.parametrize('name', sorted(DOWNSTREAM))
def test_downstream_training_step_syncs_only_in_known_third_party_sites(
        name, repo_root, shared_data):
    """No medvlp sync; the rest, on the CPU, exactly at the documented third-party sites.

    On CUDA the two one_hot sites do not sync (torch skips the checks there), so a GPU
    step of the classifier has none and the segmentor keeps the boolean-mask ones:
    ``dice_loss.py`` (pred, target and the backward of pred) and ``accuracy.py``.
    """
    builder, expected_forward, expected_backward = DOWNSTREAM[name]
    model, batch, scope = builder(repo_root, shared_data, name)
    model.train()
    sites = _third_party_sites()
    with DefaultScope.overwrite_default_scope(scope):
        _counted_step(model, batch)
        model.zero_grad()
        forward, backward = _counted_step(model, batch)
    medvlp_root = str(repo_root / 'medvlp')
    for event in forward.events + backward.events:
        assert not event.where.startswith(medvlp_root), f'{name}: sync in medvlp: {event}'
    allowed = {(kind, where) for kind, where, _ in sites.values()}
    unexplained = [e for e in forward.events if (e.kind, e.where) not in allowed]
    assert not unexplained, f'{name}: unexpected host syncs\n{forward.summary()}'
    counts = {label: sum((e.kind, e.where) == (kind, where) for e in forward.events)
              for label, (kind, where, _) in sites.items()}
    assert {k: v for k, v in counts.items() if v} == expected_forward, forward.summary()
    # the autograd engine runs the backward of dice_loss's pred[:, mask] (a boolean
    # index_put) from C++, so the innermost Python frame is the .backward() call
    backward_site = _site(sys.modules[__name__], 'total.backward()  # downstream backward')
    assert [(e.kind, e.where) for e in backward.events] == \
        [('bool_index', backward_site)] * expected_backward, backward.summary()
