# Copyright (c) medvlp contributors. All rights reserved.
"""Word-level annotation of report sentences, computed once per distinct sentence.

:class:`~medvlp.text.processor.ReportProcessor` splits a report's sentences into words,
matches MeSH terms over the whole word sequence and flags each match as negated or uncertain.
Report sentences repeat a lot ("No pneumothorax.", "The lungs are clear."; more than half of
the OpenI sentences occur in an earlier report), so :class:`SentenceAnnotator` computes the
same annotations one sentence at a time, caches them by sentence text, and joins the
sentences of a report.

Joining per-sentence results gives the whole-report result exactly, because the matcher and
the cue detectors are left-to-right longest-match scans and every cue scope stops at the end
of its sentence, unless

* a MeSH form or cue phrase runs from one sentence into the next, which needs a sentence
  that ends with a word found before the last word of some phrase
  (:attr:`~medvlp.text.mesh.PhraseTable.inner_words`); or
* the negation detector's change-word rule ("no significant *increase*") reads past the end
  of a sentence and finds a change word there.

:meth:`SentenceAnnotator.join` checks both conditions and returns None when one holds; the
processor then annotates the whole report as before.
"""
from itertools import chain
from typing import Any, Dict, List, NamedTuple, Optional, Sequence, Tuple

from .mesh import MeshMatcher, match_record
from .negation import ScopeCueDetector
from .words import normalise_words, split_words

#: A match inside a sentence: (term, mesh_id, start_word, end_word, negated, uncertain),
#: word indices relative to the sentence.
LocalMatch = Tuple[str, str, int, int, bool, bool]


class SentenceAnnotation(NamedTuple):
    """The words and MeSH matches of one sentence on its own.

    Few tracked objects per cached sentence (the cache holds tens of thousands): the match
    records are dicts of atomic values, which the garbage collector does not track, and the
    keys of the first words, which only a change-word rule of the previous sentence reads
    (rarely), are not kept (:meth:`SentenceAnnotator.head`).

    Attributes:
        words (Tuple[str, ...]): :func:`~medvlp.text.words.split_words` of the sentence.
        matches (Tuple[dict, ...]): The MeSH matches with their flags as match records
            (:func:`~medvlp.text.mesh.match_record`), word indices relative to the
            sentence. They are templates: :meth:`SentenceAnnotator.join` hands out copies.
        open_end (bool): Whether the last word may continue into a phrase of the next
            sentence (it is an inner word of a phrase).
        look_ahead (int): How many keys after the sentence a cue detector's change-word
            rule reads (0, 1 or 2).
    """

    words: Tuple[str, ...]
    matches: Tuple[dict, ...]
    open_end: bool
    look_ahead: int

    def local_matches(self) -> List[LocalMatch]:
        """The matches as :data:`LocalMatch` tuples."""
        return [tuple(record.values()) for record in self.matches]


def supports_sentence_annotation(matcher: Any, detectors: Sequence[Any]) -> bool:
    """Whether :class:`SentenceAnnotator` gives what ``matcher`` and ``detectors`` give.

    True for :class:`~medvlp.text.mesh.MeshMatcher` and
    :class:`~medvlp.text.negation.ScopeCueDetector` objects (any vocabulary, trigger lists
    or scopes) whose matching and annotation methods are not overridden: the annotator
    reproduces those methods, not a subclass's.
    """
    return (isinstance(matcher, MeshMatcher)
            and type(matcher).match_keys is MeshMatcher.match_keys
            and all(isinstance(detector, ScopeCueDetector)
                    and type(detector).annotate is ScopeCueDetector.annotate
                    and type(detector)._cues is ScopeCueDetector._cues
                    for detector in detectors))


class SentenceAnnotator:
    """Per-sentence words, MeSH matches and cue flags, cached (see the module docstring).

    Args:
        matcher (MeshMatcher): The MeSH matcher.
        detectors (Sequence[ScopeCueDetector]): The cue detectors, in the order their flags
            appear in a :data:`LocalMatch` (negation, then uncertainty).
        cache_size (int): Number of sentences kept; the cache is emptied when it is full.
            Defaults to 65536.
    """

    def __init__(self, matcher: MeshMatcher, detectors: Sequence[ScopeCueDetector],
                 cache_size: int = 65536):
        if len(detectors) != 2:
            raise ValueError(f'expected the negation and uncertainty detectors, got '
                             f'{len(detectors)} detector(s)')
        self.matcher = matcher
        self.detectors = tuple(detectors)
        self.inner_words = matcher.phrase_table.inner_words.union(
            *(detector.phrase_table.inner_words for detector in self.detectors))
        self._cache: Dict[str, SentenceAnnotation] = {}
        self._cache_size = cache_size

    def annotate(self, sentence: str) -> SentenceAnnotation:
        """The annotation of ``sentence`` on its own (cached)."""
        annotation = self._cache.get(sentence)
        if annotation is None:
            annotation = self._compute(sentence)
            if len(self._cache) >= self._cache_size:
                self._cache.clear()
            self._cache[sentence] = annotation
        return annotation

    def annotate_many(self, sentences: Sequence[str]) -> List[SentenceAnnotation]:
        """:meth:`annotate` of every sentence (one look-up each, in one call)."""
        annotations = list(map(self._cache.get, sentences))
        for index, annotation in enumerate(annotations):
            if annotation is None:  # a sentence repeated in the call is computed once
                annotations[index] = self.annotate(sentences[index])
        return annotations

    def _compute(self, sentence: str) -> SentenceAnnotation:
        """Split, normalise, match and flag one sentence."""
        words = tuple(split_words(sentence))
        keys = normalise_words(words)
        open_end = bool(keys) and keys[-1] in self.inner_words
        found = self.matcher.phrase_table.scan(keys)
        if not found:  # no match: the cue detectors have nothing to flag
            return SentenceAnnotation(words, (), open_end, 0)
        negation, uncertainty = self.detectors
        negated, negation_reach = negation.sentence_cover(keys)
        uncertain, uncertainty_reach = uncertainty.sentence_cover(keys)
        # a scope covers a match when it covers its first or its last word (span_flags)
        matches = tuple(
            match_record(entry.heading, entry.mesh_id, start, end,
                         negated is not None and (negated[start] or negated[end - 1]),
                         uncertain is not None and (uncertain[start] or uncertain[end - 1]))
            for start, end, entry in found)
        return SentenceAnnotation(words, matches, open_end,
                                  max(negation_reach, uncertainty_reach))

    @staticmethod
    def head(annotation: SentenceAnnotation) -> List[str]:
        """Matching keys of the first two words (what a change-word rule of the previous
        sentence may read)."""
        return normalise_words(annotation.words[:2])

    def _joinable(self, annotations: Sequence[SentenceAnnotation]) -> bool:
        """Whether joining the sentences gives the whole-report annotation."""
        last = len(annotations) - 1
        return all(annotation.words and (index == last or self._closed(annotations, index))
                   for index, annotation in enumerate(annotations))

    def _closed(self, annotations: Sequence[SentenceAnnotation], index: int) -> bool:
        """Whether no phrase and no change-word rule runs from sentence ``index`` (not the
        last) into the following ones."""
        annotation = annotations[index]
        if annotation.open_end:
            return False
        if annotation.look_ahead:
            following = list(chain.from_iterable(
                self.head(next_one) for next_one in annotations[index + 1:index + 3]))
            following = following[:annotation.look_ahead]
            if any(detector.blocks_look_ahead(following) for detector in self.detectors):
                return False
        return True

    def join(self, annotations: Sequence[SentenceAnnotation]
             ) -> Optional[Tuple[List[str], List[int], List[dict]]]:
        """Words, sentence ids and match records of consecutive sentences of one report.

        Returns:
            Optional[Tuple[List[str], List[int], List[dict]]]: What annotating the sentences'
            words as one sequence gives (``words``, ``sentence_ids``, ``mesh`` of a record),
            or None when a phrase or a change-word rule may cross a sentence boundary
            (:meth:`_joinable`, checked sentence by sentence as they are joined).
        """
        words: List[str] = []
        sentence_ids: List[int] = []
        mesh: List[dict] = []
        last = len(annotations) - 1
        for index, annotation in enumerate(annotations):
            sentence_words = annotation.words
            if not sentence_words:
                return None
            if index != last and (annotation.open_end or annotation.look_ahead) \
                    and not self._closed(annotations, index):
                return None
            templates = annotation.matches
            if templates:
                offset = len(words)
                if offset:  # a copy of the record, moved to the sentence's place
                    for template in templates:
                        record = template.copy()
                        record['start_word'] += offset
                        record['end_word'] += offset
                        mesh.append(record)
                else:
                    mesh += [template.copy() for template in templates]
            words += sentence_words
            sentence_ids += [index] * len(sentence_words)
        return words, sentence_ids, mesh
