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
