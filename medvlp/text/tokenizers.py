# Copyright (c) medvlp contributors. All rights reserved.
"""WordPiece tokenisation of pre-split report words with Hugging Face ``tokenizers``.

The tokenizer is built only from local files; nothing is fetched from the Hugging Face hub.
The default is the shipped ``resources/mimic_wordpiece.json`` (MRM's MIMIC-CXR WordPiece
vocabulary, MIT, see ``resources/ATTRIBUTION.md``). That file has ``[PAD]``=0, ``[UNK]``=1,
``[CLS]``=2 and ``[MASK]``=3 but no ``[SEP]``: a missing ``[SEP]`` is added as a special token
after the vocabulary (id 30000 for the default file, so ``vocab_size`` is 30001).

Every sequence is ``[CLS] word-pieces... [SEP]``, truncated so that the final ``[SEP]`` is
kept, and padded with ``[PAD]`` to ``max_length``. ``word_ids`` maps every position to the
index of the input word it came from and is -1 for ``[CLS]``, ``[SEP]`` and padding, so word
level annotations (MeSH matches, sentence ids) can be carried over to tokens.

Words are tokenised by the Hugging Face (Rust) tokenizer one word at a time, exactly as with
``is_pretokenized=True``, and the word pieces are cached per word; a sequence is then assembled
from the cache. The result is identical to ``tokenizer.encode(words, is_pretokenized=True)``
with truncation and padding to ``max_length``, about ten times faster on report text.
"""
import json
import os.path as osp
from itertools import chain
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np
from tokenizers import AddedToken, Tokenizer, decoders, normalizers, processors

from medvlp.registry import TOKENIZERS
from .resources import WORDPIECE_FILE, resource_path

PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, SEP_TOKEN, MASK_TOKEN = (
    '[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')
#: Special tokens the tokenizer file must define ([SEP] is added when missing).
REQUIRED_TOKENS = (PAD_TOKEN, UNK_TOKEN, CLS_TOKEN, MASK_TOKEN)
#: Name of the file inside a tokenizer folder (what train_tokenizer.py writes).
TOKENIZER_JSON = 'tokenizer.json'


def resolve_tokenizer_file(tokenizer_file: Optional[str] = None) -> str:
    """Path of the tokenizer JSON: the shipped default, a file, or ``<folder>/tokenizer.json``.

    Raises:
        FileNotFoundError: If the file (or the folder's ``tokenizer.json``) does not exist.
    """
    path = tokenizer_file or resource_path(WORDPIECE_FILE)
    if osp.isdir(path):
        path = osp.join(path, TOKENIZER_JSON)
    if not osp.isfile(path):
        raise FileNotFoundError(f'tokenizer file not found: {path} (give a tokenizer JSON file '
                                f'or a folder containing {TOKENIZER_JSON})')
    return path


def _lowercases(config: Any) -> bool:
    """Whether a serialised normaliser lower-cases its input."""
    if isinstance(config, dict):
        if config.get('type') == 'Lowercase':
            return True
        if config.get('type') == 'BertNormalizer' and config.get('lowercase'):
            return True
        return any(_lowercases(value) for value in config.values())
    if isinstance(config, list):
        return any(_lowercases(value) for value in config)
    return False


def _piece_word_ids(pieces: Sequence[Tuple[int, ...]], n_pieces: int) -> Sequence[int]:
    """The word index of every piece: ``[index for index, ids in enumerate(pieces) for _ in
    ids]``, as a ``range`` when every word is one piece (most report words are)."""
    if n_pieces == len(pieces) and max(map(len, pieces), default=1) == 1:
        return range(n_pieces)  # as many pieces as words, none with two: one each
    return [index for index, ids in enumerate(pieces) for _ in ids]


@TOKENIZERS.register_module()
class WordPieceTokenizer:
    """Fast WordPiece tokenizer for word lists, with word alignment.

    Args:
        tokenizer_file (str, optional): A ``tokenizers`` JSON file, or a folder containing
            ``tokenizer.json`` (as written by ``tools/dataset_converters/train_tokenizer.py``).
            Defaults to the shipped MIMIC-CXR WordPiece vocabulary.
        max_length (int): Default sequence length, ``[CLS]`` and ``[SEP]`` included. Sequences
            are truncated and padded to it. Defaults to 128.
        lowercase (bool): Lower-case words before WordPiece. When True and the file's normaliser
            does not lower-case, a ``Lowercase`` normaliser is put in front of it; when False
            the file's normaliser is used unchanged (the shipped file lower-cases itself).
            Defaults to True.

    Raises:
        FileNotFoundError: If the tokenizer file does not exist.
        ValueError: If the file lacks one of ``[PAD]``, ``[UNK]``, ``[CLS]``, ``[MASK]``, or
            ``max_length`` < 2.
    """

    def __init__(self, tokenizer_file: Optional[str] = None, max_length: int = 128,
                 lowercase: bool = True):
        self.tokenizer_file = resolve_tokenizer_file(tokenizer_file)
        self.lowercase = lowercase
        tokenizer = Tokenizer.from_file(self.tokenizer_file)
        for token in REQUIRED_TOKENS:
            if tokenizer.token_to_id(token) is None:
                raise ValueError(f'tokenizer {self.tokenizer_file} has no {token} token')
        if tokenizer.token_to_id(SEP_TOKEN) is None:
            tokenizer.add_special_tokens([AddedToken(SEP_TOKEN, special=True)])
        config = json.loads(tokenizer.to_str())
        if lowercase and not _lowercases(config.get('normalizer')):
            steps = [normalizers.Lowercase()]
            if tokenizer.normalizer is not None:
                steps.append(tokenizer.normalizer)
            tokenizer.normalizer = normalizers.Sequence(steps)
        cls_id, sep_id = tokenizer.token_to_id(CLS_TOKEN), tokenizer.token_to_id(SEP_TOKEN)
        tokenizer.post_processor = processors.TemplateProcessing(
            single=f'{CLS_TOKEN} $A {SEP_TOKEN}',
            pair=f'{CLS_TOKEN} $A {SEP_TOKEN} $B:1 {SEP_TOKEN}:1',
            special_tokens=[(CLS_TOKEN, cls_id), (SEP_TOKEN, sep_id)])
        tokenizer.decoder = decoders.WordPiece(prefix='##')
        tokenizer.no_padding()
        tokenizer.no_truncation()
        self._config_json = tokenizer.to_str()
        self._tokenizer = tokenizer
        self._cls_id, self._sep_id = cls_id, sep_id
        self._pad_id = tokenizer.token_to_id(PAD_TOKEN)
        self._piece_cache: Dict[str, Tuple[int, ...]] = {}
        #: The id of every cached word that is exactly one piece (most report words): a
        #: report made of such words is assembled from a list of ids, without piece tuples.
        self._single_ids: Dict[str, int] = {}
        self._cache_size = 1 << 20
        #: Per sequence length, the constant lists the rows are sliced from
        #: (:meth:`_templates`).
        self._row_templates: Dict[int, Tuple[List[int], List[int], List[int], List[int]]] = {}
        self.max_length = self._check_length(max_length)

    @staticmethod
    def _check_length(max_length: int) -> int:
        if int(max_length) < 2:
            raise ValueError(f'max_length must be at least 2 ([CLS] and [SEP]), got {max_length}')
        return int(max_length)

    def _resolve_length(self, max_length: Optional[int]) -> int:
        """Validate ``max_length`` (default: ``self.max_length``)."""
        return self.max_length if max_length is None else self._check_length(max_length)

    def _word_pieces(self, words: Sequence[str]) -> List[Tuple[int, ...]]:
        """Token ids of every word, each word tokenised on its own (as ``is_pretokenized``).

        Results are cached per word: with pre-split words the WordPiece output of a word does
        not depend on its neighbours, and report vocabularies are small, so after warm-up a
        report costs dictionary look-ups only. Unknown words are tokenised in one batch.
        """
        self._cache_pieces(words)
        return list(map(self._piece_cache.__getitem__, words))

    def _cache_pieces(self, words: Sequence[str]) -> None:
        """Put the word pieces of every word of ``words`` into the cache."""
        cache = self._piece_cache
        missing = [word for word in dict.fromkeys(words) if word not in cache]
        if missing:
            if len(cache) + len(missing) > self._cache_size:
                cache.clear()  # then every word of this call is tokenised again
                self._single_ids.clear()
                missing = list(dict.fromkeys(words))
            encodings = self._tokenizer.encode_batch_fast(
                [[word] for word in missing], is_pretokenized=True, add_special_tokens=False)
            single = self._single_ids
            for word, encoding in zip(missing, encodings):
                ids = tuple(encoding.ids)
                cache[word] = ids
                if len(ids) == 1:
                    single[word] = ids[0]

    def _templates(self, length: int) -> Tuple[List[int], List[int], List[int], List[int]]:
        """The constant lists a row of ``length`` positions is sliced from.

        Returns:
            Tuple: ``length`` ``[PAD]`` ids, ``length`` ones then ``length`` zeros (the
            attention mask of ``n`` real tokens is the slice of ``length`` items that starts
            at ``length - n``), ``[-1, 0, 1, ..., length - 3]`` (the word ids of ``[CLS]`` and
            of one-piece words) and ``length`` times -1.
        """
        templates = self._row_templates.get(length)
        if templates is None:
            templates = ([self._pad_id] * length, [1] * length + [0] * length,
                         list(range(-1, length - 2)), [-1] * length)
            self._row_templates[length] = templates
        return templates

    def _rows(self, ids: List[int], word_index: Optional[Sequence[int]],
              length: int) -> Dict[str, List[int]]:
        """``[CLS] ids [SEP] [PAD]...`` and its mask and word ids, truncated to ``length``.

        Args:
            ids (List[int]): The word pieces of all words, in order (changed in place).
            word_index (Sequence[int], optional): The word of every piece; None when every
                word is one piece (the piece index is the word index).
            length (int): The row length (at least 2).
        """
        pads, mask, one_piece_words, negatives = self._templates(length)
        limit = length - 2  # room for [CLS] and [SEP]; a word may lose its last pieces
        if len(ids) > limit:
            del ids[limit:]
        count = len(ids)
        n_pad = limit - count
        input_ids = [self._cls_id, *ids, self._sep_id]
        input_ids += pads[:n_pad]
        if word_index is None:
            word_ids = one_piece_words[:count + 1]
        else:
            word_ids = [-1]
            word_ids += word_index[:count]
        word_ids += negatives[:n_pad + 1]
        return {'input_ids': input_ids, 'attention_mask': mask[n_pad:n_pad + length],
                'word_ids': word_ids}

    def _assemble(self, pieces: List[Tuple[int, ...]], length: int) -> Dict[str, List[int]]:
        """``[CLS] pieces [SEP] [PAD]...``, truncated to ``length`` with the final [SEP] kept."""
        ids = list(chain.from_iterable(pieces))
        word_index = _piece_word_ids(pieces, len(ids))
        return self._rows(ids, None if isinstance(word_index, range) else word_index, length)

    def _one_piece_ids(self, words: Sequence[str]) -> Optional[List[int]]:
        """The ids of ``words`` when every one is a cached one-piece word, else None."""
        try:
            return list(map(self._single_ids.__getitem__, words))
        except KeyError:
            return None

    def encode_words(self, words: Sequence[str],
                     max_length: Optional[int] = None) -> Dict[str, List[int]]:
        """Tokenise one word list.

        Args:
            words (Sequence[str]): Words, e.g. a processed record's ``'words'``.
            max_length (int, optional): Overrides the default length for this call.

        Returns:
            Dict[str, List[int]]: ``input_ids``, ``attention_mask`` (1 for real tokens) and
            ``word_ids`` (word index per token, -1 for special tokens and padding), each of
            length ``max_length``.
        """
        length = self._resolve_length(max_length)
        ids = self._one_piece_ids(words)
        if ids is not None:
            return self._rows(ids, None, length)
        return self._assemble(self._word_pieces(words), length)

    def flat_word_pieces(self, words: Sequence[str]) -> Tuple[np.ndarray, np.ndarray]:
        """The word pieces of ``words`` in one flat array, and the word of every piece.

        Returns:
            Tuple[np.ndarray, np.ndarray]: int64 ``ids`` (every word's pieces in order,
            no special tokens, not truncated) and int64 ``piece_words`` (index of the word
            each piece belongs to), of the same length.
        """
        pieces = self._word_pieces(words)
        lengths = np.fromiter(map(len, pieces), dtype=np.int64, count=len(pieces))
        ids = np.fromiter(chain.from_iterable(pieces), dtype=np.int64,
                          count=int(lengths.sum()))
        return ids, np.repeat(np.arange(len(pieces), dtype=np.int64), lengths)

    def assemble_arrays(self, ids: np.ndarray, piece_words: np.ndarray,
                        max_length: Optional[int] = None) -> Dict[str, np.ndarray]:
        """:meth:`encode_words`'s output as int64 arrays, from :meth:`flat_word_pieces`.

        ``[CLS]`` and ``[SEP]`` around the first ``max_length - 2`` pieces (a word cut at
        the limit keeps its first pieces), then ``[PAD]``: the same values as
        :meth:`encode_words`, without a Python loop over the words.
        """
        length = self._resolve_length(max_length)
        count = min(len(ids), length - 2)
        input_ids = np.full(length, self._pad_id, dtype=np.int64)
        input_ids[0] = self._cls_id
        input_ids[1:count + 1] = ids[:count]
        input_ids[count + 1] = self._sep_id
        attention_mask = np.zeros(length, dtype=np.int64)
        attention_mask[:count + 2] = 1
        word_ids = np.full(length, -1, dtype=np.int64)
        word_ids[1:count + 1] = piece_words[:count]
        return {'input_ids': input_ids, 'attention_mask': attention_mask,
                'word_ids': word_ids}

    def encode_words_array(self, words: Sequence[str],
                           max_length: Optional[int] = None) -> Dict[str, np.ndarray]:
        """:meth:`encode_words` returning int64 numpy arrays (faster for long reports)."""
        return self.assemble_arrays(*self.flat_word_pieces(words), max_length)

    def encode_batch_words(self, batch: Sequence[Sequence[str]],
                           max_length: Optional[int] = None) -> Dict[str, List[List[int]]]:
        """Tokenise many word lists at once (new words are tokenised in one batch).

        Returns:
            Dict[str, List[List[int]]]: The three fields of :meth:`encode_words`, one list per
            input, all of length ``max_length``.
        """
        length = self._resolve_length(max_length)
        # most reports are made of cached one-piece words: their ids are the row
        rows = [self._one_piece_ids(words) for words in batch]
        others = [words for words, ids in zip(batch, rows) if ids is None]
        if others:
            self._cache_pieces(list(chain.from_iterable(others)))  # new words: one batch
        cache = self._piece_cache  # now holds every word of the batch
        input_ids, attention_mask, word_ids = [], [], []
        for words, ids in zip(batch, rows):
            if ids is not None:
                encoded = self._rows(ids, None, length)
            else:
                encoded = self._assemble(list(map(cache.__getitem__, words)), length)
            input_ids.append(encoded['input_ids'])
            attention_mask.append(encoded['attention_mask'])
            word_ids.append(encoded['word_ids'])
        return {'input_ids': input_ids, 'attention_mask': attention_mask, 'word_ids': word_ids}

    def decode(self, ids: Sequence[int], skip_special_tokens: bool = True) -> str:
        """Turn token ids back into text (word pieces are re-joined)."""
        return self._tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens)

    def convert_ids_to_tokens(self, ids: Sequence[int]) -> List[Optional[str]]:
        """The token string of every id."""
        return [self._tokenizer.id_to_token(index) for index in ids]

    @property
    def vocab_size(self) -> int:
        """Number of token ids, added special tokens included."""
        return self._tokenizer.get_vocab_size(with_added_tokens=True)

    @property
    def pad_token_id(self) -> int:
        return self._tokenizer.token_to_id(PAD_TOKEN)

    @property
    def unk_token_id(self) -> int:
        return self._tokenizer.token_to_id(UNK_TOKEN)

    @property
    def cls_token_id(self) -> int:
        return self._tokenizer.token_to_id(CLS_TOKEN)

    @property
    def sep_token_id(self) -> int:
        return self._tokenizer.token_to_id(SEP_TOKEN)

    @property
    def mask_token_id(self) -> int:
        return self._tokenizer.token_to_id(MASK_TOKEN)

    def to_transformers(self):
        """The same tokenizer as a ``transformers.PreTrainedTokenizerFast``.

        It adds ``[CLS]``/``[SEP]`` the same way; padding and truncation are chosen per call as
        usual in ``transformers`` (``model_max_length`` is ``max_length``).
        """
        from transformers import PreTrainedTokenizerFast
        return PreTrainedTokenizerFast(
            tokenizer_object=Tokenizer.from_str(self._config_json),
            unk_token=UNK_TOKEN, pad_token=PAD_TOKEN, cls_token=CLS_TOKEN, sep_token=SEP_TOKEN,
            mask_token=MASK_TOKEN, model_max_length=self.max_length)

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(tokenizer_file={self.tokenizer_file!r}, '
                f'max_length={self.max_length}, lowercase={self.lowercase}, '
                f'vocab_size={self.vocab_size})')


def build_tokenizer(cfg: dict):
    """Build a tokenizer from a config dict, e.g. ``dict(type='WordPieceTokenizer')``."""
    return TOKENIZERS.build(cfg)
