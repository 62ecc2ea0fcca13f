# Copyright (c) medvlp contributors. All rights reserved.
"""NegEx-style negation of MeSH matches, with CheXpert/NegBio trigger phrases.

A match is negated when, within its sentence,

* it starts inside the *forward scope* of a pre-negation trigger ("no", "without",
  "negative for", "free of", "no evidence of", "resolution of", ...): the words after the
  trigger up to a scope terminator, at most ``max_scope`` words; or
* it ends inside the *backward scope* of a post-negation trigger ("is absent", "has resolved",
  "not seen", "are not identified", "was removed", ...): the words before the trigger back to a
  terminator, at most ``max_post_scope`` words; or
* a bidirectional trigger ("resolved", "removed", "absent") covers it either way.

Scope terminators are contrastive conjunctions and clause openers ("but", "however",
"although", "except", "which", "there is", ...) and the punctuation ``;`` ``:`` ``.`` ``?``
``!``. Commas do not end a scope, so every item of "No pneumothorax, effusion, or
consolidation" is negated.

Pseudo-triggers look like negations but are not, and are matched first so they win: "no
change", "no significant interval change", "not excluded", "cannot be excluded", "without
change", "no increase", "no worsening", ... A trigger directly followed (within two words) by a
change word ("no *significant* increase in the effusion") is treated the same way, so the
effusion stays positive. "Rule out" marks uncertainty, not absence ("to rule out pneumonia"),
so it is not a trigger; "ruled out" is.

Phrases are compared on :func:`~medvlp.text.words.normalise_word` keys, the same keys the MeSH
matcher uses, so case, hyphens and plurals do not matter.
"""
from bisect import bisect_left
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

from .mesh import MeshMatch, PhraseTable
from .words import normalise_word, split_words

PRE_TRIGGERS = (
    'no', 'not', 'without', 'never', 'nor', 'neither', 'none', 'absence of',
    'negative for', 'free of', 'clear of', 'lack of', 'no evidence of', 'no definite',
    'no sign of', 'no signs of', 'no findings of', 'no finding of', 'no radiographic evidence of',
    'no longer', 'resolution of', 'interval resolution of', 'removal of',
    'interval removal of', 'fails to reveal', 'failed to reveal', 'did not reveal',
    'does not reveal', 'denies', 'denied',
    'no suspicious', 'without evidence of', 'with no')
POST_TRIGGERS = (
    'is absent', 'are absent', 'was absent', 'were absent', 'has resolved', 'have resolved',
    'had resolved', 'has cleared', 'have cleared', 'has been removed',
    'have been removed', 'was removed', 'were removed', 'not seen', 'is not seen',
    'are not seen', 'not identified', 'is not identified', 'are not identified',
    'not present', 'is not present', 'are not present', 'not visualized', 'not visualised',
    'not appreciated', 'not demonstrated', 'not evident', 'not detected', 'not noted',
    'no longer seen', 'no longer present', 'no longer visualized', 'no longer evident',
    'no longer identified', 'has been ruled out', 'is ruled out', 'ruled out', 'is excluded',
    'are excluded', 'is negative', 'are negative', 'negative')
#: Triggers that negate in both directions ("resolved effusion", "effusion resolved").
BIDIRECTIONAL_TRIGGERS = ('resolved', 'removed', 'absent')
PSEUDO_TRIGGERS = (
    'no change', 'no interval change', 'no significant change', 'no significant interval change',
    'no appreciable change', 'no substantial change', 'no definite change', 'no further',
    'no increase', 'no decrease', 'no worsening', 'no improvement', 'not changed',
    'without change', 'without interval change', 'without significant change',
    'not only', 'not necessarily', 'not certain', 'not excluded', 'not be excluded',
    'not ruled out', 'not be ruled out', 'cannot be excluded', 'can not be excluded',
    'cannot exclude', 'can not exclude', 'could not be excluded', 'cannot be ruled out',
    'can not be ruled out', 'cannot rule out', 'difficult to exclude', 'not well seen',
    'not well visualized', 'gram negative', 'no new change')
TERMINATORS = (
    'but', 'however', 'although', 'though', 'except', 'apart from', 'aside from',
    'which', 'whereas', 'while', 'yet', 'nevertheless', 'nonetheless', 'still',
    'there is', 'there are', 'there has been', 'there have been', 'there was', 'there were',
    'otherwise', 'concerning for', 'suspicious for', 'worrisome for', ';', ':', '.', '?', '!')
#: Words that make a pre-negation trigger they closely follow a pseudo-trigger.
CHANGE_WORDS = frozenset({
    'change', 'changed', 'increase', 'increased', 'decrease', 'decreased', 'worsening',
    'worsened', 'improvement', 'improved', 'progression', 'progressed'})

_PRE, _POST, _BOTH, _PSEUDO, _TERM = 'pre', 'post', 'both', 'pseudo', 'term'
_SENTENCE_END = frozenset({'.', '?', '!'})
#: Cue kinds that open a scope.
_SCOPE_KINDS = frozenset({_PRE, _POST, _BOTH})


def span_flags(spans: Iterable[Tuple[int, int]],
               covered: Optional[List[bool]]) -> List[bool]:
    """Whether a scope covers the first or the last word of every ``(start, end)`` span.

    Args:
        spans (Iterable[Tuple[int, int]]): Word spans (``end`` exclusive) of the matches.
        covered (List[bool], optional): Per word, whether a scope covers it; None when
            nothing is covered.
    """
    if covered is None:
        return [False for _ in spans]
    return [covered[start] or covered[end - 1] for start, end in spans]


def _phrase_key(phrase: str) -> Tuple[str, ...]:
    return tuple(normalise_word(word) for word in split_words(phrase))


class ScopeCueDetector:
    """NegEx-style cue scopes over a sentence's words; sets :attr:`flag` on covered matches.

    Subclasses name the flag and the phrase groups: ``pre`` triggers cover the following
    words, ``post`` triggers the preceding ones, ``both`` either way, ``pseudo`` phrases
    block the triggers they contain, and terminators end every scope.

    Args:
        max_scope (int): Longest forward scope of a pre-trigger, in words. Defaults to 20.
        max_post_scope (int): Longest backward scope of a post-trigger, in words.
            Defaults to 8.
    """

    #: The :class:`~medvlp.text.mesh.MeshMatch` attribute set to True or False.
    flag = 'negated'
    PRE: Tuple[str, ...] = ()
    POST: Tuple[str, ...] = ()
    BOTH: Tuple[str, ...] = ()
    PSEUDO: Tuple[str, ...] = ()
    TERMINATORS: Tuple[str, ...] = TERMINATORS
    #: Whether a pre-trigger followed within two words by a change word is a pseudo-trigger.
    change_words_block = False

    def __init__(self, max_scope: int = 20, max_post_scope: int = 8):
        self.max_scope = max_scope
        self.max_post_scope = max_post_scope
        phrases: Dict[Tuple[str, ...], str] = {}
        # A phrase in two groups keeps the later group's kind; pseudo-triggers come last so
        # that they always win.
        for kind, group in ((_TERM, self.TERMINATORS), (_PRE, self.PRE), (_POST, self.POST),
                            (_BOTH, self.BOTH), (_PSEUDO, self.PSEUDO)):
            for phrase in group:
                phrases[_phrase_key(phrase)] = kind
        self._phrases = phrases
        self._table = PhraseTable(phrases)
        #: First words of the phrases that open a scope: a sentence without any has no cue.
        self._scope_firsts = frozenset(key[0] for key, kind in phrases.items()
                                       if kind in _SCOPE_KINDS)

    @property
    def phrase_table(self) -> PhraseTable:
        """The cue phrase index (phrase key -> cue kind)."""
        return self._table

    def _cues(self, keys: Sequence[str]) -> List[Tuple[int, int, str]]:
        """Longest-match scan for cue phrases: ``(start, end, kind)`` in order."""
        return self._block_changes(self._table.scan(keys), keys)

    def _block_changes(self, cues: List[Tuple[int, int, str]],
                       keys: Sequence[str]) -> List[Tuple[int, int, str]]:
        """Turn a trigger closely followed by a change word into a pseudo-trigger (in place)."""
        if self.change_words_block:
            for index, (start, end, kind) in enumerate(cues):
                if kind in (_PRE, _BOTH) and any(key in CHANGE_WORDS
                                                 for key in keys[end:end + 2]):
                    cues[index] = (start, end, _PSEUDO)  # "no significant increase in ..."
        return cues

    def annotate(self, words: List[str], matches: List[MeshMatch],
                 sentence_ids: Optional[List[int]] = None,
                 keys: Optional[Sequence[str]] = None) -> List[MeshMatch]:
        """Set :attr:`flag` on every match (in place) and return the matches.

        Args:
            words (List[str]): Tokens from :func:`~medvlp.text.words.split_words`.
            matches (List[MeshMatch]): Matches over ``words`` (from
                :class:`~medvlp.text.mesh.MeshMatcher`).
            sentence_ids (List[int], optional): Sentence index of every word; scopes never
                cross sentences. Without it, ``.``/``?``/``!`` tokens end sentences.
            keys (Sequence[str], optional): ``normalise_word`` of every word, when the caller
                already has them.

        Returns:
            List[MeshMatch]: ``matches``, with :attr:`flag` set to True or False.
        """
        if not matches:
            return matches
        if keys is None:
            keys = [normalise_word(word) for word in words]
        covered = None
        if not self._scope_firsts.isdisjoint(keys):  # else no trigger: nothing is covered
            covered = self._covered(self._cues(keys), keys, sentence_ids)
        spans = ((match.start_word, match.end_word) for match in matches)
        for match, flag in zip(matches, span_flags(spans, covered)):
            setattr(match, self.flag, flag)
        return matches

    def sentence_cover(self, keys: Sequence[str]) -> Tuple[Optional[List[bool]], int]:
        """The words of one whole sentence that a scope covers, and the look-ahead it used.

        Equivalent to the cover :meth:`annotate` computes over a report in which ``keys`` are
        one sentence, provided no cue phrase runs across the sentence's ends (see
        :attr:`PhraseTable.inner_words <medvlp.text.mesh.PhraseTable.inner_words>`) and the
        first ``look_ahead`` keys after the sentence hold no change word
        (:meth:`blocks_look_ahead`): scopes stop at sentence ends, so nothing else outside
        the sentence matters.

        Args:
            keys (Sequence[str]): ``normalise_word`` of the sentence's words.

        Returns:
            Tuple[Optional[List[bool]], int]: Per word, whether a scope covers it (None when
            nothing is covered), and how many keys after the sentence the change-word rule
            reads (0 when it reads none).
        """
        if self._scope_firsts.isdisjoint(keys):
            return None, 0
        cues = self._table.scan(keys)
        look_ahead = 0
        if self.change_words_block:  # _block_changes, with the look-ahead it reads
            size = len(keys)
            for index, (start, end, kind) in enumerate(cues):
                if kind == _PRE or kind == _BOTH:
                    look_ahead = max(look_ahead, end + 2 - size)
                    if any(key in CHANGE_WORDS for key in keys[end:end + 2]):
                        cues[index] = (start, end, _PSEUDO)
        return self._sentence_covered(cues, len(keys)), look_ahead

    def _sentence_covered(self, cues: List[Tuple[int, int, str]],
                          size: int) -> Optional[List[bool]]:
        """:meth:`_covered` of one sentence of ``size`` words (every sentence id the same).

        A scope covers the words from its trigger up to the nearest terminator word or its
        length limit, whichever comes first; each is found by bisection in the terminator
        positions and set with one slice assignment.
        """
        scopes = [cue for cue in cues if cue[2] in _SCOPE_KINDS]
        if not scopes:  # nothing covers a word
            return None
        terminators = [index for start, end, kind in cues if kind == _TERM
                       for index in range(start, end)]  # ascending: cues are in order
        covered = [False] * size
        for start, end, kind in scopes:
            if kind != _POST:  # pre or both: the words after the trigger
                stop = min(size, end + self.max_scope)
                at = bisect_left(terminators, end)
                if at < len(terminators) and terminators[at] < stop:
                    stop = terminators[at]
                if stop > end:
                    covered[end:stop] = [True] * (stop - end)
            if kind != _PRE:  # post or both: the words before the trigger
                first = max(0, start - self.max_post_scope)
                at = bisect_left(terminators, start)
                if at and terminators[at - 1] >= first:
                    first = terminators[at - 1] + 1
                if start > first:
                    covered[first:start] = [True] * (start - first)
        return covered

    def blocks_look_ahead(self, keys: Sequence[str]) -> bool:
        """Whether ``keys``, read past a trigger by the change-word rule, could block it."""
        return self.change_words_block and any(key in CHANGE_WORDS for key in keys)

    def _covered(self, cues: List[Tuple[int, int, str]], keys: Sequence[str],
                 sentence_ids: Optional[List[int]]) -> Optional[List[bool]]:
        """Per word, whether the scope of one of ``cues`` covers it; None when none can."""
        if not any(kind in _SCOPE_KINDS for _, _, kind in cues):  # nothing covers a word
            return None
        if sentence_ids is None:
            sentence_ids, current = [], 0
            for key in keys:
                sentence_ids.append(current)
                current += key in _SENTENCE_END
        negated = [False] * len(keys)
        terminator_at = [False] * len(keys)
        for start, end, kind in cues:
            if kind == _TERM:
                for index in range(start, end):
                    terminator_at[index] = True
        for start, end, kind in cues:
            if kind in (_PRE, _BOTH):
                sentence = sentence_ids[start]
                for index in range(end, min(len(keys), end + self.max_scope)):
                    if terminator_at[index] or sentence_ids[index] != sentence:
                        break
                    negated[index] = True
            if kind in (_POST, _BOTH):
                sentence = sentence_ids[start]
                for index in range(start - 1, max(-1, start - 1 - self.max_post_scope), -1):
                    if terminator_at[index] or sentence_ids[index] != sentence:
                        break
                    negated[index] = True
        return negated


class NegationDetector(ScopeCueDetector):
    """Mark MeSH matches that are negated (rules in the module docstring).

    Args:
        max_scope (int): Longest forward scope of a pre-negation trigger, in words.
            Defaults to 20.
        max_post_scope (int): Longest backward scope of a post-negation trigger, in words.
            Defaults to 8.
    """

    flag = 'negated'
    PRE = PRE_TRIGGERS
    POST = POST_TRIGGERS
    BOTH = BIDIRECTIONAL_TRIGGERS
    PSEUDO = PSEUDO_TRIGGERS
    change_words_block = True
