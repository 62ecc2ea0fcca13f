# Copyright (c) medvlp contributors. All rights reserved.
"""Offline sentence splitting of report text with NLTK Punkt and a fast path.

The model is chosen once, at construction:

1. ``punkt_file``: a model written by ``tools/dataset_converters/train_punkt.py`` (JSON) or a
   ``punkt_tab`` directory;
2. otherwise NLTK's English ``punkt_tab`` found in ``$MEDVLP_NLTK_DATA``, ``$NLTK_DATA`` or
   ``nltk.data.path``;
3. otherwise an untrained Punkt model primed with medvlp's radiology abbreviation list; one
   warning says so.

All three get the radiology adjustments of ``resources/punkt_radiology.txt`` (abbreviations
such as ``approx.``, ``vs.``, ``q.d.``; ``PA``, ``CT``, ``cm`` are *not* abbreviations).
``nltk.download`` is never called.

:meth:`SentenceSplitter.split` then works in four steps:

* blank lines are hard boundaries; other whitespace collapses to one space;
* a period glued to the next sentence ("effusion.No pneumothorax", "process.1. No") gets a space;
* numbered-list markers ("1.", "2)") at a line start or after a sentence end are boundaries and
  are removed, so items become sentences and no number is left as a sentence of its own;
* every ``.?!`` followed by a space is a candidate boundary. Where Punkt's decision is certain
  (a ``?``/``!``, or a period after a plain word that is not an abbreviation, initial, number or
  collocation) the text is cut directly. Only the stretches holding an uncertain candidate
  ("Dr.", "approx. 1.5", "q.d. The") go through Punkt itself, and those results are cached. The
  output equals Punkt's on the same text, but most reports never reach Punkt.

The sentences of every text are cached too, so a section text seen before (a common
impression) costs one dictionary look-up.

Sentences without a letter or digit (a stray ``.``) are dropped.
"""
import logging
import re
from typing import Dict, List, Optional, Tuple

from .cleaning import has_only_single_spaces
from .punkt_model import (apply_radiology_lists, collocation_starts, find_punkt_tab,
                          load_punkt_file, read_punkt_tab, read_radiology_lists)

logger = logging.getLogger(__name__)

_PARAGRAPH_RE = re.compile(r'\n[ \t]*\n')
# Whitespace that is not already a single space.
_WHITESPACE_RE = re.compile(r'\s{2,}|[^\S ]')
# "effusion.No", "___.The", "(XXXX).No", "process.1. No"; the hint is a cheap pre-check.
_GLUED_HINT_RE = re.compile(r'[.?!][A-Z0-9]')
_GLUED_RE = re.compile(r'((?:[a-z]{2}|__|\))[.?!])(?=[A-Z][a-z]|\d{1,2}[.)] )')
# A list marker at the start of a line (before whitespace is collapsed).
_LINE_MARKER_RE = re.compile(r'(?:^|\n)[ \t]*\(?\d{1,2}[.)][ \t]+(?=\S)')
# A list marker at the start of the text or right after a sentence end.
_INLINE_MARKER_RE = re.compile(r'(?:^|(?<=[.!?:;]) )\(?\d{1,2}[.)] (?=[A-Za-z_(])')
_MARKER_HINT_RE = re.compile(r'\d[.)]\s')
_CANDIDATE_RE = re.compile(r'[.?!]+[\'")\]]*(?= )')
_PLAIN_WORD_RE = re.compile(r"[A-Za-z][A-Za-z'-]*|_{2,}")
_MARKER_ONLY_RE = re.compile(r'\(?\d{1,2}[.)]')
_ALNUM_RE = re.compile(r'[^\W_]')


#: What may follow a period in a candidate other than a space (then the regex is used).
_CANDIDATE_TAILS = ('..', '."', ".'", '.)', '.]')


def _candidates(text: str) -> List[Tuple[int, int]]:
    """``(start, end)`` of every :data:`_CANDIDATE_RE` match in ``text``, in order.

    Most report text ends its sentences with a lone period and has no ``?``, ``!``, ``..``
    and no period before a closing quote or bracket; every candidate is then a period
    before a space, found with :meth:`str.find` (the regex is used otherwise).
    """
    if ('?' in text or '!' in text or '..' in text or '."' in text or ".'" in text
            or '.)' in text or '.]' in text):  # _CANDIDATE_TAILS, written out
        return [match.span() for match in _CANDIDATE_RE.finditer(text)]
    spans = []
    position = text.find('. ')
    while position >= 0:
        spans.append((position, position + 1))
        position = text.find('. ', position + 2)
    return spans


class SentenceSplitter:
    """Split report text into sentences, offline (see the module docstring).

    Args:
        punkt_file (str, optional): A Punkt model written by ``train_punkt.py`` (JSON) or a
            ``punkt_tab`` directory. Defaults to NLTK's ``punkt_tab`` model, or the radiology
            fallback when none is installed.
        language (str): ``punkt_tab`` model to look for. Defaults to ``'english'``.
        cache_size (int): Number of results kept for repeated texts, and as many for
            uncertain Punkt stretches. Defaults to 65536.

    Attributes:
        model_source (str): Which model is used, e.g. ``'punkt_tab:/.../english'``.

    Raises:
        FileNotFoundError: If ``punkt_file`` is given but does not exist.
    """

    def __init__(self, punkt_file: Optional[str] = None, language: str = 'english',
                 cache_size: int = 65536):
        from nltk.tokenize.punkt import PunktParameters, PunktSentenceTokenizer

        lists = read_radiology_lists()
        if punkt_file is not None:
            params = load_punkt_file(punkt_file)
            self.model_source = f'punkt_file:{punkt_file}'
            apply_radiology_lists(params, lists)
        else:
            found = find_punkt_tab(language)
            if found is not None:
                params = read_punkt_tab(found)
                self.model_source = f'punkt_tab:{found}'
                apply_radiology_lists(params, lists)
            else:
                params = PunktParameters()
                apply_radiology_lists(params, lists, prime=True)
                self.model_source = 'fallback:untrained-punkt+radiology-abbreviations'
                logger.warning(
                    'No Punkt model for %r was found in $MEDVLP_NLTK_DATA, $NLTK_DATA or '
                    'nltk.data.path, and no punkt_file was given; sentence splitting uses an '
                    'untrained Punkt model primed with medvlp\'s radiology abbreviation list. '
                    'Point MEDVLP_NLTK_DATA at a folder with tokenizers/punkt_tab/%s, or train '
                    'one with tools/dataset_converters/train_punkt.py.', language, language)
        self._punkt = PunktSentenceTokenizer(params)
        self._abbreviations = frozenset(params.abbrev_types)
        self._collocations = frozenset(params.collocations)
        self._collocation_starts = frozenset(collocation_starts(params.collocations))
        #: split()'s result per text, and Punkt's sentences per uncertain stretch (two
        #: dicts keyed by the text itself: no key tuple to build per look-up).
        self._cache: Dict[str, Tuple[str, ...]] = {}
        self._stretches: Dict[str, Tuple[str, ...]] = {}
        self._decisions: Dict[str, Optional[bool]] = {}
        self._cache_size = cache_size

    def split(self, text: str) -> List[str]:
        """Split ``text`` into sentences.

        Results are cached per text (report sections such as "No acute cardiopulmonary
        abnormality." repeat across reports); a cached result is the uncached one.

        Args:
            text (str): Report text; may contain line breaks and numbered lists.

        Returns:
            List[str]: Sentences with single spaces, list markers removed, in order.
        """
        cached = self._cache.get(text)
        if cached is None:
            cached = tuple(self._split_uncached(text))
            self._remember(self._cache, text, cached)
        return list(cached)

    def _split_uncached(self, text: str) -> List[str]:
        """:meth:`split` without the cache."""
        sentences: List[str] = []
        # The cheap substring and hint checks skip regex passes that rarely apply.
        paragraphs = _PARAGRAPH_RE.split(text) if '\n' in text else (text, )
        for paragraph in paragraphs:
            # Without a marker hint in the paragraph its items have none either: collapsing
            # whitespace keeps whitespace where it was, and the space put after a glued
            # period follows a letter, "_" or ")", never a digit.
            hinted = _MARKER_HINT_RE.search(paragraph) is not None
            items = _LINE_MARKER_RE.split(paragraph) if hinted else (paragraph, )
            for item in items:
                item = item.strip() if has_only_single_spaces(item) else \
                    _WHITESPACE_RE.sub(' ', item).strip()
                if not item:
                    continue
                if _GLUED_HINT_RE.search(item):
                    item = _GLUED_RE.sub(r'\1 ', item)
                pieces = _INLINE_MARKER_RE.split(item) if hinted and _MARKER_HINT_RE.search(
                    item) else (item, )
                for piece in pieces:
                    piece = piece.strip()
                    if piece:
                        sentences.extend(self._split_piece(piece))
        # the cheap tests first: a sentence that starts with a letter or digit has one, and
        # only a sentence of at most 4 characters can be a bare list marker ("(12)")
        return [sentence for sentence in sentences
                if (sentence[0].isalnum() or _ALNUM_RE.search(sentence))
                and (len(sentence) > 4 or not _MARKER_ONLY_RE.fullmatch(sentence))]

    def _word_decision(self, word: str) -> Optional[bool]:
        """Whether a period after ``word`` is certainly a sentence break for Punkt.

        True: certain break (a plain word that is no abbreviation); False: uncertain (numbers,
        initials, abbreviations, brackets...), left to Punkt; None: certain unless ``word``
        and the next word form a Punkt collocation.
        """
        decision = self._decisions.get(word)
        if decision is None and word not in self._decisions:
            lowered = word.lower()
            if not _PLAIN_WORD_RE.fullmatch(word) or len(word) < 2:
                decision = False
            elif (lowered in self._abbreviations
                  or lowered.rsplit('-', 1)[-1] in self._abbreviations):
                decision = False
            else:
                decision = None if lowered in self._collocation_starts else True
            if len(self._decisions) >= self._cache_size:
                self._decisions.clear()
            self._decisions[word] = decision
        return decision

    def _is_certain_break(self, text: str, start: int, end: int) -> bool:
        """Whether Punkt would certainly end a sentence at the candidate ``text[start:end]``."""
        if end - start != 1 or text[start] != '.':
            # "?" or "!" always end a sentence; ellipses and quoted endings go to Punkt.
            punct = text[start:end]
            return '?' in punct or '!' in punct
        word = text[text.rfind(' ', 0, start) + 1:start]
        decision = self._word_decision(word)
        if decision is not None:
            return decision
        stop = text.find(' ', end + 1)
        following = text[end + 1:stop if stop >= 0 else len(text)].lower()
        return (word.lower(), following.rstrip('.')) not in self._collocations

    def _split_piece(self, text: str) -> List[str]:
        """Split one list item / paragraph (single-spaced) into sentences."""
        sentences: List[str] = []
        start, uncertain = 0, False
        for begin, end in _candidates(text):
            if self._is_certain_break(text, begin, end):
                stretch = text[start:end]
                sentences.extend(self._punkt_split(stretch) if uncertain else (stretch, ))
                start, uncertain = end + 1, False
            else:
                uncertain = True
        stretch = text[start:]
        if stretch:
            sentences.extend(self._punkt_split(stretch) if uncertain else (stretch, ))
        return sentences

    def _punkt_split(self, text: str) -> Tuple[str, ...]:
        """Run Punkt on a stretch with uncertain boundaries, with a cache."""
        cached = self._stretches.get(text)
        if cached is None:
            cached = tuple(self._punkt.tokenize(text))
            self._remember(self._stretches, text, cached)
        return cached

    def _remember(self, cache: Dict[str, Tuple[str, ...]], key: str,
                  sentences: Tuple[str, ...]) -> None:
        """Put ``sentences`` into ``cache`` under ``key``; a full cache is emptied first."""
        if len(cache) >= self._cache_size:
            cache.clear()
        cache[key] = sentences
