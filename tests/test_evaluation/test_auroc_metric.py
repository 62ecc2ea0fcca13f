# Copyright (c) medvlp contributors. All rights reserved.
"""MultiLabelAUROC (scikit-learn inside) against torchmetrics, on random and tied scores."""
import logging

import numpy as np
import pytest
import torch
from mmengine.evaluator import Evaluator
from mmengine.logging import MMLogger
from mmpretrain.structures import DataSample
from torchmetrics.classification import BinaryAUROC, MultilabelAUROC, MultilabelF1Score

from medvlp.evaluation.metrics import MultiLabelAUROC, per_class_auroc
from medvlp.evaluation.metrics.auroc import SingleValuedClassWarning



@pytest.fixture
def mm_log_records():
    """Returns a function giving the text logged through the current MMLogger so far."""
    logger = MMLogger.get_current_instance()
    records = []
    handler = logging.Handler(level=logging.DEBUG)
    handler.emit = records.append
    logger.addHandler(handler)
    yield lambda: '\n'.join(r.getMessage() for r in records)
    logger.removeHandler(handler)


CLASSES = ('Atelectasis', 'Cardiomegaly', 'Consolidation', 'Edema', 'Pleural Effusion')


def samples(scores, targets, as_index=False):
    out = []
    for s, t in zip(scores, targets):
        sample = DataSample().set_pred_score(torch.as_tensor(s, dtype=torch.float32))
        if as_index:
            sample.set_gt_label(np.flatnonzero(t).tolist())
        else:
            sample.set_gt_score(torch.as_tensor(t, dtype=torch.float32))
        out.append(sample.to_dict())
    return out


def evaluate(scores, targets, classes=CLASSES, as_index=False, **kwargs):
    evaluator = Evaluator(MultiLabelAUROC(**kwargs))
    evaluator.dataset_meta = dict(classes=classes)
    evaluator.process(samples(scores, targets, as_index))
    return evaluator.evaluate(len(scores))


def reference(scores, targets):
    metric = MultilabelAUROC(num_labels=scores.shape[1], average=None, thresholds=None)
    return metric(torch.as_tensor(scores), torch.as_tensor(targets).long()).numpy()


@pytest.mark.parametrize('ties', [False, True])
def test_matches_torchmetrics(ties):
    rng = np.random.default_rng(0)
    scores = rng.random((300, 5)).astype(np.float32)
    if ties:  # few distinct values: many tied scores across both classes
        scores = np.round(scores * 4) / 4
    targets = (rng.random((300, 5)) < [0.1, 0.3, 0.5, 0.05, 0.7]).astype(int)
    metrics = evaluate(scores, targets, as_index=ties)
    expected = reference(scores, targets)
    got = np.array([metrics[f'cls/auc_{c}'] for c in CLASSES])
    np.testing.assert_allclose(got, expected, atol=1e-6, rtol=0)
    assert metrics['cls/auc'] == pytest.approx(expected.mean(), abs=1e-6)
    f1 = MultilabelF1Score(num_labels=5, average='macro', threshold=0.5, zero_division=0)
    assert metrics['cls/f1'] == pytest.approx(
        f1(torch.as_tensor(scores), torch.as_tensor(targets)).item(), abs=1e-6)
    assert metrics['cls/accuracy'] == pytest.approx(((scores > 0.5) == targets).mean())


def test_binary_auroc():
    rng = np.random.default_rng(1)
    targets = (rng.random(200) < 0.3).astype(int)
    scores = np.clip(0.3 * targets + rng.normal(0.4, 0.2, 200), 0, 1).round(2)
    metrics = evaluate(scores[:, None], targets[:, None], classes=('COVID-19', ))
    expected = BinaryAUROC(thresholds=None)(torch.as_tensor(scores), torch.as_tensor(targets))
    assert metrics['cls/auc'] == pytest.approx(expected.item(), abs=1e-6)
    assert metrics['cls/auc_COVID-19'] == metrics['cls/auc']
    assert metrics['cls/auc'] > 0.7  # the scores carry signal


def test_single_valued_class_is_nan_and_left_out(mm_log_records):
    rng = np.random.default_rng(2)
    scores = rng.random((50, 5))
    targets = (rng.random((50, 5)) < 0.4).astype(int)
    targets[:, 1] = 0
    targets[:, 3] = 1
    with pytest.warns(SingleValuedClassWarning, match=r'Cardiomegaly \(all 0\), Edema \(all 1\)'):
        metrics = evaluate(scores, targets)
    assert np.isnan(metrics['cls/auc_Cardiomegaly']) and np.isnan(metrics['cls/auc_Edema'])
    expected = reference(scores, targets)[[0, 2, 4]]
    assert metrics['cls/auc'] == pytest.approx(expected.mean(), abs=1e-6)
    text = mm_log_records()
    assert 'Cardiomegaly (all 0)' in text
    # the per-class table
    assert 'Cardiomegaly' in text and '0/50' in text and 'nan' in text
    assert f'{metrics["cls/auc"]:.4f}' in text and 'mean AUC' in text and '(3 cls)' in text
    with pytest.warns(SingleValuedClassWarning):
        assert np.isnan(per_class_auroc(scores[:, :1], np.zeros((50, 1)))).all()


def test_bad_targets_are_rejected():
    with pytest.raises(ValueError, match='0 or 1'):
        per_class_auroc(np.zeros((3, 1)), np.array([[0], [2], [1]]))
    with pytest.raises(ValueError, match='differ in shape'):
        per_class_auroc(np.zeros((3, 2)), np.zeros((3, 1)))


def test_non_finite_scores_raise_naming_how_many():
    rng = np.random.default_rng(0)
    scores = rng.random((10, len(CLASSES)))
    targets = rng.integers(0, 2, (10, len(CLASSES)))
    scores[3, 1], scores[7, 0] = np.nan, np.inf
    with pytest.raises(ValueError, match='2 of 10 samples have non-finite scores'):
        evaluate(scores, targets)
