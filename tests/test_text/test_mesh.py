# Copyright (c) medvlp contributors. All rights reserved.
"""The curated MeSH vocabulary and MeshMatcher, on constructed and real OpenI text."""
import csv
import re

import pytest

from medvlp.text import MeshEntry, MeshMatch, MeshMatcher, MeshVocabulary, split_words
from medvlp.text.mesh import form_key


@pytest.fixture(scope='module')
def matcher():
    return MeshMatcher()


def matched(matcher, sentence):
    words = split_words(sentence)
    return [(m.term, ' '.join(words[m.start_word:m.end_word])) for m in matcher.match(words)]


def test_shipped_vocabulary_loads():
    vocabulary = MeshVocabulary.load()
    assert len(vocabulary) > 100
    assert vocabulary.get('D010996') == MeshEntry(
        'D010996', 'Pleural Effusion',
        ('pleural effusion', 'effusion', 'pleural fluid', 'hydrothorax'))
    for mesh_id, heading in [('D011030', 'Pneumothorax'), ('D001261', 'Pulmonary Atelectasis'),
                             ('D006332', 'Cardiomegaly'), ('D011654', 'Pulmonary Edema'),
                             ('D011014', 'Pneumonia'), ('D006551', 'Hernia, Hiatal'),
                             ('D011656', 'Pulmonary Emphysema'), ('D006099', 'Granuloma'),
                             ('D002114', 'Calcinosis'), ('D013904', 'Thoracic Vertebrae'),
                             ('D002921', 'Cicatrix'), ('D010138', 'Pacemaker, Artificial')]:
        assert vocabulary.get(mesh_id).heading == heading
    assert 'D000000' not in vocabulary and vocabulary.get('D000000') is None


def test_vocabulary_ids_and_headings_are_mesh(shared_data):
    with open(shared_data / 'vocab' / 'mesh_terms.csv', encoding='utf-8', newline='') as f:
        mesh = {row['id']: row['term'] for row in csv.DictReader(f)}
    for entry in MeshVocabulary.load():
        assert re.fullmatch(r'D\d{6,9}', entry.mesh_id)
        assert mesh.get(entry.mesh_id) == entry.heading, entry


@pytest.mark.parametrize('sentence, expected', [
    ('No pneumothorax or pleural effusion.',
     [('Pneumothorax', 'pneumothorax'), ('Pleural Effusion', 'pleural effusion')]),
    ('Small left PLEURAL EFFUSIONS.', [('Pleural Effusion', 'PLEURAL EFFUSIONS')]),
    ('Bibasilar opacities and nodules.',
     [('Lung Diseases', 'opacities'), ('Solitary Pulmonary Nodule', 'nodules')]),
    ('Tiny pneumo-thorax, hyper-inflation, plate-like atelectasis, platelike atelectases.',
     [('Pneumothorax', 'pneumo-thorax'), ('Lung Diseases, Obstructive', 'hyper-inflation'),
      ('Pulmonary Atelectasis', 'plate-like atelectasis'),
      ('Pulmonary Atelectasis', 'platelike atelectases')]),
    ('Pulmonary atelectasis and a large hiatal hernia.',
     [('Pulmonary Atelectasis', 'Pulmonary atelectasis'), ('Hernia, Hiatal', 'hiatal hernia')]),
    ('Small pericardial effusion.', [('Pericardial Effusion', 'pericardial effusion')]),
    ('Calcified granuloma; calcified lymph node.',
     [('Granuloma', 'Calcified granuloma'), ('Calcinosis', 'calcified'),
      ('Lymph Nodes', 'lymph node')]),
    ('The heart size is enlarged.', [('Cardiomegaly', 'heart size is enlarged')]),
    ('Pleural, effusion', [('Pleural Effusion', 'effusion')]),
    ('Normal study, no acute findings.', []),
])
def test_matching_rules(matcher, sentence, expected):
    assert matched(matcher, sentence) == expected


def test_match_positions_do_not_overlap(matcher):
    words = split_words('Left pleural effusion and subsegmental atelectasis of the left lung.')
    matches = matcher.match(words)
    assert matches == [MeshMatch('Pleural Effusion', 'D010996', 1, 3),
                       MeshMatch('Pulmonary Atelectasis', 'D001261', 4, 6),
                       MeshMatch('Lung', 'D008168', 9, 10)]
    assert matcher.match([]) == []
    assert matcher.max_words >= 4


def test_vocabulary_validation(tmp_path):
    with pytest.raises(ValueError, match='clashes'):
        MeshVocabulary([MeshEntry('D1', 'A', ('pleural effusion', )),
                        MeshEntry('D2', 'B', ('Pleural Effusions', ))])
    with pytest.raises(ValueError, match='duplicate MeSH id'):
        MeshVocabulary([MeshEntry('D1', 'A', ('a', )), MeshEntry('D1', 'B', ('b', ))])
    with pytest.raises(ValueError, match='punctuation'):
        form_key('effusion, pleural')
    with pytest.raises(FileNotFoundError, match='missing.tsv'):
        MeshVocabulary.load(str(tmp_path / 'missing.tsv'))
    bad = tmp_path / 'bad.tsv'
    bad.write_text('# comment\nmesh_id\theading\tforms\nD1\tOnly two cells\n')
    with pytest.raises(ValueError, match=r'bad.tsv:3'):
        MeshVocabulary.load(str(bad))
    bad.write_text('D1\tA\ta\n')
    with pytest.raises(ValueError, match='header'):
        MeshVocabulary.load(str(bad))


def test_save_and_load_round_trip(tmp_path):
    vocabulary = MeshVocabulary([MeshEntry('D2', 'Beta', ('b', 'bee')),
                                 MeshEntry('D1', 'Alpha', ('a', ))])
    path = tmp_path / 'v.tsv'
    vocabulary.save(str(path), comments=('test vocabulary', ))
    assert path.read_text().splitlines() == [
        '# test vocabulary', 'mesh_id\theading\tforms', 'D1\tAlpha\ta', 'D2\tBeta\tb|bee']
    loaded = MeshVocabulary.load(str(path))
    assert sorted(loaded, key=lambda e: e.mesh_id) == sorted(vocabulary, key=lambda e: e.mesh_id)
    assert MeshMatcher(loaded).match(['Bees']) == [MeshMatch('Beta', 'D2', 0, 1)]


def test_openi_pleural_effusion_hit_rate(openi_reports, openi_records):
    """Reports that OpenI's indexers tagged Pleural Effusion mention it in findings/impression.

    Observed with the shipped vocabulary: 160 of the 161 tagged reports with text have a
    Pleural Effusion match (the miss writes "pleural fusion"), 138 of them through the
    two-word form "pleural effusion(s)". The bounds leave room for vocabulary edits.
    """
    tagged = [r['uid'] for r in openi_reports
              if any(tag.split('/')[0] == 'Pleural Effusion' for tag in r['mesh_major'])
              and r['uid'] in openi_records]
    assert len(tagged) > 150
    hits = multi_word = 0
    for uid in tagged:
        record = openi_records[uid]
        effusions = [m for m in record['mesh'] if m['mesh_id'] == 'D010996']
        hits += bool(effusions)
        for match in effusions:
            surface = ' '.join(record['words'][match['start_word']:match['end_word']]).lower()
            if surface.startswith('pleural effusion'):
                multi_word += 1
                break
    assert hits / len(tagged) >= 0.95
    assert multi_word / len(tagged) >= 0.8


def test_openi_matches_map_back_to_words_and_tokens(openi_records, tokenizer):
    """words[start:end] is a form of the matched heading; word_ids point at those words."""
    vocabulary = MeshVocabulary.load()
    keys = {entry.mesh_id: {form_key(form) for form in entry.forms} for entry in vocabulary}
    n_matches = 0
    for uid, record in list(openi_records.items())[:800]:
        words = record['words']
        encoded = tokenizer.encode_words(words, max_length=512)
        for match in record['mesh']:
            surface = words[match['start_word']:match['end_word']]
            assert form_key(' '.join(surface)) in keys[match['mesh_id']], (uid, match)
            positions = [i for i, w in enumerate(encoded['word_ids'])
                         if match['start_word'] <= w < match['end_word']]
            assert positions == list(range(positions[0], positions[0] + len(positions)))
            pieces = tokenizer.decode([encoded['input_ids'][i] for i in positions])
            assert pieces.replace(' ', '') == ''.join(surface).lower(), (uid, match)
            n_matches += 1
    assert n_matches > 5000
