# Copyright (c) medvlp contributors. All rights reserved.
"""The curated radiology MeSH vocabulary and a dictionary matcher over report words.

Vocabulary file (``resources/radiology_mesh.tsv``, written by
``tools/dataset_converters/build_mesh_vocab.py``): UTF-8, ``#`` comment lines, then a header
row ``mesh_id<TAB>heading<TAB>forms`` and one row per MeSH descriptor, whose forms are
lower-case phrases separated by ``|``.

Matching rules (:class:`MeshMatcher`):

* a form and the report are compared word by word after :func:`~medvlp.text.words.normalise_word`
  (case, hyphens, apostrophes and plurals do not matter: "Pleural Effusions", "pneumo-thorax",
  "opacities" match "pleural effusion", "pneumothorax", "opacity");
* punctuation tokens never match, so a form does not run across a comma or a period;
* scanning left to right, the longest form starting at a word wins and matching resumes after
  it, so matches never overlap ("left pleural effusion" gives one Pleural Effusion match, not
  also Pleura);
* the cost is one dictionary probe per word plus one per candidate length for the few words
  that start a form, i.e. O(number of words x longest form).
"""
import os
from dataclasses import dataclass
from functools import lru_cache
from itertools import compress
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple

from .resources import MESH_VOCAB_FILE, resource_path
from .words import normalise_word, split_words

VOCAB_COLUMNS = ('mesh_id', 'heading', 'forms')
FORM_SEPARATOR = '|'


@dataclass(frozen=True)
class MeshEntry:
    """One MeSH descriptor of the vocabulary.

    Attributes:
        mesh_id (str): MeSH descriptor UI, e.g. ``'D010996'``.
        heading (str): Preferred MeSH heading, e.g. ``'Pleural Effusion'``.
        forms (Tuple[str, ...]): Lower-case surface phrases that denote it in reports.
    """

    mesh_id: str
    heading: str
    forms: Tuple[str, ...]


@dataclass
class MeshMatch:
    """A MeSH term found in a word sequence.

    Attributes:
        term (str): Preferred MeSH heading of the match (``'Pleural Effusion'``).
        mesh_id (str): MeSH descriptor UI (``'D010996'``).
        start_word (int): Index of the first matched word.
        end_word (int): Index one past the last matched word (exclusive).
        negated (bool): Whether a negation cue covers the match (set by
            :class:`~medvlp.text.negation.NegationDetector`).
        uncertain (bool): Whether an uncertainty cue covers the match (set by
            :class:`~medvlp.text.uncertainty.UncertaintyDetector`).
    """

    term: str
    mesh_id: str
    start_word: int
    end_word: int
    negated: bool = False
    uncertain: bool = False

    def to_dict(self) -> dict:
        """The JSON-serialisable record form used in processed report records."""
        return match_record(self.term, self.mesh_id, self.start_word, self.end_word,
                            self.negated, self.uncertain)


def match_record(term: str, mesh_id: str, start_word: int, end_word: int, negated: bool,
                 uncertain: bool) -> dict:
    """The record form of a match (:meth:`MeshMatch.to_dict`), built from its fields."""
    return {'term': term, 'mesh_id': mesh_id, 'start_word': start_word, 'end_word': end_word,
            'negated': negated, 'uncertain': uncertain}


def form_key(form: str) -> Tuple[str, ...]:
    """The normalised word tuple under which ``form`` is matched.

    Raises:
        ValueError: If the form is empty or contains punctuation tokens (they never match).
    """
    words = split_words(form)
    if not words:
        raise ValueError(f'empty MeSH form {form!r}')
    for word in words:
        if not word[-1].isalnum():
            raise ValueError(f'MeSH form {form!r} contains the punctuation token {word!r}')
    return tuple(normalise_word(word) for word in words)


class PhraseTable:
    """Longest-match, left-to-right lookup of word-tuple phrases in a key sequence.

    Phrases of two or more words are indexed by their first two words, so a word that
    starts many phrases ("is" in "is absent", "is not seen", ...) costs one probe per
    phrase length that fits the next word, not one per length.

    Args:
        table (Dict[Tuple[str, ...], Any]): Phrase (normalised words) -> value (not None).
    """

    def __init__(self, table: Dict[Tuple[str, ...], Any]):
        self.table = dict(table)
        self.singles = frozenset(key[0] for key in self.table if len(key) == 1)
        #: The value of every one-word phrase, by its word.
        self._single_values = {key[0]: value for key, value in self.table.items()
                               if len(key) == 1}
        lengths: Dict[Tuple[str, str], set] = {}
        for key in self.table:
            if len(key) > 1:
                lengths.setdefault(key[:2], set()).add(len(key))
        self.pair_lengths = {pair: tuple(sorted(ns, reverse=True))
                             for pair, ns in lengths.items()}
        #: First words of the phrases of two or more words.
        self.multi_firsts = frozenset(pair[0] for pair in self.pair_lengths)
        self.firsts = self.singles | self.multi_firsts
        #: Words found before the last word of a phrase: a phrase can run from one word
        #: sequence into the next only if the first sequence ends with one of them.
        self.inner_words = frozenset(word for key in self.table for word in key[:-1])

    def scan(self, keys: Sequence[str]) -> List[Tuple[int, int, Any]]:
        """``(start, end, value)`` of the non-overlapping longest phrases, in order."""
        table, pair_lengths = self.table, self.pair_lengths
        multi_firsts, single_values = self.multi_firsts, self._single_values
        found: List[Tuple[int, int, Any]] = []
        n, resume = len(keys), 0
        # only the few words that start a phrase are looked at in Python
        for i in compress(range(n), map(self.firsts.__contains__, keys)):
            if i < resume:
                continue
            key = keys[i]
            if i + 1 < n and key in multi_firsts:
                pair = (key, keys[i + 1])
                for length in pair_lengths.get(pair, ()):  # longest first
                    end = i + length
                    if end <= n:
                        value = table.get(pair if length == 2 else tuple(keys[i:end]))
                        if value is not None:
                            found.append((i, end, value))
                            resume = end
                            break
                if resume > i:
                    continue
            value = single_values.get(key)  # values are never None
            if value is not None:
                found.append((i, i + 1, value))
                resume = i + 1
        return found


class MeshVocabulary:
    """A set of MeSH descriptors with the surface forms that denote them.

    Args:
        entries (Iterable[MeshEntry]): The descriptors. Descriptor ids must be unique, and a
            normalised form may belong to one descriptor only.

    Raises:
        ValueError: On a duplicate descriptor id, a form shared by two descriptors, or a form
            that cannot be matched (see :func:`form_key`).
    """

    def __init__(self, entries: Iterable[MeshEntry]):
        self._entries: Tuple[MeshEntry, ...] = tuple(entries)
        self._by_id: Dict[str, MeshEntry] = {}
        self._by_key: Dict[Tuple[str, ...], MeshEntry] = {}
        for entry in self._entries:
            if entry.mesh_id in self._by_id:
                raise ValueError(f'duplicate MeSH id {entry.mesh_id} '
                                 f'({self._by_id[entry.mesh_id].heading!r}, {entry.heading!r})')
            self._by_id[entry.mesh_id] = entry
            for form in entry.forms:
                key = form_key(form)
                other = self._by_key.setdefault(key, entry)
                if other is not entry:
                    raise ValueError(f'form {form!r} of {entry.heading!r} clashes with '
                                     f'{other.heading!r} (both normalise to {" ".join(key)!r})')

    @classmethod
    def load(cls, path: Optional[str] = None) -> 'MeshVocabulary':
        """Read a vocabulary file; by default the shipped curated radiology vocabulary.

        Args:
            path (str, optional): A file in the format described in the module docstring.

        Raises:
            FileNotFoundError: If the file does not exist.
            ValueError: If a row is malformed (the message names the line).
        """
        path = path or resource_path(MESH_VOCAB_FILE)
        if not os.path.isfile(path):
            raise FileNotFoundError(f'MeSH vocabulary file not found: {path}')
        return _load_cached(os.path.abspath(path), os.path.getmtime(path))

    def save(self, path: str, comments: Sequence[str] = ()) -> None:
        """Write the vocabulary file, entries sorted by heading, LF line endings.

        Args:
            path (str): Destination file.
            comments (Sequence[str]): Lines written first, each prefixed with ``'# '``.
        """
        lines = [f'# {line}'.rstrip() for line in comments]
        lines.append('\t'.join(VOCAB_COLUMNS))
        for entry in sorted(self._entries, key=lambda e: (e.heading.lower(), e.mesh_id)):
            lines.append('\t'.join((entry.mesh_id, entry.heading,
                                    FORM_SEPARATOR.join(entry.forms))))
        with open(path, 'w', encoding='utf-8', newline='\n') as f:
            f.write('\n'.join(lines) + '\n')

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[MeshEntry]:
        return iter(self._entries)

    def __contains__(self, mesh_id: object) -> bool:
        return mesh_id in self._by_id

    def get(self, mesh_id: str) -> Optional[MeshEntry]:
        """The entry of descriptor ``mesh_id``, or None."""
        return self._by_id.get(mesh_id)

    @property
    def form_table(self) -> Dict[Tuple[str, ...], MeshEntry]:
        """Normalised form key -> entry (a copy)."""
        return dict(self._by_key)


def parse_vocabulary_lines(lines: Iterable[str], source: str = '<vocabulary>') -> List[MeshEntry]:
    """Parse the rows of a vocabulary file (see the module docstring).

    Raises:
        ValueError: On a missing header or a malformed row; the message names ``source`` and
            the line number.
    """
    entries, header_seen = [], False
    for number, line in enumerate(lines, start=1):
        line = line.rstrip('\n')
        if not line.strip() or line.startswith('#'):
            continue
        cells = line.split('\t')
        if not header_seen:
            if tuple(cells) != VOCAB_COLUMNS:
                raise ValueError(f'{source}:{number}: expected the header '
                                 f'{"<TAB>".join(VOCAB_COLUMNS)!r}, got {line!r}')
            header_seen = True
            continue
        if len(cells) != 3 or not all(cell.strip() for cell in cells):
            raise ValueError(f'{source}:{number}: expected 3 non-empty tab-separated cells, '
                             f'got {line!r}')
        mesh_id, heading, forms = (cell.strip() for cell in cells)
        entries.append(MeshEntry(mesh_id, heading, tuple(
            form.strip() for form in forms.split(FORM_SEPARATOR) if form.strip())))
    if not header_seen:
        raise ValueError(f'{source}: no header row {"<TAB>".join(VOCAB_COLUMNS)!r}')
    return entries


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> MeshVocabulary:
    """Load and validate a vocabulary file once per (path, modification time)."""
    with open(path, encoding='utf-8') as f:
        return MeshVocabulary(parse_vocabulary_lines(f, source=path))


class MeshMatcher:
    """Find the MeSH terms of a vocabulary in a word sequence (rules in the module docstring).

    Args:
        vocabulary (MeshVocabulary, optional): Defaults to the shipped curated radiology
            vocabulary (:meth:`MeshVocabulary.load`).
    """

    def __init__(self, vocabulary: Optional[MeshVocabulary] = None):
        self.vocabulary = vocabulary if vocabulary is not None else MeshVocabulary.load()
        self._table = self.vocabulary.form_table
        self._phrases = PhraseTable(self._table)
        self.max_words = max((len(key) for key in self._table), default=0)

    @property
    def phrase_table(self) -> PhraseTable:
        """The form index the matcher scans with (form key -> :class:`MeshEntry`)."""
        return self._phrases

    def match(self, words: List[str]) -> List[MeshMatch]:
        """Return the non-overlapping longest matches in ``words``, left to right.

        Args:
            words (List[str]): Tokens as produced by :func:`~medvlp.text.words.split_words`.

        Returns:
            List[MeshMatch]: Matches ordered by position; empty when no term occurs.
        """
        return self.match_keys([normalise_word(word) for word in words])

    def match_keys(self, keys: Sequence[str]) -> List[MeshMatch]:
        """:meth:`match` on words already passed through
        :func:`~medvlp.text.words.normalise_word` (lets callers normalise once)."""
        return [MeshMatch(entry.heading, entry.mesh_id, start, end)
                for start, end, entry in self._phrases.scan(keys)]
