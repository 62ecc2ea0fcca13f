# Copyright (c) medvlp contributors. All rights reserved.
"""Every documented argument of MedIM, MRM, JoImTeRNet, ReportGuidedMaskGenerator and
TokenizeReport changes the output when changed (no dead knobs).

The models are the tiny demo ones on a real demo batch, seeded; a changed model gets the
baseline's weights wherever the shapes agree, so a difference comes from the knob and not
from a different initialisation. An argument that cannot be swept this way is listed in
``EXEMPT`` with the reason; the test fails when a documented argument is neither.
"""
import copy
import inspect
import json
import re

import pytest
import torch

from medvlp.datasets.transforms import TokenizeReport
from medvlp.models import JoImTeRNet, MRM, MedIM
from medvlp.models.mask_generators import ReportGuidedMaskGenerator, report_guided
from algorithm_helpers import build_model, demo_config_and_batch

pytestmark = pytest.mark.slow

CONFIGS = dict(medim='configs/medim/medim_vit-tiny-p16_1xb16-30e_demo.py',
               joimternet='configs/joimternet/joimternet_vit-tiny-p16_1xb16-30e_demo.py',
               mrm='configs/mrm/mrm_vit-tiny-p16_1xb16-30e_demo.py')
INPUTS_DECODER = dict(type='mmpretrain.MAEPretrainDecoder', num_patches=36, patch_size=16,
                      in_chans=3, embed_dim=96, decoder_embed_dim=64, decoder_depth=1,
                      decoder_num_heads=2, mlp_ratio=2.)
PREPROCESSOR = dict(type='mmpretrain.SelfSupDataPreprocessor', mean=[0.] * 3, std=[255.] * 3,
                    to_rgb=True)
TOKENIZER_REASON = ('only its [MASK] id and vocabulary size are read, and the shipped '
                    'vocabulary is the only one available offline')
EXEMPT = {
    'JoImTeRNet': dict(tokenizer=TOKENIZER_REASON,
                       init_cfg='initialisation; Pretrained loading has its own tests'),
    'MRM': dict(tokenizer=TOKENIZER_REASON,
                target_resolution='changes the input size the pipeline must deliver; '
                'tests/test_models/test_algorithms/test_mrm.py covers both targets',
                init_cfg='initialisation; Pretrained loading has its own tests'),
    'MedIM': {'**kwargs': "JoImTeRNet's arguments, swept on JoImTeRNet"},
    'ReportGuidedMaskGenerator': dict(init_cfg='no weights'),
}
KNOBS = {
    'MedIM': {
        'decoder': {'decoder.channels': 16},
        'recon_head': {'recon_head.norm_pix': False},
        'kwm_generator': {'kwm_generator.use_negated': False},
        'sdm_generator': {'sdm_generator.min_sentence_words': 8},
        'mask_on': {'mask_on': 'inputs', 'decoder': INPUTS_DECODER},
        'mask_fill': {'mask_fill': 'zero'},
        'mask_temperature': {'mask_temperature': 0.1},
        'loss_weights': {'loss_weights': dict(kwm=1.0)},
        'kwm_generator.use_uncertain': {'kwm_generator.use_uncertain': False},
    },
    'JoImTeRNet': {
        'backbone': {'backbone.drop_path_rate': 0.5},
        'text_encoder': {'text_encoder.num_layers': 1},
        'img_neck': {'img_neck.global_pool': 'avg'},
        'text_neck': {'text_neck.out_channels': 32, 'img_neck.out_channels': 32},
        'head': {'head.gamma3': 5.0},
        'mlm_head': {'mlm_head': None},
        'mlm_mask_prob': {'mlm_mask_prob': 0.5},
        'mlm_whole_word': {'mlm_whole_word': False},
        'task_weights': {'task_weights': dict(matching=0.5)},
        'data_preprocessor': {'data_preprocessor': PREPROCESSOR},
    },
    'MRM': {
        'backbone': {'backbone.mask_ratio': 0.5},
        'neck': {'neck.decoder_depth': 2},
        'head': {'head.norm_pix': False},
        'text_encoder': {'text_encoder.num_layers': 1},
        'fusion': {'fusion': None},
        'mlm_head': {'mlm_head': dict(type='MaskedLanguageModelingHead', max_predictions=2,
                                      select='static')},
        'mlm_mask_prob': {'mlm_mask_prob': 0.25},
        'mlm_whole_word': {'mlm_whole_word': False},
        'mlm_replace_probs': {'mlm_replace_probs': (0.8, 0.1)},
        'official_mlm_loss': {'official_mlm_loss': True},
        'loss_weights': {'loss_weights': dict(image=2.0)},
        'data_preprocessor': {'data_preprocessor': PREPROCESSOR},
    },
}
ALGORITHMS = dict(MedIM=(MedIM, 'medim'), JoImTeRNet=(JoImTeRNet, 'joimternet'),
                  MRM=(MRM, 'mrm'))


def documented_args(cls) -> set:
    """Names in the ``Args:`` section of the class docstring."""
    doc = inspect.getdoc(cls)
    section = doc[doc.index('Args:'):].splitlines()[1:]
    names = set()
    for line in section:
        if line and not line.startswith(' '):
            break
        match = re.match(r'^    (\*{0,2}\w+)(?: \(|:)', line)
        if match:
            names.add(match.group(1))
    return names


@pytest.mark.parametrize('name', list(KNOBS) + ['ReportGuidedMaskGenerator', 'TokenizeReport'])
def test_every_documented_argument_is_swept(name):
    cls = dict(ReportGuidedMaskGenerator=ReportGuidedMaskGenerator,
               TokenizeReport=TokenizeReport).get(name) or ALGORITHMS[name][0]
    swept = {key.split('.')[0] for key in dict(KNOBS, ReportGuidedMaskGenerator=GENERATOR_KNOBS,
                                               TokenizeReport=TOKENIZE_KNOBS)[name]}
    missing = documented_args(cls) - swept - set(EXEMPT.get(name, {}))
    assert not missing, f'{name}: documented but not swept: {sorted(missing)}'


@pytest.fixture(scope='module')
def demo_batches(repo_root, tmp_path_factory):
    # MedIM's batch of 4 holds negated keywords; 2 samples suffice for the others
    return {key: demo_config_and_batch(repo_root / path, tmp_path_factory.mktemp(key),
                                       4 if key == 'medim' else 2)
            for key, path in CONFIGS.items()}


def _with_uncertain_keywords(batch):
    """The demo records predate uncertainty flags: mark the keywords of half the samples."""
    batch = copy.deepcopy(batch)
    for sample in batch['data_samples'][::2]:
        sample.word_uncertain = sample.word_keyword.clone()
    return batch


def _losses(cfg, batch, reference=None, **overrides):
    torch.manual_seed(0)
    model = build_model(cfg, init=False, **overrides)
    if reference is not None:
        own = model.state_dict()
        model.load_state_dict({k: v for k, v in reference.state_dict().items()
                               if k in own and own[k].shape == v.shape}, strict=False)
    # MedIM: the maps its mask rules see are outputs too (a changed map can give the same
    # median split on a flat attention of an untrained model)
    maps = {}
    for name, gen in getattr(model, 'mask_generators', {}).items():
        gen.mask_rule.register_forward_pre_hook(
            lambda _, args, name=name: maps.__setitem__(f'map_{name}', args[0]))
    torch.manual_seed(1)
    data = model.data_preprocessor(copy.deepcopy(batch), True)
    with torch.no_grad():
        losses = model(**data, mode='loss')
    out = {k: float(v) for k, v in losses.items()}
    for key, patch_map in maps.items():
        weights = torch.arange(1, patch_map.numel() + 1, dtype=torch.float64)
        out[key] = float((patch_map.double().flatten() * weights).sum())
    return model, out


def _changed(base: dict, other: dict) -> bool:
    return set(base) != set(other) or any(abs(base[k] - other[k]) > 1e-6 for k in base)


@pytest.mark.parametrize('name', list(KNOBS))
def test_algorithm_knobs_change_the_losses(demo_batches, name):
    _, key = ALGORITHMS[name]
    cfg, batch = demo_batches[key]
    if name == 'MedIM':
        batch = _with_uncertain_keywords(batch)
        negated = [s.word_negated.bool() & s.word_keyword.bool() for s in batch['data_samples']]
        assert any(n.any() for n in negated), 'the demo batch needs a negated keyword'
    reference, base = _losses(cfg, batch)
    _, again = _losses(cfg, batch, reference)
    assert not _changed(base, again), 'the sweep itself is not reproducible'
    dead = []
    for knob, overrides in KNOBS[name].items():
        _, other = _losses(cfg, batch, reference, **overrides)
        if not _changed(base, other):
            dead.append(knob)
    assert not dead, f'{name}: changing {dead} does not change the losses'


# ---------------------------------------------------------------------------------------
# ReportGuidedMaskGenerator and TokenizeReport
# ---------------------------------------------------------------------------------------
def _generator_inputs():
    g = torch.Generator().manual_seed(0)
    attention = torch.softmax(3 * torch.randn(3, 12, 36, generator=g), dim=-1)
    keyword = torch.zeros(3, 12, dtype=torch.long)
    keyword[0, [1, 2, 7]] = 1
    keyword[1, [4]] = 1                     # sample 2 has no keyword
    negated = torch.zeros_like(keyword)
    negated[0, 7] = 1
    uncertain = torch.zeros_like(keyword)
    uncertain[0, [1, 2]] = 1
    sentence_ids = torch.tensor([[0] * 3 + [1] * 5 + [2] * 4] * 3)
    sentence_ids[2, 9:] = -1
    return dict(attention=attention, word_keyword=keyword, word_sentence_ids=sentence_ids,
                word_negated=negated, word_uncertain=uncertain)


def _reports(monkeypatch, **kwargs):
    """Number of fallback reports logged over 3 calls."""
    logged = []
    monkeypatch.setattr(report_guided, 'print_log', lambda *a, **k: logged.append(a))
    gen = ReportGuidedMaskGenerator(**kwargs)
    for seed in range(3):
        gen(**_generator_inputs(), generator=torch.Generator().manual_seed(seed))
    return len(logged)


#: knob -> (baseline kwargs, changed kwargs) of ReportGuidedMaskGenerator
GENERATOR_KNOBS = {
    'mode': (dict(), dict(mode='sdm')),
    'mask_rule': (dict(), dict(mask_rule=dict(type='TopKMaskRule'))),
    'min_sentence_words': (dict(mode='sdm'), dict(mode='sdm', min_sentence_words=5)),
    'use_negated': (dict(), dict(use_negated=False)),
    'use_uncertain': (dict(), dict(use_uncertain=False)),
    'fallback': (dict(), dict(fallback='all_words')),
    'log_interval': (dict(log_interval=50), dict(log_interval=1)),
}


@pytest.mark.parametrize('knob', list(GENERATOR_KNOBS))
def test_generator_knobs_change_the_mask(knob, monkeypatch):
    base_kwargs, changed_kwargs = GENERATOR_KNOBS[knob]
    if knob == 'log_interval':
        assert _reports(monkeypatch, **base_kwargs) != _reports(monkeypatch, **changed_kwargs)
        return

    def run(kwargs):
        return ReportGuidedMaskGenerator(**kwargs)(
            **_generator_inputs(), generator=torch.Generator().manual_seed(0))

    assert torch.equal(run(base_kwargs), run(base_kwargs))
    assert not torch.equal(run(base_kwargs), run(changed_kwargs)), knob


@pytest.fixture(scope='module')
def demo_record(repo_root):
    """A real demo record with a negated MeSH match, capitals and punctuation."""
    with open(repo_root / 'demo/cxr/annotations.jsonl', encoding='utf-8') as f:
        records = [json.loads(line) for line in f]
    def early(record, negated):
        return [m for m in record['mesh'] if bool(m.get('negated')) == negated
                and m['end_word'] < 30]

    record = copy.deepcopy(next(r for r in records if early(r, True) and early(r, False)))
    early(record, False)[0]['uncertain'] = True
    return record


@pytest.fixture(scope='module')
def small_tokenizer_file(demo_record, tmp_path_factory):
    """A 60-entry WordPiece vocabulary trained on the record itself."""
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers, trainers
    tokenizer = Tokenizer(models.WordPiece(unk_token='[UNK]'))
    tokenizer.normalizer = normalizers.Lowercase()
    tokenizer.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer.train_from_iterator([' '.join(demo_record['words'])], trainers.WordPieceTrainer(
        vocab_size=60, special_tokens=['[PAD]', '[UNK]', '[CLS]', '[MASK]', '[SEP]']))
    path = tmp_path_factory.mktemp('tok') / 'tokenizer.json'
    tokenizer.save(str(path))
    return str(path)


#: knob -> TokenizeReport kwargs changed from TokenizeReport(max_length=48)
TOKENIZE_KNOBS = {
    'tokenizer': dict(tokenizer=dict(type='WordPieceTokenizer', tokenizer_file='SMALL')),
    'max_length': dict(max_length=24),
    'max_words': dict(max_words=16),
    'use_negated': dict(use_negated=False),
    'use_uncertain': dict(use_uncertain=False),
    'drop_punctuation': dict(drop_punctuation=True),
}


@pytest.mark.parametrize('knob', list(TOKENIZE_KNOBS))
def test_tokenize_report_knobs_change_the_arrays(demo_record, small_tokenizer_file, knob):
    def run(**kwargs):
        if 'tokenizer' in kwargs:
            kwargs['tokenizer'] = dict(kwargs['tokenizer'], tokenizer_file=small_tokenizer_file)
        out = TokenizeReport(**dict(dict(max_length=48), **kwargs))(copy.deepcopy(demo_record))
        return {k: v.tolist() for k, v in out.items() if hasattr(v, 'tolist')}

    assert run() == run()
    assert run() != run(**TOKENIZE_KNOBS[knob]), knob
