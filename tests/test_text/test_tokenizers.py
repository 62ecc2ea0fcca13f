# Copyright (c) medvlp contributors. All rights reserved.
"""WordPieceTokenizer: offline loading, special tokens, padding, truncation, word alignment."""
import json

import pytest
from tokenizers import Tokenizer, models

from medvlp.registry import TOKENIZERS
from medvlp.text import WordPieceTokenizer, build_tokenizer, clean_report_text, split_words
from medvlp.text.resources import WORDPIECE_FILE, resource_path
from .helpers import load_tool

WORDS = ['No', 'pneumo-thorax', 'or', 'pleural', 'effusions', '.', '___', '1.5cm']


def test_shipped_vocabulary_and_special_tokens(tokenizer):
    assert tokenizer.tokenizer_file == resource_path(WORDPIECE_FILE)
    assert (tokenizer.pad_token_id, tokenizer.unk_token_id, tokenizer.cls_token_id,
            tokenizer.mask_token_id) == (0, 1, 2, 3)
    # mimic_wordpiece.json has no [SEP]; it is added after the 30,000 entries.
    assert tokenizer.sep_token_id == 30000 and tokenizer.vocab_size == 30001
    with open(resource_path(WORDPIECE_FILE), encoding='utf-8') as f:
        assert '[SEP]' not in json.load(f)['model']['vocab']


def test_encode_words_layout(tokenizer):
    out = tokenizer.encode_words(WORDS, max_length=17)
    assert {key: len(value) for key, value in out.items()} == {
        'input_ids': 17, 'attention_mask': 17, 'word_ids': 17}
    assert tokenizer.convert_ids_to_tokens(out['input_ids'][:15]) == [
        '[CLS]', 'no', 'pneumo', '-', 'thorax', 'or', 'pleural', 'effusions', '.', '___', '1',
        '.', '5', 'cm', '[SEP]']
    assert out['word_ids'] == [-1, 0, 1, 1, 1, 2, 3, 4, 5, 6, 7, 7, 7, 7, -1, -1, -1]
    assert out['attention_mask'] == [1] * 15 + [0] * 2
    assert out['input_ids'][15:] == [tokenizer.pad_token_id] * 2


def test_truncation_keeps_final_sep(tokenizer):
    out = tokenizer.encode_words(WORDS, max_length=6)
    assert out['input_ids'][0] == tokenizer.cls_token_id
    assert out['input_ids'][-1] == tokenizer.sep_token_id
    assert out['word_ids'] == [-1, 0, 1, 1, 1, -1] and out['attention_mask'] == [1] * 6
    empty = tokenizer.encode_words([], max_length=4)
    assert empty == {'input_ids': [2, 30000, 0, 0], 'attention_mask': [1, 1, 0, 0],
                     'word_ids': [-1, -1, -1, -1]}
    assert len(tokenizer.encode_words(WORDS)['input_ids']) == 128
    with pytest.raises(ValueError, match='at least 2'):
        tokenizer.encode_words(WORDS, max_length=1)


def test_same_as_hugging_face_encode(tokenizer, openi_reports):
    """The per-word cache gives exactly what tokenizers' own pre-tokenized encode gives."""
    reference = Tokenizer.from_str(tokenizer._config_json)
    batch = [split_words(clean_report_text(r['findings'])) for r in openi_reports[:300]
             if r['findings']]
    for length in (8, 64):
        reference.enable_truncation(length)
        reference.enable_padding(length=length, pad_id=0, pad_token='[PAD]')
        columns = tokenizer.encode_batch_words(batch, max_length=length)
        for index, words in enumerate(batch):
            expected = reference.encode(words, is_pretokenized=True)
            single = tokenizer.encode_words(words, max_length=length)
            assert single['input_ids'] == columns['input_ids'][index] == expected.ids
            assert single['attention_mask'] == columns['attention_mask'][index]
            assert columns['attention_mask'][index] == expected.attention_mask
            assert single['word_ids'] == columns['word_ids'][index] == [
                -1 if w is None else w for w in expected.word_ids]


def test_to_transformers(tokenizer):
    fast = tokenizer.to_transformers()
    out = fast(WORDS, is_split_into_words=True, padding='max_length', truncation=True,
               max_length=16)
    assert out['input_ids'] == tokenizer.encode_words(WORDS, max_length=16)['input_ids']
    assert fast.sep_token_id == tokenizer.sep_token_id and fast.pad_token == '[PAD]'


def test_registry_and_build():
    built = build_tokenizer(dict(type='WordPieceTokenizer', max_length=16))
    assert isinstance(built, WordPieceTokenizer) and built.max_length == 16
    assert TOKENIZERS.get('WordPieceTokenizer') is WordPieceTokenizer


def test_missing_or_invalid_files(tmp_path):
    with pytest.raises(FileNotFoundError, match='missing.json'):
        WordPieceTokenizer(str(tmp_path / 'missing.json'))
    with pytest.raises(FileNotFoundError, match='tokenizer.json'):
        WordPieceTokenizer(str(tmp_path))
    no_cls = Tokenizer(models.WordPiece({'[PAD]': 0, '[UNK]': 1, '[MASK]': 2, 'a': 3},
                                        unk_token='[UNK]'))
    no_cls.save(str(tmp_path / 'tokenizer.json'))
    with pytest.raises(ValueError, match=r'no \[CLS\]'):
        WordPieceTokenizer(str(tmp_path))


def test_train_tokenizer_tool(openi_path, tmp_path, capsys):
    tool = load_tool('dataset_converters/train_tokenizer.py')
    out = tmp_path / 'openi_wordpiece'
    assert tool.main([str(openi_path), '--out', str(out), '--limit', '200',
                      '--vocab-size', '2000']) == 0
    assert 'trained on 200 reports' in capsys.readouterr().out
    trained = WordPieceTokenizer(str(out), max_length=12)
    assert trained.tokenizer_file == str(out / 'tokenizer.json')
    assert (trained.pad_token_id, trained.unk_token_id, trained.cls_token_id,
            trained.sep_token_id, trained.mask_token_id) == (0, 1, 2, 3, 4)
    encoded = trained.encode_words(['No', 'pleural', 'effusion', '.'])
    assert trained.convert_ids_to_tokens(encoded['input_ids'][:6]) == [
        '[CLS]', 'no', 'pleural', 'effusion', '.', '[SEP]']


def test_lowercase_option_on_a_cased_tokenizer(openi_path, tmp_path):
    tool = load_tool('dataset_converters/train_tokenizer.py')
    assert tool.main([str(openi_path), '--out', str(tmp_path), '--limit', '100',
                      '--vocab-size', '800', '--cased']) == 0
    cased = WordPieceTokenizer(str(tmp_path), max_length=8, lowercase=False)
    lowered = WordPieceTokenizer(str(tmp_path), max_length=8, lowercase=True)
    assert (cased.encode_words(['No'])['input_ids']
            != cased.encode_words(['no'])['input_ids'])
    assert (lowered.encode_words(['NO'])['input_ids']
            == lowered.encode_words(['no'])['input_ids'])


def test_train_tokenizer_tool_errors(tmp_path, capsys):
    tool = load_tool('dataset_converters/train_tokenizer.py')
    assert tool.main([str(tmp_path / 'nope.jsonl'), '--out', str(tmp_path)]) == 1
    assert 'corpus path not found' in capsys.readouterr().err
    assert tool.main([str(tmp_path), '--out', str(tmp_path), '--vocab-size', '3']) == 1


def test_word_cache_overflow_retokenises_the_whole_call(tokenizer):
    """A full cache is cleared and every word of the call tokenised again (none lost)."""
    from medvlp.text import WordPieceTokenizer
    small = WordPieceTokenizer()
    small._cache_size = 4
    small.encode_words(['no', 'pleural'])
    words = ['no', 'pleural', 'effusion', 'or', 'pneumothorax', '.']
    expected = tokenizer.encode_words(words, max_length=16)
    assert small.encode_words(words, max_length=16) == expected
    assert small.encode_batch_words([words, words[:3]], max_length=16)['input_ids'][0] == \
        expected['input_ids']


def test_one_piece_rows_equal_hugging_face_encode(openi_records):
    """Rows of one-piece-word reports (ids straight from the cache) and of the others
    (piece tuples), on a fresh tokenizer and again once every word is cached, equal
    tokenizers' own encode at every length, with zero- and many-piece words mixed in."""
    fresh = WordPieceTokenizer()
    reference = Tokenizer.from_str(fresh._config_json)
    batch = [record['words'] for record in list(openi_records.values())[:400]]
    batch += [[], ['\u0301'], ['no', '\u0301', 'effusion'], ['pneumo-thorax', '\u0301'],
              ['no'] * 200, WORDS * 30]
    assert not fresh._single_ids  # every word is new
    for length in (2, 3, 8, 128):
        reference.enable_truncation(length)
        reference.enable_padding(length=length, pad_id=0, pad_token='[PAD]')
        for _ in range(2):  # the first call tokenises the new words
            columns = fresh.encode_batch_words(batch, max_length=length)
            for index, words in enumerate(batch):
                expected = reference.encode(words, is_pretokenized=True)
                single = fresh.encode_words(words, max_length=length)
                assert single['input_ids'] == columns['input_ids'][index] == expected.ids
                assert single['attention_mask'] == columns['attention_mask'][index] == \
                    expected.attention_mask
                assert single['word_ids'] == columns['word_ids'][index] == [
                    -1 if w is None else w for w in expected.word_ids]
    one_piece = [words for words in batch if fresh._one_piece_ids(words) is not None]
    assert len(one_piece) > 300 and [] in one_piece and ['no'] * 200 in one_piece
    assert fresh._one_piece_ids(['\u0301']) is None  # zero pieces: not a one-piece word
