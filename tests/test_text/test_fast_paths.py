# Copyright (c) medvlp contributors. All rights reserved.
"""The text pipeline's fast paths give what the plain formulations give, on real OpenI text.

Each fast path (a literal-first regex, an ASCII-only regex, the two-word phrase index, the
memoised keys) is compared with the straightforward version it replaced.
"""
import random
import re

import pytest

from medvlp.text import EmptyReportError, ReportProcessor, clean_report_text, split_words
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


#: Reports whose phrases or change-word rules cross a sentence boundary: joining the
#: sentences' own annotations would differ, so the whole report must be annotated.
CROSSING_REPORTS = (
    'FINDINGS: Small left pleural\n\nIMPRESSION: Effusion.',  # a MeSH form across sections
    'FINDINGS: Pleural effusion resolved. Increased opacity at the base.',  # change word
    'FINDINGS: Pneumothorax is\n\nIMPRESSION: Absent.',  # a post-trigger across sections
    'FINDINGS: No effusion. No significant change.',
)


def _all_section_texts(openi_reports):
    names = ('comparison', 'indication', 'findings', 'impression')
    texts = ['\n\n'.join(f'{name.upper()}: {report[name]}' for name in names
                         if report.get(name)) for report in openi_reports]
    return [text for text in texts if text]


def test_sentence_cache_equals_whole_report_annotation(openi_reports, openi_records,
                                                        splitter):
    """Per-sentence cached annotations joined == annotating each report's words whole."""
    plain = ReportProcessor(splitter=splitter, sentence_cache_size=0)
    assert plain._annotator is None
    for report in openi_reports:
        if report['uid'] in openi_records:
            assert plain.process_sections(
                {'findings': report['findings'], 'impression': report['impression']}
            ) == openi_records[report['uid']], report['uid']
    every = ('comparison', 'indication', 'findings', 'impression')
    tiny_cache = ReportProcessor(splitter=splitter, sections=every, max_words=None,
                                 sentence_cache_size=7)  # emptied again and again
    plain_every = ReportProcessor(splitter=splitter, sections=every, max_words=None,
                                  sentence_cache_size=0)
    for text in _all_section_texts(openi_reports) + list(CROSSING_REPORTS):
        assert tiny_cache.process_report(text) == plain_every.process_report(text), text


def test_sentence_cache_declines_crossing_phrases(splitter):
    """join() returns None exactly where a phrase or a look-ahead crosses a boundary."""
    cached = ReportProcessor(splitter=splitter)
    plain = ReportProcessor(splitter=splitter, sentence_cache_size=0)
    for text in CROSSING_REPORTS:
        sentences = [s for part in text.split('\n\n') for s in splitter.split(
            part.split(': ', 1)[1])]
        annotations = [cached._annotator.annotate(s) for s in sentences]
        crossing = text != CROSSING_REPORTS[-1]
        assert (cached._annotator.join(annotations) is None) == crossing, text
        assert cached.process_report(text) == plain.process_report(text), text
    record = plain.process_report(CROSSING_REPORTS[0])
    assert [m['term'] for m in record['mesh']] == ['Pleural Effusion']
    record = plain.process_report(CROSSING_REPORTS[1])
    assert not record['mesh'][0]['negated']  # "resolved" is blocked by "Increased"


def test_split_cache_equals_uncached_split(openi_reports, punkt_tab_dir):
    """A cached split (also after the cache was emptied) is the uncached split."""
    from medvlp.text import SentenceSplitter
    splitter = SentenceSplitter(punkt_file=str(punkt_tab_dir), cache_size=50)
    texts = [value for report in openi_reports for value in
             (report['findings'], report['impression']) if value]
    first = [splitter.split(text) for text in texts]
    assert [splitter.split(text) for text in texts] == first
    assert [splitter._split_uncached(text) for text in texts] == first
    sentences = splitter.split(texts[0])
    sentences.append('changed by the caller')
    assert splitter.split(texts[0]) == first[0]  # the cache hands out copies


def plain_clean_report_text(text):
    """clean_report_text with every step run unconditionally (no cheap guards)."""
    from medvlp.text import cleaning
    if not text.isascii():
        text = cleaning._repair_unicode(text)
    text = cleaning._CONTROL_RE.sub('', text.replace('\r\n', '\n').replace('\r', '\n'))
    text = cleaning._DEID_RUN_RE.sub('___', cleaning._DEID_RE.sub('___', text))
    text = cleaning._SPACES_RE.sub(' ', text)
    text = '\n'.join(line.strip() for line in text.split('\n'))
    return cleaning._BLANK_LINES_RE.sub('\n\n', text).strip()


def plain_tidy_section_text(text):
    """tidy_section_text as first written: split into paragraphs, collapse, join."""
    from medvlp.text.sections import _PARAGRAPH_RE, _WHITESPACE_RE
    paragraphs = (_WHITESPACE_RE.sub(' ', part).strip() for part in _PARAGRAPH_RE.split(text))
    return '\n\n'.join(part for part in paragraphs if part)


def _report_texts(openi_reports):
    """Raw OpenI report texts with headers, as a converter meets them."""
    names = ('comparison', 'indication', 'findings', 'impression')
    return ['\n\n'.join(f'{name.upper()}: {report[name]}' for name in names
                        if report.get(name)) for report in openi_reports]


def test_clean_report_text_equals_the_unguarded_steps(openi_reports):
    texts = _texts(openi_reports) + _report_texts(openi_reports) + _random_strings(
        ' \n\t\r\x0bXX_ab.\u00a0\u2003', 20000, seed=2)
    for text in texts:
        try:
            cleaned = clean_report_text(text)
        except EmptyReportError:
            assert not plain_clean_report_text(text), repr(text)
        else:
            assert cleaned == plain_clean_report_text(text), repr(text)


def test_tidy_section_text_equals_split_and_join(openi_reports):
    """The strip-first, one-paragraph shortcut; also on the raw pieces between headers."""
    from medvlp.text.sections import _header_spans, tidy_section_text
    texts = _texts(openi_reports) + _random_strings(' \n\t\x0bab.\u00a0', 20000, seed=3)
    for report in _report_texts(openi_reports):
        cleaned = clean_report_text(report) if report.strip() else ''
        bounds = [0] + [edge for start, end, _ in _header_spans(cleaned)
                        for edge in (start, end)] + [len(cleaned)]
        texts.extend(cleaned[a:b] for a, b in zip(bounds[::2], bounds[1::2]))
    for text in texts:
        assert tidy_section_text(text) == plain_tidy_section_text(text), repr(text)


def test_piece_word_ids_equal_the_comprehension(openi_records, tokenizer):
    """The one-piece-per-word shortcut, also where a zero-piece word balances a two-piece one."""
    from medvlp.text.tokenizers import _piece_word_ids
    cases = [tokenizer._word_pieces(record['words']) for record in openi_records.values()]
    cases += [[], [()], [(5, )], [(), (5, 6)], [(5, 6), ()], [(5, ), (), (6, 7)], [(1, )] * 9]
    for pieces in cases:
        n_pieces = sum(map(len, pieces))
        assert list(_piece_word_ids(pieces, n_pieces)) == [
            index for index, ids in enumerate(pieces) for _ in ids], pieces


def test_sentence_cache_is_off_for_overridden_detectors(splitter):
    """A detector subclass with its own annotate() is used as it is, report by report."""

    class AlwaysNegated(NegationDetector):

        def annotate(self, words, matches, sentence_ids=None, keys=None):
            for match in matches:
                match.negated = True
            return matches

    processor = ReportProcessor(splitter=splitter, negation=AlwaysNegated())
    assert processor._annotator is None
    record = processor.process_report('FINDINGS: Small pleural effusion.')
    assert [m['negated'] for m in record['mesh']] == [True]
    assert ReportProcessor(splitter=splitter, negation=NegationDetector(max_scope=3))._annotator


def test_annotate_many_equals_annotate(openi_records, splitter):
    """One call for a report's sentences gives the one-by-one annotations, also with
    repeated new sentences in the call and a cache emptied again and again."""
    from medvlp.text.annotation import SentenceAnnotator
    sentences = [sentence for record in list(openi_records.values())[:600]
                 for sentence in record['sentences']]
    reference = ReportProcessor(splitter=splitter)._annotator
    expected = [reference._compute(sentence) for sentence in sentences]
    for cache_size in (65536, 3):
        annotator = SentenceAnnotator(reference.matcher, reference.detectors,
                                      cache_size=cache_size)
        for start in range(0, len(sentences), 9):
            chunk = sentences[start:start + 9] * 2  # the second half repeats the first
            assert annotator.annotate_many(chunk) == expected[start:start + 9] * 2
        assert len(annotator._cache) <= cache_size


def _plain_sentence_cover(detector, keys):
    """sentence_cover() as first written: _block_changes, then _covered with sentence ids."""
    if detector._scope_firsts.isdisjoint(keys):
        return None, 0
    cues = detector._table.scan(keys)
    look_ahead = 0
    if detector.change_words_block:
        look_ahead = max((end + 2 - len(keys) for _, end, kind in cues
                          if kind in ('pre', 'both')), default=0)
    covered = detector._covered(detector._block_changes(cues, keys), keys, [0] * len(keys))
    return covered, max(look_ahead, 0)


def test_sentence_cover_equals_the_plain_scope_loops(openi_records):
    """The bisected, slice-assigned scopes equal the word-by-word loops, at any scope limit,
    on every OpenI sentence and on shuffled cue-heavy word sequences."""
    from medvlp.text.words import normalise_words
    sequences = [normalise_words(split_words(sentence)) for record in openi_records.values()
                 for sentence in record['sentences']]
    rng = random.Random(5)
    vocabulary = ['no', 'not', 'seen', 'is', 'absent', 'resolved', 'effusion', 'but', '.',
                  ';', 'there', 'significant', 'increase', 'change', 'possible', 'may', 'be',
                  'excluded', 'cannot', 'likely', 'pneumonia', 'rule', 'out', 'negative']
    shuffled = [[rng.choice(vocabulary) for _ in range(rng.randint(0, 40))]
                for _ in range(3000)]
    for cls in (NegationDetector, UncertaintyDetector):
        for scope, post in ((20, 8), (0, 0), (1, 1), (3, 30), (40, 2)):
            detector = cls(max_scope=scope, max_post_scope=post)
            for keys in (sequences if (scope, post) in ((20, 8), (3, 30)) else []) + shuffled:
                assert detector.sentence_cover(keys) == _plain_sentence_cover(detector, keys), \
                    keys


def _plain_clean(text):
    """clean_report_text with every substitution applied (no substring or printable guard)."""
    from medvlp.text import cleaning
    if not text.isascii():
        text = cleaning._repair_unicode(text)
    text = cleaning._CONTROL_RE.sub('', text.replace('\r\n', '\n').replace('\r', '\n'))
    text = cleaning._DEID_RUN_RE.sub('___', cleaning._DEID_RE.sub('___', text))
    text = '\n'.join(line.strip() for line in cleaning._SPACES_RE.sub(' ', text).split('\n'))
    text = cleaning._BLANK_LINES_RE.sub('\n\n', text).strip()
    if not text:
        raise EmptyReportError('empty')
    return text


def test_clean_equals_the_plain_substitutions(openi_reports):
    """The guards of clean_report_text (printable ASCII without tabs: only double spaces
    looked for) never change its output, on OpenI text and whitespace / control soup."""
    texts = [value for report in openi_reports for value in report.values()
             if isinstance(value, str)]
    texts += _random_strings('aX_ \t\n\r\x00\x0b\x1c\x7f.\u00a0', 6000, seed=11)
    texts += _random_strings('XXXX ___/\n\t a', 5000, seed=12)
    for text in texts:
        try:
            expected = _plain_clean(text)
        except EmptyReportError:
            with pytest.raises(EmptyReportError):
                clean_report_text(text)
            continue
        assert clean_report_text(text) == expected, repr(text)


@pytest.mark.parametrize('table_of', ['mesh', 'negation', 'uncertainty', 'nested'])
def test_phrase_table_scan_on_shuffled_phrase_words(table_of):
    """The scan (pair probe, one-word values by word) equals the plain scan on sequences
    of phrase words, where phrases start, nest and overlap everywhere."""
    table = {'mesh': lambda: MeshMatcher().vocabulary.form_table,
             'negation': lambda: NegationDetector()._phrases,
             'uncertainty': lambda: UncertaintyDetector()._phrases,
             'nested': lambda: {('a', ): 1, ('a', 'b'): 2, ('a', 'b', 'c', 'd'): 4,
                                ('b', 'c'): 5, ('c', ): 6, ('b', 'c', 'd', 'a', 'b'): 7,
                                ('d', 'a'): 8}}[table_of]()
    words = sorted({word for key in table for word in key}) + ['.', 'x']
    rng = random.Random(len(table))
    index = PhraseTable(table)
    for _ in range(4000):
        keys = [rng.choice(words) for _ in range(rng.randint(0, 14))]
        assert index.scan(keys) == plain_longest_matches(keys, table), keys
        assert index.scan(tuple(keys)) == plain_longest_matches(keys, table), keys


def test_sentence_match_templates_equal_whole_sequence_annotation(openi_records, splitter):
    """A sentence's match templates, read back as LocalMatch tuples, are the match records
    of annotating its words as a whole sequence; head() gives the keys of its first words;
    joined records are copies (changing one leaves the cache as it was)."""
    cached = ReportProcessor(splitter=splitter)._annotator
    plain = ReportProcessor(splitter=splitter, sentence_cache_size=0)
    sentences = {sentence for record in list(openi_records.values())[:800]
                 for sentence in record['sentences']}
    with_matches = 0
    for sentence in sorted(sentences):
        annotation = cached._compute(sentence)
        assert all(type(record) is dict for record in annotation.matches)
        words = list(annotation.words)
        expected = [tuple(match.values()) for match in
                    plain._annotate_words(words, [0] * len(words))]
        assert annotation.local_matches() == expected, sentence
        assert cached.head(annotation) == [normalise_word(word) for word in words[:2]]
        with_matches += bool(expected)
    assert with_matches > 500
    annotations = cached.annotate_many(['No pleural effusion.', 'Small pleural effusion.'])
    mesh = cached.join(annotations)[2]
    assert [record['start_word'] for record in mesh] == [1, 5]
    mesh[0]['negated'] = mesh[1]['start_word'] = 'changed by the caller'
    assert cached.join(annotations)[2] == [dict(record, start_word=start, negated=negated)
                                           for record, start, negated in zip(
                                               mesh, (1, 5), (True, False))]
