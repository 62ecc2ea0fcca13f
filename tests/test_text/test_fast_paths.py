# Copyright (c) medvlp contributors. All rights reserved.
"""The text pipeline's fast paths give what the plain formulations give, on real OpenI text.

Each fast path (a literal-first regex, an ASCII-only regex, the two-word phrase index, the
memoised keys) is compared with the straightforward version it replaced.
"""
import random
import re

import pytest

from medvlp.text import ReportProcessor, clean_report_text, split_words
from medvlp.text.cleaning import _DEID_RE
from medvlp.text.mesh import MeshMatcher, PhraseTable
from medvlp.text.negation import NegationDetector
from medvlp.text.uncertainty import UncertaintyDetector
from medvlp.text.words import _WORD_RE, normalise_word, normalise_words

#: The de-identification pattern as first written (look-behind first).
PLAIN_DEID_RE = re.compile(r'_{2,}|(?<![A-Za-z])X{3,}(?![A-Za-z])')


def _texts(openi_reports):
    return [value for report in openi_reports for value in report.values()
            if isinstance(value, str) and value]


def _random_strings(alphabet, count, seed=0):
    rng = random.Random(seed)
    return [''.join(rng.choice(alphabet) for _ in range(rng.randint(1, 12)))
            for _ in range(count)]


def plain_longest_matches(keys, table):
    """The scan before PhraseTable: every phrase length of the first word, longest first."""
    lengths = {}
    for key in table:
        lengths.setdefault(key[0], set()).add(len(key))
    found, resume = [], 0
    for i, key in enumerate(keys):
        if i < resume or key not in lengths:
            continue
        for length in sorted(lengths[key], reverse=True):
            value = table.get(tuple(keys[i:i + length])) if i + length <= len(keys) else None
            if value is not None:
                found.append((i, i + length, value))
                resume = i + length
                break
    return found


def test_deid_regex_equals_the_plain_pattern(openi_reports):
    texts = _texts(openi_reports) + _random_strings('XX_ aB.x', 20000)
    for text in texts:
        assert _DEID_RE.sub('___', text) == PLAIN_DEID_RE.sub('___', text), repr(text)


def test_ascii_word_regex_equals_the_unicode_one(openi_reports):
    ascii_chars = ''.join(chr(i) for i in range(128))
    texts = _texts(openi_reports) + _random_strings(ascii_chars, 20000) + \
        _random_strings("ab1.-_'/: \x1c", 20000, seed=1)
    for text in texts:
        assert split_words(text) == _WORD_RE.findall(text), repr(text)


@pytest.mark.parametrize('table_of', ['mesh', 'negation', 'uncertainty'])
def test_phrase_table_scan_equals_the_plain_scan(openi_records, table_of):
    table = {'mesh': lambda: MeshMatcher().vocabulary.form_table,
             'negation': lambda: NegationDetector()._phrases,
             'uncertainty': lambda: UncertaintyDetector()._phrases}[table_of]()
    index = PhraseTable(table)
    for record in openi_records.values():
        keys = [normalise_word(word) for word in record['words']]
        assert index.scan(keys) == plain_longest_matches(keys, table)
    assert index.scan([]) == [] and index.scan(['no']) == plain_longest_matches(['no'], table)


def test_memoised_keys_equal_normalise_word(openi_records):
    for record in openi_records.values():
        words = record['words']
        assert normalise_words(words) == [normalise_word(word) for word in words]


def test_clean_report_text_skips_nothing_it_must_do():
    """Control characters, tabs, double spaces and placeholders are still handled."""
    text = 'FINDINGS:\x07 Heart\tsize  XXXX\x7f normal.\u200b\r\nNo __ effusion.'
    assert clean_report_text(text) == 'FINDINGS: Heart size ___ normal.\nNo ___ effusion.'
    record = ReportProcessor().process_report(text)
    assert record['words'][:3] == ['Heart', 'size', '___']
