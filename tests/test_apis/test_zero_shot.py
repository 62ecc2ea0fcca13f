# Copyright (c) medvlp contributors. All rights reserved.
"""Zero-shot classification: prompt sets, the inferencer, and AUROC through tools/test.py."""
import json

import pytest
import torch

from demo_pretrain import DEMO_PRETRAIN_CONFIGS as CONFIGS
from medvlp.apis import ZeroShotInferencer, init_model
from medvlp.models.classifiers import SHIPPED_PROMPTS, load_prompts
from medvlp.utils import UserError
from tool_calls import call_tool

ZERO_SHOT_CONFIG = 'configs/zero_shot/zeroshot_joimternet_vit-tiny-p16_demo-covid.py'


def test_shipped_prompt_sets_cover_the_benchmark_classes():
    from medvlp.datasets.classification.split_list import (CHEXPERT_COMPETITION_CLASSES,
                                                           COVID_CLASSES, NIH_CLASSES)
    expected = dict(chexpert5=CHEXPERT_COMPETITION_CLASSES, nih14=NIH_CLASSES,
                    covid=COVID_CLASSES)
    assert set(SHIPPED_PROMPTS) == set(expected)
    for name, classes in expected.items():
        prompts = load_prompts(name, classes)  # every class, in the dataset's order
        assert list(prompts) == list(classes)
        # the file lists them in that order too: the configs in configs/zero_shot/ rely on it
        assert list(load_prompts(name)) == list(classes)
        assert all(p['positive'] and p['negative'] for p in prompts.values())


def test_bad_prompt_files_give_one_line_errors(tmp_path):
    bad = tmp_path / 'prompts.json'
    bad.write_text(json.dumps({'classes': {
        'Pleural Effusion': {'positive': ['effusion'], 'negative': ['no effusion']},
        'Pneumothorx': {'positive': ['pneumothorax'], 'negative': ['no pneumothorax']}}}))
    with pytest.raises(UserError, match=r"unknown class\(es\) \['Pneumothorx'\]") as e:
        load_prompts(str(bad), ['Pleural Effusion', 'Pneumothorax'])
    assert '\n' not in str(e.value)
    with pytest.raises(UserError, match=r"no prompts for class\(es\) \['Edema'\]"):
        load_prompts(str(bad), ['Pleural Effusion', 'Pneumothorx', 'Edema'])
    bad.write_text(json.dumps({'Edema': {'positive': ['edema']}}))
    with pytest.raises(UserError, match='needs non-empty "positive" and "negative"'):
        load_prompts(str(bad))
    with pytest.raises(UserError, match='does not exist'):
        load_prompts(str(tmp_path / 'missing.json'))


def test_inferencer_scores_images(medim_model, demo_records):
    inferencer = ZeroShotInferencer(medim_model, prompts='chexpert5')
    paths = [r['img_path'] for r in demo_records[:3]]
    out = inferencer(paths, batch_size=2)
    assert [o['img_path'] for o in out] == paths
    assert list(out[0]['scores']) == list(load_prompts('chexpert5'))
    assert all(0 < p < 1 for o in out for p in o['scores'].values())
    assert out[0]['scores'] != out[1]['scores']
    # the same scores as the registered model's predict path
    scores = inferencer.classifier.predict_scores(
        medim_model.data_preprocessor(next(inferencer.preprocess(paths, 3)), False)['inputs'])
    assert torch.allclose(scores[0], torch.tensor(list(out[0]['scores'].values())), atol=1e-6)


@pytest.mark.slow
def test_tools_test_evaluates_zero_shot_auc(repo_root, demo_pretrain_checkpoints, demo_records,
                                            tmp_path):
    """tools/test.py gives the AUROC of the covid-cxr COVID-19 labels, the same number as
    scikit-learn on the inferencer's scores; an MRM checkpoint or a prompt file with an
    unknown class is a one-line error. test.py runs in this process (tests/tool_calls.py)."""
    from sklearn.metrics import roc_auc_score
    ckpt = demo_pretrain_checkpoints['joimternet']
    out = tmp_path / 'metrics.json'
    proc = call_tool('test.py', ZERO_SHOT_CONFIG, ckpt, '--work-dir', tmp_path / 'work',
                     '--out', out)
    assert 'COVID-19' in proc.stdout + proc.stderr  # the per-class table
    metrics = json.loads(out.read_text())

    model = init_model(str(repo_root / CONFIGS['joimternet']), str(ckpt))
    inferencer = ZeroShotInferencer(model, prompts='covid')
    scores = [o['scores']['COVID-19'] for o in
              inferencer([r['img_path'] for r in demo_records], batch_size=25)]
    labels = [r['labels']['COVID-19'] for r in demo_records]
    assert sum(labels) == 48  # covid-cxr finding COVID-19 vs the rest
    assert metrics['cls/auc_COVID-19'] == pytest.approx(roc_auc_score(labels, scores),
                                                        abs=1e-6)

    bad = tmp_path / 'prompts.json'
    bad.write_text(json.dumps({'classes': {'Covid': {'positive': ['covid'],
                                                     'negative': ['no covid']}}}))
    proc = call_tool('test.py', ZERO_SHOT_CONFIG, ckpt, '--work-dir', tmp_path / 'bad',
                     '--cfg-options', f'model.prompts={bad}', check=False)
    assert proc.returncode == 2
    assert "unknown class(es) ['Covid']" in proc.stderr.strip().splitlines()[-1]
    proc = call_tool('test.py', ZERO_SHOT_CONFIG, demo_pretrain_checkpoints['mrm'],
                     '--work-dir', tmp_path / 'mrm', check=False)
    assert proc.returncode == 2
    assert 'does not fit ZeroShotClassifier' in proc.stderr.strip().splitlines()[-1]
