# Copyright (c) medvlp contributors. All rights reserved.
"""clean_report_text and extract_sections on MIMIC-CXR-style and real IU/OpenI reports."""
import pytest

from medvlp.text import EmptyReportError, clean_report_text, extract_sections
from medvlp.text.sections import canonical_section_name, select_sections, tidy_section_text
from .helpers import MIMIC_REPORT


@pytest.mark.parametrize('bad', [None, float('nan'), '', '   ', '\n\t \r\n', '\x00\u200b'])
def test_clean_rejects_empty_input(bad):
    with pytest.raises(EmptyReportError):
        clean_report_text(bad)
    assert issubclass(EmptyReportError, ValueError)


def test_clean_rejects_non_text():
    with pytest.raises(TypeError, match='str'):
        clean_report_text(42)


def test_clean_whitespace_and_placeholders():
    text = '  Heart\t\tsize  normal.\r\n\r\n\r\n\r\nNo  XXXX XXXX, x-XXXX ___ ___/___ ____ seen. '
    assert clean_report_text(text) == 'Heart size normal.\n\nNo ___, x-___ seen.'
    assert clean_report_text(b'No effusion \xff.') == 'No effusion \ufffd.'


def test_clean_keeps_non_ascii_text():
    text = 'Épanchement pleural; ünicode — dash\u00a0ﬁbrosis'
    assert clean_report_text(text) == 'Épanchement pleural; ünicode — dash fibrosis'


def test_mimic_report_sections():
    sections = extract_sections(MIMIC_REPORT)
    assert list(sections) == ['examination', 'indication', 'comparison', 'findings',
                              'impression']
    assert sections['examination'] == 'CHEST (PA AND LAT)'
    assert sections['indication'] == '___F with new onset ascites // eval for infection'
    assert sections['findings'].startswith('PA and lateral views of the chest provided. There')
    assert 'consolidation, effusion, or pneumothorax.' in sections['findings']
    assert sections['impression'] == '1. Small left pleural effusion. 2. No pneumothorax.'
    assert extract_sections(clean_report_text(MIMIC_REPORT)) == sections


def test_aliases_and_case():
    text = ('WET READ: ___ 10:30 AM no pneumonia\n'
            'FINAL REPORT\n'
            'CLINICAL HISTORY: cough.\n'
            'REASON FOR EXAM: fever\n'
            'TECHNIQUE: PA and lateral.\n'
            'Comparison: 10:30 today.\n'
            'findings: Heart ok. The following impression: is part of the findings.\n'
            'CONCLUSION: Normal.\n'
            'RECOMMENDATION(S): Follow-up.\n'
            'NOTIFICATION: Called Dr. ___.')
    sections = extract_sections(text)
    assert sections == {
        'wet read': '___ 10:30 AM no pneumonia',
        'indication': 'cough.\n\nfever',
        'technique': 'PA and lateral.',
        'comparison': '10:30 today.',
        'findings': 'Heart ok. The following impression: is part of the findings.',
        'impression': 'Normal.',
        'recommendations': 'Follow-up.',
        'notification': 'Called Dr. ___.',
    }


def test_headers_on_one_line_and_combined_section():
    assert extract_sections('Findings: The lungs are clear. IMPRESSION: Normal chest.') == {
        'findings': 'The lungs are clear.', 'impression': 'Normal chest.'}
    assert extract_sections('FINDINGS AND IMPRESSION: Clear lungs.') == {
        'impression': 'Clear lungs.'}
    assert extract_sections('impression: small effusion\nimpression: also this') == {
        'impression': 'small effusion\n\nalso this'}


def test_preamble_missing_and_empty_sections():
    sections = extract_sections('PA and lateral chest.\nINDICATION:\nFINDINGS: Clear.')
    assert sections == {'preamble': 'PA and lateral chest.', 'findings': 'Clear.'}
    assert extract_sections('No acute disease.') == {'preamble': 'No acute disease.'}
    assert 'impression' not in extract_sections(MIMIC_REPORT.split('IMPRESSION')[0])


def test_canonical_names_and_tidy():
    assert canonical_section_name('  Clinical   History ') == 'indication'
    assert canonical_section_name('FINDINGS AND IMPRESSION') == 'impression'
    assert canonical_section_name('PORTABLE AP CHEST') == 'portable ap chest'
    assert tidy_section_text(' a\n b \n\n\n c ') == 'a b\n\nc'


def test_select_sections_fallback():
    assert select_sections({'findings': 'F', 'impression': 'I'}) == (['F', 'I'], False)
    assert select_sections({'impression': 'I', 'findings': 'F'}, ('impression', )) == (
        ['I'], False)
    assert select_sections({'preamble': 'P', 'indication': 'X'}) == (['X'], True)
    assert select_sections({'preamble': 'P'}) == (['P'], True)


def test_openi_sections_round_trip(openi_reports):
    """Real OpenI reports written with headers come back section by section.

    A few OpenI fields hold a whole second report with its own headers ("IMPRESSION: Exam:
    ... FINDINGS: ..."); fields with a colon are left out of this check.
    """
    names = ('indication', 'comparison', 'findings', 'impression')
    checked = 0
    for report in openi_reports:
        present = {name: report[name] for name in names
                   if report[name] and report[name].strip()}
        if any(':' in value for value in present.values()):
            continue
        text = '\n'.join(f'{name.upper()}: {value}' for name, value in present.items())
        if not text:
            continue
        expected = {name: tidy_section_text(clean_report_text(value))
                    for name, value in present.items()}
        assert dict(extract_sections(clean_report_text(text))) == expected, report['uid']
        checked += 1
    assert checked > 3800


def _plain_extract_sections(text):
    """extract_sections as first written: every colon's header found from the text, the
    pieces collected in lists and joined."""
    from collections import OrderedDict

    from medvlp.text import sections as module
    if 'final report' in text.lower():
        text = module._BANNER_RE.sub('', text)
    spans = []
    colon = text.find(':')
    while colon >= 0:
        start = module._header_before(text, colon)
        if start is not None and (not spans or start >= spans[-1][1]):
            spans.append((start, colon + 1, canonical_section_name(text[start:colon])))
        colon = text.find(':', colon + 1)
    pieces = [(module.PREAMBLE, text[:spans[0][0] if spans else len(text)])]
    for index, (_, end, name) in enumerate(spans):
        stop = spans[index + 1][0] if index + 1 < len(spans) else len(text)
        pieces.append((name, text[end:stop]))
    collected = {}
    for name, raw in pieces:
        body = tidy_section_text(raw)
        if body:
            collected.setdefault(name, []).append(body)
    return OrderedDict((name, '\n\n'.join(parts)) for name, parts in collected.items())


def test_sections_equal_the_plain_extraction(openi_reports, monkeypatch):
    """The per-segment header memo and the plain-dict assembly give the plain extraction's
    sections, in order, with the memo kept and emptied again and again."""
    import random

    from medvlp.text import sections as module
    from mimic_layout import mimic_report_text
    names = ('comparison', 'indication', 'findings', 'impression')
    texts = ['\n'.join(f'{name.upper()}: {report[name]}' for name in names if report[name])
             for report in openi_reports]
    texts += [mimic_report_text(report, kind) for report in openi_reports[:200]
              if report['findings'] and report['impression'] and report['indication']
              for kind in ('full', 'impression-only', 'no-sections')]
    rng = random.Random(7)
    parts = ['FINDINGS:', 'Findings:', 'IMPRESSION:', 'impression:', 'WET READ:', 'PREAMBLE:',
             'FINAL REPORT', 'No effusion. ', 'at 10:30', 'Clear.', '\n', '\n\n', ' ', ':',
             'History: cough.', 'x. Impression: y', 'CHEST, TWO VIEWS:']
    texts += [''.join(rng.choice(parts) for _ in range(rng.randint(1, 12)))
              for _ in range(3000)]
    for memo_size, memo_length in ((4096, 64), (2, 64), (4096, 3)):
        monkeypatch.setattr(module, '_HEADER_MEMO_SIZE', memo_size)
        monkeypatch.setattr(module, '_HEADER_MEMO_LENGTH', memo_length)
        module._HEADER_MEMO.clear()
        for _ in range(2):  # the second time from the memo
            for text in texts:
                expected = _plain_extract_sections(text)
                found = extract_sections(text)
                assert list(found.items()) == list(expected.items()), repr(text)
                assert type(found) is type(expected)
                assert list(module.section_dict(text).items()) == list(expected.items())
        assert len(module._HEADER_MEMO) <= memo_size
        assert all(len(segment) <= memo_length for segment in module._HEADER_MEMO)
