# Copyright (c) medvlp contributors. All rights reserved.
"""Turning a record's cached report words into fixed-length token and word arrays."""
import hashlib
import json
import re
import struct
from typing import List, Optional, Sequence, Tuple

import numpy as np
from mmcv.transforms import BaseTransform

from medvlp.registry import TRANSFORMS

#: The record fields :class:`TokenizeReport` reads (written by the converters or by
#: ``ImageReportDataset`` when it processes raw report text).
REQUIRED_TEXT_FIELDS = ('words', 'sentence_ids')
#: The per-token arrays :class:`TokenizeReport` writes (rows of one block, in this order).
TOKEN_KEYS = ('input_ids', 'attention_mask', 'word_ids', 'keyword_mask', 'sentence_ids')
#: The per-word arrays :class:`TokenizeReport` writes (rows of one block, in this order).
WORD_KEYS = ('word_keyword', 'word_sentence_ids', 'word_negated', 'word_uncertain')
#: Result key where :class:`TokenizeReport` leaves ``(keys, block, rows)`` for each of its
#: two blocks, so that :class:`PackImageReportInputs` can make one tensor per block.
TEXT_BLOCKS_KEY = '_text_blocks'
#: Padding value of the token rows after ``attention_mask`` (word, keyword, sentence).
_TOKEN_ROW_FILL = np.array([[-1], [0], [-1]], dtype=np.int64)


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
    - ``_text_blocks``: the two blocks the arrays are rows of, as
      ``((TOKEN_KEYS, block, rows), (WORD_KEYS, block, rows))``

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
        self._special_ids = None

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

    def _cached_parts(self, results: dict) -> Optional[tuple]:
        """The record's cache as arrays ``(ids, counts, sentences, flags)``, or None when
        it has none (or its words changed after loading); see :meth:`cache_record`."""
        cached = results.get(self.cache_field)
        if cached is None:
            return None
        total, words, pieces = struct.unpack_from('<3i', cached)
        if total != len(results['words']) or total != len(results['sentence_ids']):
            return None
        ids = np.frombuffer(cached, dtype='<i4', count=pieces, offset=12)
        offset = 12 + 4 * pieces
        sentences = np.frombuffer(cached, dtype='<i4', count=words, offset=offset)
        offset += 4 * words
        counts = np.frombuffer(cached, dtype=np.uint8, count=words, offset=offset)
        flags = np.frombuffer(cached, dtype=np.uint8, count=words, offset=offset + words)
        return ids, counts, sentences, flags

    @property
    def special_ids(self) -> Tuple[int, int, int]:
        """``([CLS], [SEP], [PAD])`` ids, as the tokenizer's ``assemble_arrays`` writes
        them."""
        if self._special_ids is None:
            empty = np.zeros(0, dtype=np.int64)
            ids = self.tokenizer.assemble_arrays(empty, empty, max_length=3)['input_ids']
            self._special_ids = tuple(int(i) for i in ids)
        return self._special_ids

    def _blocks_from_cache(self, parts: tuple) -> Tuple[np.ndarray, np.ndarray]:
        """The token rows (:data:`TOKEN_KEYS`) and word rows (:data:`WORD_KEYS`) of a
        cached record, written straight into two int64 blocks.

        The same values as the general path of :meth:`transform` (the tokenizer's
        ``assemble_arrays`` on the cached pieces, then the per-token and per-word
        lookups), without its intermediate arrays: this runs once per sample.
        """
        ids, counts, sentences, flags = parts
        cls_id, sep_id, pad_id = self.special_ids
        length, count = self.max_length, min(len(ids), self.max_length - 2)
        piece_words = np.repeat(np.arange(len(counts)), counts)[:count]
        tokens = np.empty((len(TOKEN_KEYS), length), dtype=np.int64)
        tokens[0] = pad_id
        tokens[0, 0], tokens[0, count + 1] = cls_id, sep_id
        tokens[0, 1:count + 1] = ids[:count]
        tokens[1] = 0
        tokens[1, :count + 2] = 1
        tokens[2:] = _TOKEN_ROW_FILL
        tokens[2, 1:count + 1] = piece_words
        tokens[3, 1:count + 1] = flags[piece_words] & 1
        tokens[4, 1:count + 1] = sentences[piece_words]

        # A word keeps its rows when at least one of its pieces is within max_length.
        num = min(len(counts), self.max_words)
        if count == len(ids):
            kept = counts[:num] > 0
        else:
            kept = np.zeros(len(counts), dtype=bool)
            kept[piece_words] = True
            kept = kept[:num]
        words = np.zeros((len(WORD_KEYS), self.max_words), dtype=np.int64)
        words[1] = -1
        kept_flags = np.where(kept, flags[:num], 0)
        words[0, :num] = kept_flags & 1
        words[1, :num] = np.where(kept, sentences[:num], -1)
        words[2, :num] = (kept_flags >> 1) & 1
        words[3, :num] = (kept_flags >> 2) & 1
        return tokens, words

    def _encode(self, words: Sequence[str]) -> dict:
        """``input_ids``, ``attention_mask`` and ``word_ids`` as int64 arrays.

        Uses the tokenizer's array path (``encode_words_array``, no Python loop over the
        words) when it has one, else its ``encode_words`` lists.
        """
        tokenizer = self.tokenizer
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

    def _blocks_from_words(self, results: dict) -> Tuple[np.ndarray, np.ndarray]:
        """:meth:`_blocks_from_cache` for a record without the cache: tokenizes its
        words and looks its MeSH matches up."""
        words, word_sentences, word_keyword, word_negated, word_uncertain = \
            self._word_arrays(results)
        encoded = self._encode(words)
        word_ids = encoded['word_ids']
        is_word = word_ids >= 0
        safe_ids = np.where(is_word, word_ids, 0)
        if len(words):
            keyword_mask = np.where(is_word, word_keyword[safe_ids], 0)
            token_sentences = np.where(is_word, word_sentences[safe_ids], -1)
        else:
            keyword_mask = np.zeros_like(word_ids)
            token_sentences = np.full_like(word_ids, -1)
        tokens = np.stack([encoded['input_ids'], encoded['attention_mask'], word_ids,
                           keyword_mask, token_sentences]).astype(np.int64, copy=False)
        # Words cut off by max_length have no token, so no feature and no attention: they
        # must not count as keywords or sentence words either.
        kept = np.zeros(len(words), dtype=bool)
        kept[word_ids[is_word]] = True
        words = np.stack([
            pad_to(np.where(kept, word_keyword, 0), self.max_words, 0),
            pad_to(np.where(kept, word_sentences, -1), self.max_words, -1),
            pad_to(np.where(kept, word_negated, 0), self.max_words, 0),
            pad_to(np.where(kept, word_uncertain, 0), self.max_words, 0)])
        return tokens, words

    def transform(self, results: dict) -> dict:
        """Add the token and word arrays listed in the class docstring.

        The arrays are the rows of two blocks (one ``(5, max_length)``, one
        ``(4, max_words)``), left in ``results['_text_blocks']``, which
        :class:`PackImageReportInputs` turns into tensors without a copy.
        """
        self._check_fields(results)
        parts = self._cached_parts(results)
        if parts is None:
            tokens, words = self._blocks_from_words(results)
        else:
            tokens, words = self._blocks_from_cache(parts)
        blocks = []
        for keys, block in ((TOKEN_KEYS, tokens), (WORD_KEYS, words)):
            rows = tuple(block)
            results.update(zip(keys, rows))
            blocks.append((keys, block, rows))
        results[TEXT_BLOCKS_KEY] = tuple(blocks)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(tokenizer={self.tokenizer_cfg}, '
                f'max_length={self.max_length}, max_words={self.max_words}, '
                f'use_negated={self.use_negated}, use_uncertain={self.use_uncertain}, '
                f'drop_punctuation={self.drop_punctuation})')
