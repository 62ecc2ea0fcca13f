# Copyright (c) medvlp contributors. All rights reserved.
"""SentenceSplitter: offline Punkt, the fast path, list markers, and the fallback model."""
import logging
import re

import pytest

from medvlp.text import SentenceSplitter, clean_report_text
from medvlp.text.punkt_model import (apply_radiology_lists, read_punkt_tab,
                                     read_radiology_lists)
from .helpers import load_tool


@pytest.mark.parametrize('text, expected', [
    ('1. Small left effusion. 2. No pneumothorax.',
     ['Small left effusion.', 'No pneumothorax.']),
    ('No acute process. 1. Small left effusion. 2) No pneumothorax.',
     ['No acute process.', 'Small left effusion.', 'No pneumothorax.']),
    ('IMPRESSION:\n1.\tLeft lower lobe pneumonia\n2.  No effusion',
     ['IMPRESSION:', 'Left lower lobe pneumonia', 'No effusion']),
    ('abnormality.1. No effusion.2. Clear.', ['abnormality.', 'No effusion.', 'Clear.']),
    ('Nodule measures approx. 1.5 cm. No effusion.',
     ['Nodule measures approx. 1.5 cm.', 'No effusion.']),
    ('Mass measures 2.2 x 1.6 cm. Recommend CT. Compared to prior CT. No change.',
     ['Mass measures 2.2 x 1.6 cm.', 'Recommend CT.', 'Compared to prior CT.', 'No change.']),
    ('Views of the chest PA. No effusion.', ['Views of the chest PA.', 'No effusion.']),
    ('Findings discussed with Dr. ___ at 3 p.m. The lungs are clear.',
     ['Findings discussed with Dr. ___ at 3 p.m.', 'The lungs are clear.']),
    ('Heart normal vs. enlarged. Lungs clear.', ['Heart normal vs. enlarged.', 'Lungs clear.']),
    ('Take 5 mg q.d. The heart is normal.', ['Take 5 mg q.d.', 'The heart is normal.']),
    ('Small effusion.No pneumothorax.', ['Small effusion.', 'No pneumothorax.']),
    ('Right lung ___.In the left lobe a nodule.',
     ['Right lung ___.', 'In the left lobe a nodule.']),
    ('Stable congestion. .', ['Stable congestion.']),
    ('Is there effusion? No! Heart e.g. big.', ['Is there effusion?', 'No!', 'Heart e.g. big.']),
    ('The heart is\nnormal.\n\nLungs clear', ['The heart is normal.', 'Lungs clear']),
])
def test_split_report_text(splitter, text, expected):
    assert splitter.split(text) == expected


def test_model_source(splitter, punkt_tab_dir):
    assert splitter.model_source == f'punkt_file:{punkt_tab_dir}'


def test_openi_sentences_are_ordered_pieces_of_the_text(splitter, openi_reports):
    """No sentence is a bare list number; sentences appear in the text, in order."""
    for report in openi_reports:
        for field in ('findings', 'impression'):
            if not (report[field] or '').strip():
                continue
            text = clean_report_text(report[field])
            spaced = re.sub(r'([a-z]{2}|_)\.(?=[A-Z0-9])', r'\1. ', text)
            position = 0
            for sentence in splitter.split(text):
                assert re.search(r'[^\W_]', sentence), (report['uid'], sentence)
                assert not re.fullmatch(r'\(?\d{1,2}[.)]', sentence), (report['uid'], sentence)
                found = spaced.find(sentence, position)
                assert found >= 0, (report['uid'], sentence)
                position = found + len(sentence)


def test_fast_path_equals_punkt(splitter, punkt_tab_dir, openi_reports):
    """Without list markers or glued periods the output is exactly NLTK Punkt's."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer
    params = read_punkt_tab(str(punkt_tab_dir))
    apply_radiology_lists(params, read_radiology_lists())
    punkt = PunktSentenceTokenizer(params)
    compared = 0
    for report in openi_reports:
        for field in ('findings', 'impression', 'indication', 'comparison'):
            text = clean_report_text(report[field]) if (report[field] or '').strip() else ''
            if not text or re.search(r'\d[.)]\s|[.?!][A-Z0-9]|[.?!][;,]', text):
                continue
            expected = [s for s in punkt.tokenize(text) if re.search(r'[^\W_]', s)]
            assert splitter.split(text) == expected, (report['uid'], field)
            compared += 1
    assert compared > 6000


def _hide_punkt(monkeypatch, tmp_path):
    import nltk.data
    monkeypatch.delenv('MEDVLP_NLTK_DATA', raising=False)
    monkeypatch.delenv('NLTK_DATA', raising=False)
    monkeypatch.setattr(nltk.data, 'path', [str(tmp_path)])


def test_fallback_without_punkt_tab(monkeypatch, tmp_path, caplog):
    _hide_punkt(monkeypatch, tmp_path)
    with caplog.at_level(logging.WARNING, logger='medvlp.text.sentences'):
        fallback = SentenceSplitter()
    warnings = [r for r in caplog.records if r.name == 'medvlp.text.sentences']
    assert len(warnings) == 1 and warnings[0].levelno == logging.WARNING
    assert 'untrained Punkt model' in warnings[0].getMessage()
    assert fallback.model_source.startswith('fallback:')
    assert fallback.split('Small effusion. No pneumothorax. 1. Nodule approx. 1.5 cm. '
                          '2. Seen by Dr. ___ today.') == [
        'Small effusion.', 'No pneumothorax.', 'Nodule approx. 1.5 cm.', 'Seen by Dr. ___ today.']
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger='medvlp.text.sentences'):
        fallback.split('One. Two.')
    assert not caplog.records


def test_medvlp_nltk_data_is_searched(monkeypatch, tmp_path, punkt_tab_dir):
    _hide_punkt(monkeypatch, tmp_path)
    monkeypatch.setenv('MEDVLP_NLTK_DATA', str(punkt_tab_dir.parents[2]))
    assert SentenceSplitter().model_source == f'punkt_tab:{punkt_tab_dir}'


def test_bad_punkt_file(tmp_path):
    with pytest.raises(FileNotFoundError, match='not found'):
        SentenceSplitter(punkt_file=str(tmp_path / 'missing.json'))
    (tmp_path / 'empty').mkdir()
    with pytest.raises(FileNotFoundError, match='abbrev_types.txt'):
        SentenceSplitter(punkt_file=str(tmp_path / 'empty'))
    bad = tmp_path / 'bad.json'
    bad.write_text('{"format": "something else"}')
    with pytest.raises(ValueError, match='train_punkt.py'):
        SentenceSplitter(punkt_file=str(bad))


def test_train_punkt_tool(openi_path, tmp_path, capsys):
    out = tmp_path / 'punkt_openi.json'
    status = load_tool('dataset_converters/train_punkt.py').main(
        [str(openi_path), '--out', str(out), '--limit', '400'])
    assert status == 0 and 'trained Punkt on 400 reports' in capsys.readouterr().out
    trained = SentenceSplitter(punkt_file=str(out))
    assert trained.model_source == f'punkt_file:{out}'
    assert trained.split('1. Nodule approx. 1.5 cm. 2. Seen by Dr. ___ today.No effusion.') == [
        'Nodule approx. 1.5 cm.', 'Seen by Dr. ___ today.', 'No effusion.']


def test_train_punkt_tool_errors(tmp_path, capsys):
    tool = load_tool('dataset_converters/train_punkt.py')
    assert tool.main([str(tmp_path / 'missing.jsonl'), '--out', str(tmp_path / 'm.json')]) == 1
    assert 'corpus path not found' in capsys.readouterr().err
    empty = tmp_path / 'empty.jsonl'
    empty.write_text('{"findings": null}\n')
    assert tool.main([str(empty), '--out', str(tmp_path / 'm.json')]) == 1
    assert 'no report text' in capsys.readouterr().err


def _plain_split_uncached(splitter, text):
    """SentenceSplitter._split_uncached as first written: every hint searched again in every
    list item, every candidate found with the regex."""
    from medvlp.text import sentences as module
    pieces_out = []
    paragraphs = module._PARAGRAPH_RE.split(text) if '\n' in text else (text, )
    for paragraph in paragraphs:
        items = module._LINE_MARKER_RE.split(paragraph) if module._MARKER_HINT_RE.search(
            paragraph) else (paragraph, )
        for item in items:
            item = module._WHITESPACE_RE.sub(' ', item).strip()
            if not item:
                continue
            if module._GLUED_HINT_RE.search(item):
                item = module._GLUED_RE.sub(r'\1 ', item)
            pieces = module._INLINE_MARKER_RE.split(item) if module._MARKER_HINT_RE.search(
                item) else (item, )
            for piece in pieces:
                piece = piece.strip()
                if not piece:
                    continue
                start, uncertain = 0, False
                for match in module._CANDIDATE_RE.finditer(piece):
                    if splitter._is_certain_break(piece, *match.span()):
                        stretch = piece[start:match.end()]
                        pieces_out.extend(splitter._punkt_split(stretch) if uncertain
                                          else (stretch, ))
                        start, uncertain = match.end() + 1, False
                    else:
                        uncertain = True
                if piece[start:]:
                    pieces_out.extend(splitter._punkt_split(piece[start:]) if uncertain
                                      else (piece[start:], ))
    return [s for s in pieces_out if module._ALNUM_RE.search(s)
            and not module._MARKER_ONLY_RE.fullmatch(s)]


def _odd_texts(count, seed):
    import random
    rng = random.Random(seed)
    parts = ['No effusion', '.', '. ', '?', '!', '..', '."', ".'", '.)', '.]', ' ', '  ', '\n',
             '\n\n', '\t', '1. ', '2) ', '(3) ', '12.', 'Dr', 'approx', ' 1.5 ', 'q.d', 'The',
             'lungs', 'effusion.No', '___', '(', ')', '"', 'e.g', 'i.e. the', 'St', 'vs']
    return [''.join(rng.choice(parts) for _ in range(rng.randint(1, 25)))
            for _ in range(count)]


def test_candidates_equal_the_regex(openi_reports):
    """The str.find candidates equal _CANDIDATE_RE's matches, also on punctuation soup."""
    from medvlp.text.sentences import _CANDIDATE_RE, _candidates
    texts = [value for report in openi_reports for value in report.values()
             if isinstance(value, str) and value] + _odd_texts(20000, seed=1)
    fast = 0
    for text in texts:
        assert _candidates(text) == [m.span() for m in _CANDIDATE_RE.finditer(text)], text
        fast += '?' not in text and '. ' in text
    assert fast > 5000


def test_split_equals_the_plain_loops(punkt_tab_dir, openi_reports):
    """The marker hint searched once per paragraph and the fast candidates give what the
    plain loops give, on every OpenI section and on marker / whitespace / period soup."""
    splitter = SentenceSplitter(punkt_file=str(punkt_tab_dir))
    texts = [clean_report_text(value) for report in openi_reports for value in report.values()
             if isinstance(value, str) and value.strip()] + _odd_texts(5000, seed=2)
    for text in texts:
        assert splitter._split_uncached(text) == _plain_split_uncached(splitter, text), text
