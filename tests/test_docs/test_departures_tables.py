# Copyright (c) medvlp contributors. All rights reserved.
"""The method guides' "Departures from the official code" tables exist, and every option
they name for the `official` presets is what the preset configs build."""
import re

import pytest
from mmengine.config import Config

from medvlp.registry import MODELS

GUIDES = ('medim', 'region_word_alignment', 'mrm', 'mask_generator')
MEDIM = 'configs/medim/medim_vit-tiny-p16_1xb16-30e_demo_official.py'
JOIMTERNET = 'configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo_official.py'


def _table(repo_root, guide):
    text = (repo_root / 'docs' / 'en' / 'user_guides' / f'{guide}.md').read_text()
    assert '## Departures from the official code' in text, guide
    section = text.split('## Departures from the official code')[1].split('\n## ')[0]
    rows = [line for line in section.splitlines() if line.startswith('| ')]
    assert len(rows) >= 6, guide  # header, rule, and at least four differences
    return section


@pytest.mark.parametrize('guide', GUIDES)
def test_departures_table_exists(repo_root, guide):
    _table(repo_root, guide)


def test_medim_preset_options_match_the_table(repo_root):
    section = _table(repo_root, 'medim')
    cfg = Config.fromfile(str(repo_root / MEDIM))
    model = cfg.model
    rule = model.kwm_generator.mask_rule
    named = {
        "rounding='floor'": rule.rounding == 'floor',
        "split='threshold'": rule.split == 'threshold' == model.sdm_generator.mask_rule.split,
        "fallback='zero_map'": model.kwm_generator.fallback == 'zero_map',
        "fallback='any_sentence'": model.sdm_generator.fallback == 'any_sentence',
        'min_sentence_words=4': model.sdm_generator.min_sentence_words == 4,
        'drop_punctuation=True': all(
            step.get('drop_punctuation') for step in cfg.train_dataloader.dataset.pipeline
            if step['type'] == 'TokenizeReport'),
        "mask_fill='zero'": model.mask_fill == 'zero',
        "ImageReconstructionHead(activation='tanh')": (
            model.recon_head.type, model.recon_head.activation) == (
                'ImageReconstructionHead', 'tanh'),
        'mean = std = 127.5': model.data_preprocessor.mean == model.data_preprocessor.std
        == [127.5] * 3,
        'mask_temperature=0.1': model.mask_temperature == 0.1,
        '`head.gamma3=1/0.07`, `sum_directions=True`, triplet weights 0': (
            model.head.gamma3 == 1 / 0.07 and model.head.sum_directions
            and model.head.loss_weights.global_triplet == model.head.loss_weights.local_triplet
            == 0),
        "upsample_mode='nearest'": (model.decoder.upsample_mode, model.decoder.input_proj,
                                    model.decoder.channels) == ('nearest', False,
                                                                [512, 256, 128, 64]),
    }
    for text, holds in named.items():
        assert text in section, text
        assert holds, text
    # the defaults keep medvlp's choices
    default = Config.fromfile(str(repo_root / MEDIM.replace('_official', ''))).model
    assert default.get('mask_fill', 'token') == 'token' and 'rounding' not in \
        default.kwm_generator.mask_rule


def test_joimternet_preset_options_match_the_table(repo_root):
    section = _table(repo_root, 'region_word_alignment')
    head = Config.fromfile(str(repo_root / JOIMTERNET)).model.head
    for text in ('local_score=DAMSMLocalScore', 'sum_directions=True',
                 "margin=0.5, negative='random'"):
        assert text in section, text
    assert head.local_score.type == 'DAMSMLocalScore' and head.sum_directions
    built = MODELS.build(dict(head.triplet_loss, _scope_='medvlp'))
    assert (built.margin, built.negative) == (0.5, 'random')


def test_fixed_doc_statements(repo_root):
    guides = repo_root / 'docs' / 'en' / 'user_guides'
    medim = (guides / 'medim.md').read_text()
    assert not re.search(r'`loss_weights`[^\n]*alignment=', medim)
    mrm = (guides / 'mrm.md').read_text()
    assert 'adds 11.5 M parameters' not in mrm and 'bicubic, antialiased) to 224' not in mrm
