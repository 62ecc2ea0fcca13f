# Copyright (c) medvlp contributors. All rights reserved.
"""UncertaintyDetector: phrase rules by hand, the processed record, and the NegBio gold labels
(tools/analysis_tools/benchmark_negbio_labels.py)."""
import csv

import pytest

from medvlp.text import MeshMatcher, NegationDetector, UncertaintyDetector, split_words
from .helpers import load_tool, run_tool_process


def flags(sentence):
    words = split_words(sentence)
    matches = NegationDetector().annotate(words, MeshMatcher().match(words))
    UncertaintyDetector().annotate(words, matches)
    return [(m.term, m.negated, m.uncertain) for m in matches]


@pytest.mark.parametrize('sentence, expected', [
    ('Findings may represent pneumonia.', [('Pneumonia', False, True)]),
    ('Possible small left pleural effusion.', [('Pleural Effusion', False, True)]),
    ('Small effusion cannot be excluded.', [('Pleural Effusion', False, True)]),
    ('Opacity suspicious for pneumonia.', [('Lung Diseases', False, False),
                                           ('Pneumonia', False, True)]),
    ('Not suspicious for pneumonia.', [('Pneumonia', False, False)]),      # pseudo-trigger
    ('No pneumothorax.', [('Pneumothorax', True, False)]),
    ('Cardiomegaly.', [('Cardiomegaly', False, False)]),
    # the scope ends at "but": the effusion is negated, not uncertain
    ('Possible atelectasis but no effusion.', [('Pulmonary Atelectasis', False, True),
                                               ('Pleural Effusion', True, False)]),
    # and never crosses a sentence
    ('Possibly atelectasis. Pneumothorax.', [('Pulmonary Atelectasis', False, True),
                                             ('Pneumothorax', False, False)]),
])
def test_uncertainty_rules_by_hand(sentence, expected):
    assert flags(sentence) == expected


def test_processed_record_carries_the_flag(processor):
    record = processor.process_report('IMPRESSION: Left basilar opacity may represent '
                                      'atelectasis. No pneumothorax.')
    by_term = {m['term']: m for m in record['mesh']}
    assert by_term['Pulmonary Atelectasis']['uncertain'] is True
    assert by_term['Pneumothorax'] == dict(by_term['Pneumothorax'], negated=True,
                                           uncertain=False)


def test_uncertainty_raises_precision_against_negbio_gold(shared_data, openi_records):
    """Measured: micro precision 0.749 -> 0.861, recall 0.917 -> 0.886 over 12 findings."""
    bench = load_tool('analysis_tools/benchmark_negbio_labels.py')
    with open(shared_data / 'openi' / 'openi_gld_std14.csv', encoding='utf-8') as f:
        gold = {row['filename']: row for row in csv.DictReader(f)}
    counts = bench.score({uid: r for uid, r in openi_records.items() if uid in gold}, gold)
    micro = {}
    for mode in bench.MODES:
        total = [sum(c[i] for c in counts[mode].values()) for i in range(3)]
        micro[mode] = bench.prf(*total)
    assert micro['before'][0] < 0.78 and micro['after'][0] > 0.84, micro
    assert micro['after'][1] > 0.85 and micro['after'][2] > micro['before'][2] + 0.03, micro


@pytest.mark.slow
def test_benchmark_tool_prints_the_table(openi_path):
    proc = run_tool_process('analysis_tools/benchmark_negbio_labels.py', '--reports',
                            openi_path, '--limit', '40')
    assert proc.returncode == 0, proc.stderr
    assert 'NegBio gold-label benchmark: 40 OpenI reports' in proc.stdout
    assert 'micro after: precision' in proc.stdout


def test_benchmark_tool_missing_input(tmp_path):
    proc = run_tool_process('analysis_tools/benchmark_negbio_labels.py', '--reports',
                            tmp_path / 'missing.jsonl')
    assert proc.returncode == 1 and 'not found' in proc.stderr
