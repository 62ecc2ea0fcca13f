# Copyright (c) medvlp contributors. All rights reserved.
"""ReportProcessor: the cached record, bad inputs, long reports, notes and real OpenI data."""
import json

import pytest

from medvlp.text import EmptyReportError, ReportProcessor
from .helpers import MIMIC_REPORT

RECORD_KEYS = {'sections', 'report', 'sentences', 'words', 'sentence_ids', 'mesh'}


def check_record(record):
    """The invariants every record satisfies."""
    assert RECORD_KEYS <= set(record) <= RECORD_KEYS | {'fallback', 'truncated'}
    assert len(record['words']) == len(record['sentence_ids']) > 0
    assert record['sentence_ids'] == sorted(record['sentence_ids'])
    assert set(record['sentence_ids']) == set(range(len(record['sentences'])))
    previous_end = 0
    for match in record['mesh']:
        assert set(match) == {'term', 'mesh_id', 'start_word', 'end_word', 'negated', 'uncertain'}
        assert previous_end <= match['start_word'] < match['end_word'] <= len(record['words'])
        previous_end = match['end_word']
    assert json.loads(json.dumps(record)) == record


def test_mimic_report_record(processor):
    record = processor.process_report(MIMIC_REPORT)
    check_record(record)
    assert list(record['sections']) == ['examination', 'indication', 'comparison', 'findings',
                                        'impression']
    assert record['report'] == (record['sections']['findings'] + '\n\n'
                                + record['sections']['impression'])
    assert record['sentences'][-2:] == ['Small left pleural effusion.', 'No pneumothorax.']
    assert 'fallback' not in record and 'truncated' not in record
    found = {(' '.join(record['words'][m['start_word']:m['end_word']]), m['negated'])
             for m in record['mesh']}
    assert {('consolidation', True), ('effusion', True), ('pneumothorax', True),
            ('cardiomediastinal silhouette', False), ('free air', True),
            ('hemidiaphragm', True), ('pleural effusion', False)} <= found
    for match in record['mesh']:
        sentence = record['sentences'][record['sentence_ids'][match['start_word']]]
        assert record['words'][match['start_word']] in sentence


@pytest.mark.parametrize('bad', [None, float('nan'), '', '   ', '. . ;', 'FINDINGS:'])
def test_empty_reports_raise(processor, bad):
    with pytest.raises(EmptyReportError):
        processor.process_report(bad)


def test_non_ascii_report(processor):
    record = processor.process_report('Épanchement pleural; ünicode — dash. Small effusion.')
    check_record(record)
    assert record['words'][:3] == ['Épanchement', 'pleural', ';']
    assert record['fallback'] is True


def test_long_report_is_capped(processor):
    sentence = 'There is a small left pleural effusion without pneumothorax. '
    text = 'FINDINGS: ' + sentence * (20000 // len(sentence) + 1)
    assert len(text) > 20000
    record = processor.process_report(text)
    check_record(record)
    assert record['truncated'] is True and len(record['words']) == processor.max_words == 512
    assert record['report'] == text[len('FINDINGS: '):].strip()
    last = record['sentences'][-1]
    assert sentence.startswith(last) and last != sentence.strip()
    uncapped = ReportProcessor(splitter=processor.splitter, max_words=None).process_report(text)
    assert 'truncated' not in uncapped and len(uncapped['words']) > 3000


def test_report_without_mesh_terms(processor):
    record = processor.process_report('IMPRESSION: Normal study. Recommend follow-up.')
    check_record(record)
    assert record['mesh'] == []


def test_fallback_and_note_source(processor):
    record = processor.process_report('INDICATION: cough\nCOMPARISON: none. No effusion.')
    assert record['fallback'] is True and record['report'] == 'cough\n\nnone. No effusion.'
    headerless = processor.process_report('No acute cardiopulmonary process.')
    assert headerless['fallback'] is True and headerless['sections'] == {
        'preamble': 'No acute cardiopulmonary process.'}
    note = processor.process_report('Fever and cough.\nFINDINGS: bilateral opacities',
                                    source='note')
    assert note['sections'] == {} and 'fallback' not in note
    assert note['report'] == 'Fever and cough. FINDINGS: bilateral opacities'
    with pytest.raises(ValueError, match='source'):
        processor.process_report('text', source='xray')


def test_selected_sections_and_options(splitter):
    impression_only = ReportProcessor(splitter=splitter, sections='impression')
    record = impression_only.process_report(MIMIC_REPORT)
    assert record['sentences'] == ['Small left pleural effusion.', 'No pneumothorax.']
    with pytest.raises(ValueError, match='max_words'):
        ReportProcessor(splitter=splitter, max_words=0)
    with pytest.raises(ValueError, match='sections'):
        ReportProcessor(splitter=splitter, sections=())


def test_process_sections_and_many(processor):
    record = processor.process_sections({'findings': float('nan'), 'impression': 'No effusion.',
                                         'indication': None})
    assert record['sections'] == {'impression': 'No effusion.'}
    assert record['mesh'][0]['negated'] is True
    with pytest.raises(EmptyReportError):
        processor.process_sections({'findings': None, 'impression': '  '})
    records = processor.process_many(['FINDINGS: Clear.', None], skip_empty=True)
    assert records[1] is None and records[0]['words'] == ['Clear', '.']
    with pytest.raises(EmptyReportError):
        processor.process_many(['FINDINGS: Clear.', ''])


def test_all_openi_reports(openi_reports, openi_records):
    """Every OpenI report with findings or impression gives a valid record."""
    with_text = [r for r in openi_reports
                 if (r['findings'] or '').strip() or (r['impression'] or '').strip()]
    assert len(openi_records) == len(with_text) == 3927
    for record in openi_records.values():
        check_record(record)


def test_single_space_fast_path_equals_the_substitutions(openi_reports, processor, monkeypatch):
    """The substring test that skips the whitespace regexes never changes a record."""
    import re

    from medvlp.text import cleaning, sections, sentences
    from medvlp.text.cleaning import has_only_single_spaces
    spaces = re.compile(r'\s{2,}|[^\S ]')
    spaces_keep_lines = re.compile(r'[^\S\n]{2,}|[^\S \n]')
    samples = ['a b', 'a  b', 'a\tb', 'a\nb', 'a\rb', 'a\x0bb', 'a\x0cb', 'a\x1cb', 'a\x1fb',
               'a\u00a0b', 'a\u2003b', '', ' ', 'a \n b']
    texts = samples + [r[k] for r in openi_reports for k in ('findings', 'impression')
                       if r.get(k)]
    for text in texts:
        if has_only_single_spaces(text):
            assert spaces.sub(' ', text) == text, repr(text)
        if has_only_single_spaces(text, allow_newlines=True):
            assert spaces_keep_lines.sub(' ', text) == text, repr(text)
    reports = ['\n\n'.join(f'{k.upper()}:  {r[k]}' for k in ('findings', 'impression')
                           if r.get(k)) for r in openi_reports[:600]]
    reports = [r for r in reports if r] + ['FINDINGS:\tClear\r\nlungs.\u00a0 No effusion.']
    fast = [processor.process_report(text) for text in reports]
    for module in (cleaning, sections, sentences):
        monkeypatch.setattr(module, 'has_only_single_spaces',
                            lambda text, allow_newlines=False: False)
    processor.splitter._cache.clear()
    assert [processor.process_report(text) for text in reports] == fast
