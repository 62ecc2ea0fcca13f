# Copyright (c) medvlp contributors. All rights reserved.
"""Turn a raw report (or free-text note) into medvlp's cached text record.

Record fields (all JSON-serialisable)::

    sections      {name: text}   sections found in the report; {} for a note; the cleaned
                                 non-empty input sections for process_sections
    report        str            the text used for training: the selected sections joined in
                                 order by a blank line (never truncated)
    sentences     [str]          sentences of ``report``, list markers removed
    words         [str]          words of all sentences, flat (see medvlp.text.words)
    sentence_ids  [int]          sentence index of every word (len(words) entries)
    mesh          [{term, mesh_id, start_word, end_word, negated, uncertain}]
                                 MeSH matches over ``words`` (end_word exclusive)
    fallback      True           only when none of the selected sections exists and the whole
                                 report (minus the preamble when anything else is left) is used
    truncated     True           only when the words were capped at ``max_words``

The word-level fields (``words``, ``sentence_ids``, ``mesh``) are computed once per distinct
sentence and joined (:mod:`medvlp.text.annotation`), which gives what annotating the report's
words as one sequence gives; where that is not certain the report is annotated whole.
"""
import math
from typing import Any, Dict, Iterable, List, Mapping, Optional, Sequence, Tuple

from .annotation import SentenceAnnotator, supports_sentence_annotation
from .cleaning import clean_report_text
from .errors import EmptyReportError
from .mesh import MeshMatcher
from .negation import NegationDetector
from .sections import section_dict, select_sections, tidy_section_text
from .sentences import SentenceSplitter
from .uncertainty import UncertaintyDetector
from .words import normalise_words, split_words, word_spans

SOURCES = ('report', 'note')


class ReportProcessor:
    """Clean, section, split, tokenise into words and MeSH-annotate reports.

    Args:
        splitter (SentenceSplitter, optional): Defaults to ``SentenceSplitter()``.
        matcher (MeshMatcher, optional): Defaults to ``MeshMatcher()`` (shipped vocabulary).
        negation (NegationDetector, optional): Defaults to ``NegationDetector()``.
        uncertainty (UncertaintyDetector, optional): Defaults to
            ``UncertaintyDetector()``.
        sections (Sequence[str]): Sections used for training, in output order. Defaults to
            ``('findings', 'impression')``.
        max_words (int, optional): Cap on the number of words (punctuation tokens included) of
            a record; longer reports are cut at the cap and marked ``'truncated': True``. None
            disables the cap. Defaults to 512.
        sentence_cache_size (int): Number of distinct sentences whose words and MeSH
            annotations are kept (:class:`~medvlp.text.annotation.SentenceAnnotator`; the
            records are the same with or without it; about 1 KB per sentence). 0 annotates
            every report whole. Defaults to 65536.
    """

    def __init__(self, splitter: Optional[SentenceSplitter] = None,
                 matcher: Optional[MeshMatcher] = None,
                 negation: Optional[NegationDetector] = None,
                 sections: Sequence[str] = ('findings', 'impression'),
                 max_words: Optional[int] = 512,
                 uncertainty: Optional[UncertaintyDetector] = None,
                 sentence_cache_size: int = 65536):
        if isinstance(sections, str):
            sections = (sections, )
        if not sections:
            raise ValueError('sections must name at least one section')
        if max_words is not None and max_words < 1:
            raise ValueError(f'max_words must be positive or None, got {max_words}')
        self.splitter = splitter if splitter is not None else SentenceSplitter()
        self.matcher = matcher if matcher is not None else MeshMatcher()
        self.negation = negation if negation is not None else NegationDetector()
        self.uncertainty = uncertainty if uncertainty is not None else UncertaintyDetector()
        self.sections = tuple(sections)
        self.max_words = max_words
        self._annotator = None
        if sentence_cache_size > 0 and supports_sentence_annotation(
                self.matcher, (self.negation, self.uncertainty)):
            self._annotator = SentenceAnnotator(self.matcher, (self.negation, self.uncertainty),
                                                cache_size=sentence_cache_size)

    def process_report(self, text: str, source: str = 'report') -> dict:
        """Process one report or note.

        Args:
            text (str): Raw text.
            source (str): ``'report'``: a radiology report, split into sections and reduced to
                :attr:`sections`; ``'note'``: free-text clinical note, used whole.

        Returns:
            dict: The record described in the module docstring.

        Raises:
            EmptyReportError: If there is no usable text.
            ValueError: If ``source`` is unknown.
        """
        if source not in SOURCES:
            raise ValueError(f'source must be one of {SOURCES}, got {source!r}')
        cleaned = clean_report_text(text)
        if source == 'note':
            return self._build_record({}, [tidy_section_text(cleaned)], fallback=False)
        sections = section_dict(cleaned)  # extract_sections' items, as a fresh dict
        chosen, fallback = select_sections(sections, self.sections)
        return self._build_record(sections, chosen, fallback)

    def process_sections(self, sections: Mapping[str, Any]) -> dict:
        """Process a report whose sections are already separate (IU/OpenI JSONL, CSV columns).

        Args:
            sections (Mapping[str, Any]): Canonical section name -> text; None, NaN and empty
                values are ignored.

        Returns:
            dict: The record; ``'sections'`` holds the cleaned non-empty input sections.

        Raises:
            EmptyReportError: If no section has usable text.
        """
        cleaned: Dict[str, str] = {}
        for name, value in sections.items():
            if value is None or (isinstance(value, float) and math.isnan(value)):
                continue
            try:
                cleaned[name] = tidy_section_text(clean_report_text(value))
            except EmptyReportError:
                continue
        if not cleaned:
            raise EmptyReportError('no section has usable text')
        chosen, fallback = select_sections(cleaned, self.sections)
        return self._build_record(cleaned, chosen, fallback)

    def process_many(self, texts: Iterable[Any], source: str = 'report',
                     skip_empty: bool = False) -> List[Optional[dict]]:
        """Process many reports; with ``skip_empty`` an empty one gives None instead of raising."""
        records: List[Optional[dict]] = []
        for text in texts:
            try:
                records.append(self.process_report(text, source=source))
            except EmptyReportError:
                if not skip_empty:
                    raise
                records.append(None)
        return records

    def _build_record(self, sections: Dict[str, str], chosen: List[str], fallback: bool) -> dict:
        split = self.splitter.split
        sentences = list(split(chosen[0])) if len(chosen) == 1 else [
            sentence for text in chosen for sentence in split(text)]
        sentences, words, sentence_ids, mesh, truncated = self.annotate_sentences(sentences)
        if not words:
            raise EmptyReportError('report has no words after cleaning and sentence splitting')
        record = {
            'sections': sections,
            'report': '\n\n'.join(chosen),
            'sentences': sentences,
            'words': words,
            'sentence_ids': sentence_ids,
            'mesh': mesh,
        }
        if fallback:
            record['fallback'] = True
        if truncated:
            record['truncated'] = True
        return record

    def annotate_sentences(self, sentences: List[str]
                           ) -> Tuple[List[str], List[str], List[int], List[dict], bool]:
        """The word-level fields of a record made of ``sentences`` (from the splitter).

        Returns:
            Tuple: ``sentences`` (the last one cut when the words were capped), ``words``,
            ``sentence_ids``, ``mesh`` (match records) and whether the words were capped at
            :attr:`max_words`.
        """
        fields = self._annotate_cached(sentences)
        if fields is not None:
            return (sentences, *fields, False)
        sentences, words, sentence_ids, truncated = self._cap_words(sentences)
        return sentences, words, sentence_ids, self._annotate_words(words, sentence_ids), \
            truncated

    def _annotate_cached(self, sentences: List[str]
                         ) -> Optional[Tuple[List[str], List[int], List[dict]]]:
        """Words, sentence ids and MeSH records from the per-sentence cache.

        The same as :meth:`_cap_words` then :meth:`_annotate_words` (see
        :mod:`medvlp.text.annotation`); None when that equivalence is not guaranteed (a
        phrase may cross a sentence boundary), when the words must be capped, or when the
        cache is off.
        """
        if self._annotator is None:
            return None
        fields = self._annotator.join(self._annotator.annotate_many(sentences))
        if fields is not None and self.max_words is not None and len(fields[0]) > self.max_words:
            return None
        return fields

    def _cap_words(self, sentences: List[str]) -> Tuple[List[str], List[str], List[int], bool]:
        """Words and sentence ids of ``sentences``, cut at :attr:`max_words`.

        Returns:
            Tuple: The sentences kept (the last one cut at the cap), their words, the
            sentence index of every word, and whether the words were capped.
        """
        kept: List[str] = []
        words: List[str] = []
        sentence_ids: List[int] = []
        limit = self.max_words
        for sentence in sentences:
            tokens = split_words(sentence)  # never empty: the splitter drops them
            if limit is not None and len(words) + len(tokens) > limit:
                keep = limit - len(words)
                if keep > 0:
                    kept.append(sentence[:word_spans(sentence)[keep - 1][1]])
                    sentence_ids.extend([len(kept) - 1] * keep)
                    words.extend(tokens[:keep])
                return kept, words, sentence_ids, True
            sentence_ids.extend([len(kept)] * len(tokens))
            kept.append(sentence)
            words.extend(tokens)
        return kept, words, sentence_ids, False

    def _annotate_words(self, words: List[str], sentence_ids: List[int]) -> List[dict]:
        """MeSH match records of a report's words, with negation and uncertainty flags."""
        keys = normalise_words(words)
        matches = self.negation.annotate(words, self.matcher.match_keys(keys), sentence_ids,
                                         keys=keys)
        matches = self.uncertainty.annotate(words, matches, sentence_ids, keys=keys)
        return [match.to_dict() for match in matches]
