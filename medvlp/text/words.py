# Copyright (c) medvlp contributors. All rights reserved.
"""Word tokenisation of report sentences and the word normalisation used for matching.

:func:`split_words` keeps the surface form of every word (case included) and emits each
punctuation character as its own token, so ``' '.join(words)`` reads naturally and no
character is lost except whitespace. A word is:

* a run of letters/digits, with internal hyphens or apostrophes kept inside
  (``well-expanded``, ``patient's``, ``covid-19``, ``T7-T8``);
* a number with a decimal point, slash or colon between digits, plus a glued unit
  (``1.5``, ``1.5cm``, ``16.2/24.7``, ``10:30``);
* a de-identification placeholder (``___``).

Everything else that is not whitespace is a one-character punctuation token (``.``, ``,``,
``(``, ``—``). Periods of abbreviations are therefore separate tokens: ``e.g.`` becomes
``e . g .``.

:func:`normalise_word` is the key under which the MeSH matcher and the negation detector look
words up; vocabulary forms are normalised with the same function.
"""
import re
from functools import lru_cache
from typing import List, Sequence, Tuple

_WORD_RE = re.compile(
    r"_{2,}"                                          # de-identification placeholder
    r"|[^\W_]+(?:[-'’][^\W_]+|(?<=\d)[./:](?=\d)[^\W_]+)*"  # words, hyphenated, 1.5cm
    r"|[^\w\s]|_")                                    # one punctuation character
# The same tokens for ASCII text, with explicit classes (faster than Unicode categories):
# ASCII-mode \w and \s miss nothing here except \x1c-\x1f, which Unicode \s includes.
_ASCII_WORD_RE = re.compile(
    r"_{2,}"
    r"|[A-Za-z0-9]+(?:[-'][A-Za-z0-9]+|(?<=\d)[./:](?=\d)[A-Za-z0-9]+)*"
    r"|[^\w\s\x1c-\x1f]|_", re.ASCII)

# Irregular plurals of radiology words; regular ones are handled by the rules in _singular.
IRREGULAR_PLURALS = {
    'atelectases': 'atelectasis',
    'bronchiectases': 'bronchiectasis',
    'metastases': 'metastasis',
    'diagnoses': 'diagnosis',
    'emboli': 'embolus',
    'bronchi': 'bronchus',
    'calculi': 'calculus',
    'sulci': 'sulcus',
    'foci': 'focus',
    'hila': 'hilum',
    'atria': 'atrium',
    'septa': 'septum',
    'diverticula': 'diverticulum',
    'apices': 'apex',
    'cicatrices': 'cicatrix',
    'thoraces': 'thorax',
    'hemithoraces': 'hemithorax',
    'pneumothoraces': 'pneumothorax',
    'pneumothoraxes': 'pneumothorax',
    'hydropneumothoraces': 'hydropneumothorax',
    'hemothoraces': 'hemothorax',
    'hemithoraxes': 'hemithorax',
    'vertebrae': 'vertebra',
    'bullae': 'bulla',
}


def split_words(sentence: str) -> List[str]:
    """Split a sentence into words and punctuation tokens (see the module docstring).

    Args:
        sentence (str): One sentence (any text works; nothing is dropped but whitespace).

    Returns:
        List[str]: The tokens in order, with their original case.
    """
    return (_ASCII_WORD_RE if sentence.isascii() else _WORD_RE).findall(sentence)


def word_spans(sentence: str) -> List[Tuple[int, int]]:
    """Character ``(start, end)`` of every token :func:`split_words` returns for ``sentence``."""
    return [match.span() for match in _WORD_RE.finditer(sentence)]


def _singular(word: str) -> str:
    """Reduce a lower-case English plural to its singular; other words are returned as is."""
    irregular = IRREGULAR_PLURALS.get(word)
    if irregular is not None:
        return irregular
    if len(word) <= 3 or word[-1] not in 'se':
        return word
    if word.endswith('ae') and len(word) > 4:
        return word[:-1]  # vertebrae -> vertebra (regular Latin plurals)
    if word[-1] != 's' or word.endswith(('ss', 'us', 'is')):
        return word
    if word.endswith('ies') and len(word) > 4:
        return word[:-3] + 'y'  # opacities -> opacity
    if word.endswith('oses') and len(word) > 6:
        return word[:-2] + 'is'  # kyphoses -> kyphosis
    if word.endswith(('sses', 'ches', 'shes', 'xes', 'zzes')):
        return word[:-2]  # masses -> mass, branches -> branch
    return word[:-1]


@lru_cache(maxsize=1 << 16)
def normalise_word(word: str) -> str:
    """Matching key of a word: lower case, no hyphens/apostrophes/possessive, singular.

    ``'Effusions'`` -> ``'effusion'``, ``'pneumo-thorax'`` -> ``'pneumothorax'``,
    ``'Opacities'`` -> ``'opacity'``, ``"patient's"`` -> ``'patient'``. Punctuation tokens are
    returned unchanged.
    """
    key = word.lower()
    if not key[-1:].isalnum():
        return key
    if key.endswith(("'s", "’s")):
        key = key[:-2]
    key = key.replace('-', '').replace("'", '').replace('’', '')
    return _singular(key) if key.isalpha() else key


#: Memo of :func:`normalise_words` (a plain dict: cheaper than the LRU wrapper per word).
_KEYS: dict = {}
_KEYS_LIMIT = 1 << 18


def normalise_words(words: Sequence[str]) -> List[str]:
    """:func:`normalise_word` of every word (memoised; the same keys, faster for a list)."""
    if len(_KEYS) > _KEYS_LIMIT:
        _KEYS.clear()
    try:
        return list(map(_KEYS.__getitem__, words))
    except KeyError:
        for word in words:
            if word not in _KEYS:
                _KEYS[word] = normalise_word(word)
        return list(map(_KEYS.__getitem__, words))
