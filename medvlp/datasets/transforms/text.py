# Copyright (c) medvlp contributors. All rights reserved.
"""Turning a record's cached report words into fixed-length token and word arrays."""
import hashlib
import json
import re
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from medvlp.registry import TRANSFORMS

#: The record fields :class:`TokenizeReport` reads (written by the converters or by
#: ``ImageReportDataset`` when it processes raw report text).
REQUIRED_TEXT_FIELDS = ('words', 'sentence_ids')


_WORD_CHAR = re.compile(r'\w')


def keyword_flags(num_words: int, mesh: Sequence[dict], use_negated: bool = True,
                  use_uncertain: bool = True, field: Optional[str] = None) -> np.ndarray:
    """Per-word 0/1 flags marking the words covered by MeSH matches.

    Args:
        num_words (int): Number of words in the record.
        mesh (Sequence[dict]): The record's ``mesh`` list; each match covers the words
            ``start_word`` (inclusive) to ``end_word`` (exclusive).
        use_negated (bool): Whether negated matches ("no pneumothorax") count as
            keywords. Defaults to True.
        use_uncertain (bool): Whether uncertain matches ("possible pneumonia") count as
            keywords. Defaults to True.
        field (str, optional): Only flag the matches whose ``field`` (``'negated'`` or
            ``'uncertain'``) is true, e.g. the per-word negation flags. Defaults to None
            (every kept match).

    Returns:
        np.ndarray: int64 array of shape ``(num_words,)``.
    """
    flags = np.zeros(num_words, dtype=np.int64)
    for match in mesh:
        if match.get('negated') and not use_negated:
            continue
        if match.get('uncertain') and not use_uncertain:
            continue
        if field is not None and not match.get(field):
            continue
        start = max(int(match['start_word']), 0)
        end = min(int(match['end_word']), num_words)
        flags[start:end] = 1
    return flags


def drop_punctuation(words: Sequence[str], sentence_ids: Sequence[int],
                     mesh: Sequence[dict]) -> Tuple[List[str], List[int], List[dict]]:
    """Remove the punctuation tokens (no ``\\w`` character) of a record's words.

    MedIM's official text keeps only ``\\w+`` words. ``sentence_ids`` follow the kept
    words and the ``mesh`` matches are moved to the new word positions (a match left
    without a word is dropped).

    Returns:
        tuple: ``(words, sentence_ids, mesh)`` of the kept words.
    """
    keep = np.array([bool(_WORD_CHAR.search(word)) for word in words], dtype=bool)
    before = np.concatenate([[0], np.cumsum(keep)])  # kept words before each position
    kept_words = [word for word, k in zip(words, keep) if k]
    kept_sentences = [int(sid) for sid, k in zip(sentence_ids, keep) if k]
    moved = []
    for match in mesh:
        start = int(before[max(int(match['start_word']), 0)])
        end = int(before[min(int(match['end_word']), len(words))])
        if end > start:
            moved.append(dict(match, start_word=start, end_word=end))
    return kept_words, kept_sentences, moved


def pad_to(values: Sequence[int], length: int, pad_value: int) -> np.ndarray:
    """Truncate or pad ``values`` to ``length`` as an int64 array."""
    out = np.full(length, pad_value, dtype=np.int64)
    values = np.asarray(values[:length], dtype=np.int64)
    out[:len(values)] = values
    return out


@TRANSFORMS.register_module()
class TokenizeReport(BaseTransform):
    """Tokenize a record's cached report words into fixed-length arrays.

    The record must carry the text fields of ``ReportProcessor.process_report``
    (``words``, ``sentence_ids`` and, for keyword flags, ``mesh``). Tokenization runs on
    the cached words, so every token knows the word (and sentence) it came from; that
    link is what word-level alignment heads and report-guided masking need.

    **Required Keys:**

    - words (List[str])
    - sentence_ids (List[int]): sentence index of every word
    - mesh (List[dict], optional): MeSH matches; no keywords when absent

    **Added Keys** (int64 arrays; ``L = max_length``, ``W = max_words``):

    - input_ids ``(L,)``: token ids, ``[CLS] ... [SEP]`` then padding
    - attention_mask ``(L,)``: 1 for real tokens, 0 for padding
    - word_ids ``(L,)``: index of the word each token belongs to, -1 for special
      tokens and padding
    - keyword_mask ``(L,)``: 1 for tokens of MeSH-matched words, else 0
    - sentence_ids ``(L,)``: sentence index of each token, -1 for special tokens and
      padding (the record's per-word ``sentence_ids`` list is replaced)
    - word_keyword ``(W,)``: 1 for MeSH-matched words, 0 otherwise, for padding and for
      words truncated away by ``max_length``
    - word_sentence_ids ``(W,)``: sentence index of each word, -1 for padding and for
      words truncated away by ``max_length``
    - word_negated ``(W,)``: 1 for words of negated MeSH matches ("no *effusion*"), else 0
    - word_uncertain ``(W,)``: 1 for words of uncertain MeSH matches ("possible
      *pneumonia*"; the record's matches carry ``uncertain`` when the text pipeline's
      :class:`~medvlp.text.UncertaintyDetector` ran), else 0

    **Token cache:** ``ImageReportDataset`` calls :meth:`cache_record` on every record when
    it loads the annotation file, which stores the record's word pieces, per-word sentence
    indices and MeSH flags (one compact ``bytes`` field per tokenizer and word setting; the
    lengths are applied per sample); the transform then reads them instead of tokenizing
    and scanning the matches, with the same arrays as a result. A record without the cache
    (another dataset, a changed ``words`` list) is processed from its words as usual.

    Args:
        tokenizer (dict): Config of a tokenizer in medvlp's ``TOKENIZERS`` registry,
            built once per dataloader worker. Defaults to
            ``dict(type='WordPieceTokenizer')``, the shipped MIMIC radiology vocabulary.
        max_length (int): Number of token positions, special tokens included.
            Defaults to 128.
        max_words (int, optional): Length of the per-word arrays. Defaults to None,
            meaning ``max_length`` (a word has at least one token, so no word that
            has tokens is ever cut).
        use_negated (bool): Whether negated MeSH matches ("no effusion") are keywords.
            Defaults to True: a negated finding is still what the sentence is about.
        use_uncertain (bool): Whether uncertain MeSH matches ("may represent
            pneumonia") are keywords. Defaults to True.
        drop_punctuation (bool): Remove punctuation tokens (words without a ``\\w``
            character) before tokenizing, as MedIM's official text does; they then have
            no token, no word row and no sentence-word count. Defaults to False.
    """

    def __init__(self,
                 tokenizer: Optional[dict] = None,
                 max_length: int = 128,
                 max_words: Optional[int] = None,
                 use_negated: bool = True,
                 use_uncertain: bool = True,
                 drop_punctuation: bool = False) -> None:
        if max_length < 2:
            raise ValueError(f'max_length must be at least 2 ([CLS] and [SEP]), '
                             f'got {max_length}')
        if max_words is not None and max_words < 1:
            raise ValueError(f'max_words must be positive, got {max_words}')
        self.tokenizer_cfg = dict(tokenizer or dict(type='WordPieceTokenizer'))
        self.max_length = max_length
        self.max_words = max_words or max_length
        self.use_negated = use_negated
        self.use_uncertain = use_uncertain
        self.drop_punctuation = drop_punctuation
        self._tokenizer = None
        self._cache_field = None

    @property
    def tokenizer(self):
        """The tokenizer, built on first use (so once in every dataloader worker)."""
        if self._tokenizer is None:
            from medvlp.text import build_tokenizer
            self._tokenizer = build_tokenizer(dict(self.tokenizer_cfg))
        return self._tokenizer

    def __getstate__(self) -> dict:
        # Workers rebuild the tokenizer instead of unpickling the Rust object.
        state = self.__dict__.copy()
        state['_tokenizer'] = None
        return state

    @property
    def cache_field(self) -> str:
        """Record key of :meth:`cache_record`'s bytes, one per tokenizer/word setting."""
        if self._cache_field is None:
            setting = json.dumps([self.tokenizer_cfg, self.drop_punctuation, self.use_negated,
                                  self.use_uncertain], sort_keys=True, default=str)
            self._cache_field = '_word_pieces_' + hashlib.sha1(setting.encode()).hexdigest()[:12]
        return self._cache_field

    def _word_arrays(self, results: dict) -> tuple:
        """The record's words after ``drop_punctuation``, their sentence index and their
        keyword / negated / uncertain flags (int64 arrays)."""
        words: Sequence[str] = results['words']
        word_sentences = np.asarray(results['sentence_ids'], dtype=np.int64)
        mesh = results.get('mesh') or []
        if len(word_sentences) != len(words):
            raise ValueError(
                f'record of {results.get("img_path")} has {len(words)} words but '
                f'{len(word_sentences)} sentence_ids; the cached text fields are '
                'inconsistent, regenerate the annotation file')
        if self.drop_punctuation:
            words, kept_sentences, mesh = drop_punctuation(words, word_sentences, mesh)
            word_sentences = np.asarray(kept_sentences, dtype=np.int64)
        word_keyword = keyword_flags(len(words), mesh, self.use_negated, self.use_uncertain)
        word_negated = keyword_flags(len(words), mesh, field='negated')
        word_uncertain = keyword_flags(len(words), mesh, field='uncertain')
        return words, word_sentences, word_keyword, word_negated, word_uncertain

    def cache_record(self, record: dict) -> None:
        """Store what :meth:`transform` needs besides the lengths in the record, as ``bytes``.

        Little-endian int32: the record's word count, the kept word count ``W`` (after
        ``drop_punctuation``), the piece count ``P``, then ``P`` piece ids and ``W``
        sentence indices; then uint8: ``W`` piece counts and ``W`` flag bytes (1 keyword,
        2 negated, 4 uncertain). About 400 bytes for a report. Records without the text
        fields, with inconsistent ones, or with a word of more than 255 pieces are left
        alone (the transform then works from the words, and raises its usual errors).
        """
        if any(key not in record for key in REQUIRED_TEXT_FIELDS) or \
                not hasattr(self.tokenizer, 'flat_word_pieces'):
            return
        try:
            words, sentences, keyword, negated, uncertain = self._word_arrays(record)
        except ValueError:
            return
        ids, piece_words = self.tokenizer.flat_word_pieces(words)
        counts = np.bincount(piece_words, minlength=len(words))
        if len(counts) and counts.max() > 255:
            return
        header = np.array([len(record['words']), len(words), len(ids)], dtype='<i4')
        flags = keyword + 2 * negated + 4 * uncertain
        record[self.cache_field] = b''.join((
            header.tobytes(), ids.astype('<i4').tobytes(), sentences.astype('<i4').tobytes(),
            counts.astype(np.uint8).tobytes(), flags.astype(np.uint8).tobytes()))

    def _from_cache(self, results: dict) -> Optional[tuple]:
        """:meth:`_word_arrays` and the ``(ids, piece_words)`` from the record's cache, or
        None when it has none (or its words changed after loading)."""
        cached = results.get(self.cache_field)
        if cached is None:
            return None
        total, words, pieces = (int(v) for v in np.frombuffer(cached, dtype='<i4', count=3))
        if total != len(results['words']) or total != len(results['sentence_ids']):
            return None
        ids = np.frombuffer(cached, dtype='<i4', count=pieces, offset=12)
        offset = 12 + 4 * pieces
        sentences = np.frombuffer(cached, dtype='<i4', count=words, offset=offset)
        offset += 4 * words
        counts = np.frombuffer(cached, dtype=np.uint8, count=words, offset=offset)
        flags = np.frombuffer(cached, dtype=np.uint8, count=words, offset=offset + words)
        flags = flags.astype(np.int64)
        word_arrays = (range(words), sentences.astype(np.int64), flags & 1, (flags >> 1) & 1,
                       (flags >> 2) & 1)
        return word_arrays, (ids, np.repeat(np.arange(words, dtype=np.int64), counts))

    def _encode(self, words: Sequence[str], pieces: Optional[tuple] = None) -> dict:
        """``input_ids``, ``attention_mask`` and ``word_ids`` as int64 arrays.

        ``pieces`` are the cached ``(ids, piece_words)`` of :meth:`_from_cache`.

        Uses the tokenizer's array path (``encode_words_array``, no Python loop over the
        words) when it has one, else its ``encode_words`` lists.
        """
        tokenizer = self.tokenizer
        if pieces is not None:
            return tokenizer.assemble_arrays(*pieces, max_length=self.max_length)
        if hasattr(tokenizer, 'encode_words_array'):
            return tokenizer.encode_words_array(words, max_length=self.max_length)
        encoded = tokenizer.encode_words(list(words), max_length=self.max_length)
        return {key: np.asarray(encoded[key], dtype=np.int64)
                for key in ('input_ids', 'attention_mask', 'word_ids')}

    @staticmethod
    def _check_fields(results: dict) -> None:
        missing = [key for key in REQUIRED_TEXT_FIELDS if key not in results]
        if missing:
            where = results.get('img_path', results.get('study_id', '<unknown record>'))
            raise KeyError(
                f'TokenizeReport needs the cached text fields {list(REQUIRED_TEXT_FIELDS)} '
                f'but the record of {where} has no {missing}. Write the annotation file '
                'with a converter in tools/dataset_converters/ (prepare_mimic_cxr.py, '
                'prepare_openi.py), or load raw report text with ImageReportDataset, '
                'which runs ReportProcessor on records that lack them.')

    def transform(self, results: dict) -> dict:
        """Add the token and word arrays listed in the class docstring."""
        self._check_fields(results)
        cached = self._from_cache(results)
        if cached is None:
            word_arrays, pieces = self._word_arrays(results), None
        else:
            word_arrays, pieces = cached
        words, word_sentences, word_keyword, word_negated, word_uncertain = word_arrays
        encoded = self._encode(words, pieces)
        word_ids = encoded['word_ids']
        is_word = word_ids >= 0
        safe_ids = np.where(is_word, word_ids, 0)
        if len(words):
            keyword_mask = np.where(is_word, word_keyword[safe_ids], 0)
            token_sentences = np.where(is_word, word_sentences[safe_ids], -1)
        else:
            keyword_mask = np.zeros_like(word_ids)
            token_sentences = np.full_like(word_ids, -1)

        results['input_ids'] = encoded['input_ids']
        results['attention_mask'] = encoded['attention_mask']
        results['word_ids'] = word_ids
        results['keyword_mask'] = keyword_mask.astype(np.int64)
        results['sentence_ids'] = token_sentences.astype(np.int64)
        # Words cut off by max_length have no token, so no feature and no attention: they
        # must not count as keywords or sentence words either.
        kept = np.zeros(len(words), dtype=bool)
        kept[word_ids[is_word]] = True
        word_sentences = np.where(kept, word_sentences, -1)
        results['word_keyword'] = pad_to(np.where(kept, word_keyword, 0), self.max_words, 0)
        results['word_sentence_ids'] = pad_to(word_sentences, self.max_words, -1)
        results['word_negated'] = pad_to(np.where(kept, word_negated, 0), self.max_words, 0)
        results['word_uncertain'] = pad_to(np.where(kept, word_uncertain, 0), self.max_words,
                                           0)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tokenizer={self.tokenizer_cfg}, '
                f'max_length={self.max_length}, max_words={self.max_words}, '
                f'use_negated={self.use_negated}, use_uncertain={self.use_uncertain}, '
                f'drop_punctuation={self.drop_punctuation})')
