# Copyright (c) medvlp contributors. All rights reserved.
"""NegationDetector on constructed and real IU/OpenI sentences."""
import csv

import pytest

from medvlp.text import MeshMatcher, NegationDetector, clean_report_text, split_words


@pytest.fixture(scope='module')
def annotate():
    matcher, detector = MeshMatcher(), NegationDetector()

    def run(text):
        words = split_words(clean_report_text(text))
        matches = detector.annotate(words, matcher.match(words))
        return [(' '.join(words[m.start_word:m.end_word]), m.negated) for m in matches]

    return run


@pytest.mark.parametrize('text, expected', [
    # Real IU/OpenI sentences.
    ('No pneumothorax or pleural effusion.',
     [('pneumothorax', True), ('pleural effusion', True)]),
    ('Small left pleural effusion.', [('pleural effusion', False)]),
    ('No pneumothorax. Small effusion.', [('pneumothorax', True), ('effusion', False)]),
    ('There are no XXXX of a pleural effusion. There is no evidence of pneumothorax.',
     [('pleural effusion', True), ('pneumothorax', True)]),
    ('No displaced rib fractures, pneumothorax, or pleural effusion identified.',
     [('rib fractures', True), ('pneumothorax', True), ('pleural effusion', True)]),
    ('Heart size within normal limits. No focal airspace disease. No effusions.',
     [('Heart size', False), ('airspace disease', True), ('effusions', True)]),
    ('Lungs are free of focal airspace disease.', [('Lungs', False), ('airspace disease', True)]),
    # Post-negation, bidirectional and pseudo-triggers.
    ('Pneumothorax has resolved.', [('Pneumothorax', True)]),
    ('Pleural effusions are not identified.', [('Pleural effusions', True)]),
    ('Resolved right pneumothorax. Persistent left effusion.',
     [('pneumothorax', True), ('effusion', False)]),
    ('No change in the small left pleural effusion.', [('pleural effusion', False)]),
    ('No significant increase in cardiomegaly.', [('cardiomegaly', False)]),
    ('Pneumonia cannot be excluded.', [('Pneumonia', False)]),
    ('Chest x-ray to rule out pneumonia.', [('pneumonia', False)]),
    # Scope terminators.
    ('No pneumothorax, but small left effusion.', [('pneumothorax', True), ('effusion', False)]),
    ('No pneumothorax; small left effusion.', [('pneumothorax', True), ('effusion', False)]),
    ('The lungs are clear without effusion and there is mild cardiomegaly.',
     [('lungs', False), ('effusion', True), ('cardiomegaly', False)]),
    ('Small left effusion without pneumothorax.', [('effusion', False), ('pneumothorax', True)]),
])
def test_negation(annotate, text, expected):
    assert annotate(text) == expected


def test_sentence_ids_bound_the_scope():
    words = ['No', 'pneumothorax', 'small', 'effusion']
    matches = MeshMatcher().match(words)
    NegationDetector().annotate(words, matches, sentence_ids=[0, 0, 1, 1])
    assert [m.negated for m in matches] == [True, False]
    NegationDetector().annotate(words, matches, sentence_ids=[0, 0, 0, 0])
    assert [m.negated for m in matches] == [True, True]
    assert NegationDetector().annotate(words, []) == []


def test_scope_length_is_limited():
    words = ['No'] + ['word'] * 5 + ['effusion']
    matches = MeshMatcher().match(words)
    assert NegationDetector(max_scope=3).annotate(words, matches)[0].negated is False
    assert NegationDetector(max_scope=10).annotate(words, matches)[0].negated is True


def test_agreement_with_negbio_gold_labels(shared_data, openi_records):
    """On OpenI reports that mention a finding, "mentioned and not negated" agrees with NegBio's
    gold label. Observed: Effusion 0.988 over 2,898 reports, Pneumothorax 0.999 over 2,621.
    Uncertain mentions ("may represent a small effusion") are not modelled and count as
    positive here, while the gold standard counts them negative; that is the remaining gap.
    """
    with open(shared_data / 'openi' / 'openi_gld_std14.csv', encoding='utf-8') as f:
        gold = {row['filename']: row for row in csv.DictReader(f)}
    for label, mesh_id, bound in [('Effusion', 'D010996', 0.97), ('Pneumothorax', 'D011030', 0.98)]:
        mentioned = agree = 0
        for uid, record in openi_records.items():
            if uid not in gold:
                continue
            found = [m for m in record['mesh'] if m['mesh_id'] == mesh_id]
            if found:
                mentioned += 1
                agree += any(not m['negated'] for m in found) == (gold[uid][label] == '1')
        assert mentioned > 2000 and agree / mentioned >= bound, (label, agree, mentioned)
