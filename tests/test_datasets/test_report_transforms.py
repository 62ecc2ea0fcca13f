# Copyright (c) medvlp contributors. All rights reserved.
"""TokenizeReport and PackImageReportInputs, alone and batched by a DataLoader."""
import pickle

import numpy as np
import pytest
import torch
from mmengine.dataset import default_collate, pseudo_collate
from mmpretrain.structures import DataSample

from medvlp.datasets.transforms import (PackImageReportInputs, TokenizeReport,
                                        keyword_flags,
                                        stack_data_sample_fields)
from medvlp.datasets.transforms.formatting import block_of_rows
from medvlp.datasets.transforms.text import TEXT_BLOCKS_KEY
from medvlp.registry import TRANSFORMS

TEXT_KEYS = ('input_ids', 'attention_mask', 'word_ids', 'keyword_mask', 'sentence_ids')
WORD_KEYS = ('word_keyword', 'word_sentence_ids', 'word_negated', 'word_uncertain')


def record_from_text(text_module, text):
    record = dict(img_path='x.png', study_id='s1')
    record.update(text_module.ReportProcessor().process_report(text))
    return record


def toy_record():
    words = ['Mild', 'cardiomegaly', '.', 'No', 'pneumothorax', '.']
    return dict(
        img_path='x.png', words=words, sentence_ids=[0, 0, 0, 1, 1, 1],
        report='Mild cardiomegaly. No pneumothorax.',
        sentences=['Mild cardiomegaly.', 'No pneumothorax.'],
        mesh=[dict(term='Cardiomegaly', mesh_id='D006332', start_word=1, end_word=2,
                   negated=False),
              dict(term='Pneumothorax', mesh_id='D011030', start_word=4, end_word=5,
                   negated=True)])


def test_keyword_flags():
    mesh = toy_record()['mesh']
    assert keyword_flags(6, mesh).tolist() == [0, 1, 0, 0, 1, 0]
    assert keyword_flags(6, mesh, use_negated=False).tolist() == [0, 1, 0, 0, 0, 0]
    assert keyword_flags(3, [dict(start_word=2, end_word=9)]).tolist() == [0, 0, 1]


def test_tokenize_arrays_line_up_with_words(text_module):
    out = TokenizeReport(max_length=32, max_words=8)(toy_record())
    for key in TEXT_KEYS:
        assert out[key].shape == (32, ) and out[key].dtype == np.int64, key
    for key in WORD_KEYS:
        assert out[key].shape == (8, ) and out[key].dtype == np.int64, key
    tokenizer = text_module.WordPieceTokenizer()
    ids, word_ids, n = out['input_ids'], out['word_ids'], int(out['attention_mask'].sum())
    assert ids[0] == tokenizer.cls_token_id and ids[n - 1] == tokenizer.sep_token_id
    assert (ids[n:] == tokenizer.pad_token_id).all() and (word_ids[n:] == -1).all()
    assert word_ids[0] == -1 and word_ids[n - 1] == -1
    words = set(word_ids[1:n - 1].tolist())
    assert words == set(range(6))
    # tokens of 'cardiomegaly' (word 1) and 'pneumothorax' (word 4) are keywords
    expected = np.isin(word_ids, [1, 4]).astype(np.int64)
    np.testing.assert_array_equal(out['keyword_mask'], expected)
    np.testing.assert_array_equal(
        out['sentence_ids'], np.where(word_ids >= 0, np.array([0, 0, 0, 1, 1, 1])[word_ids], -1))
    assert out['word_keyword'].tolist() == [0, 1, 0, 0, 1, 0, 0, 0]
    assert out['word_sentence_ids'].tolist() == [0, 0, 0, 1, 1, 1, -1, -1]


def test_words_truncated_by_max_length_are_no_keywords_or_sentence_words(text_module):
    """With room for 3 word tokens only, words 3-5 have no features: flag them out."""
    out = TokenizeReport(max_length=5, max_words=8)(toy_record())
    kept = sorted(set(out['word_ids'][out['word_ids'] >= 0].tolist()))
    assert kept == [0, 1, 2]
    assert out['word_keyword'].tolist() == [0, 1, 0, 0, 0, 0, 0, 0]
    assert out['word_sentence_ids'].tolist() == [0, 0, 0, -1, -1, -1, -1, -1]


def test_use_negated_false_drops_negated_keywords(text_module):
    out = TokenizeReport(max_length=32, use_negated=False)(toy_record())
    flagged = set(out['word_ids'][out['keyword_mask'] == 1].tolist())
    assert flagged == {1}


def test_real_report_and_registry_build(text_module, shared_data):
    import json
    with open(shared_data / 'openi' / 'openi_reports.jsonl', encoding='utf-8') as f:
        report = json.loads(f.readline())
    text = f"FINDINGS: {report['findings']}\n\nIMPRESSION: {report['impression']}"
    record = record_from_text(text_module, text)
    transform = TRANSFORMS.build(dict(type='TokenizeReport', max_length=64))
    out = transform(dict(record))
    n = int(out['attention_mask'].sum())
    assert 2 < n <= 64
    matched_words = set()
    for match in record['mesh']:
        matched_words.update(range(match['start_word'], match['end_word']))
    token_words = set(out['word_ids'][out['keyword_mask'] == 1].tolist())
    visible = set(out['word_ids'][out['word_ids'] >= 0].tolist())
    assert token_words == matched_words & visible
    assert pickle.loads(pickle.dumps(transform))._tokenizer is None  # rebuilt per worker


def test_missing_words_is_a_clear_key_error():
    with pytest.raises(KeyError, match=r"no \['words', 'sentence_ids'\].*prepare_mimic_cxr"):
        TokenizeReport()(dict(img_path='a.png', report='No effusion.'))


def test_inconsistent_fields_raise():
    record = toy_record()
    record['sentence_ids'] = [0]
    with pytest.raises(ValueError, match='6 words but 1 sentence_ids'):
        TokenizeReport()(record)


def test_pack_sets_tensors_label_and_meta(text_module):
    results = TokenizeReport(max_length=16)(toy_record())
    results.update(img=np.zeros((8, 6, 3), np.uint8), gt_label=[2, 5], sample_idx=3,
                   uncertain_label=[1], img_shape=(8, 6), sections={'impression': 'x'})
    packed = PackImageReportInputs(algorithm_keys=('uncertain_label', ))(results)
    assert packed['inputs'].shape == (3, 8, 6)
    sample = packed['data_samples']
    assert isinstance(sample, DataSample)
    assert sample.gt_label.tolist() == [2, 5]
    assert sample.input_ids.shape == (16, ) and sample.input_ids.dtype == torch.int64
    assert sample.word_keyword.shape == (16, )
    assert sample.uncertain_label == [1]
    assert sample.metainfo['report'] == 'Mild cardiomegaly. No pneumothorax.'
    assert sample.metainfo['sentences'] == ['Mild cardiomegaly.', 'No pneumothorax.']
    assert sample.metainfo['img_path'] == 'x.png' and sample.metainfo['sample_idx'] == 3
    assert 'input_ids' not in sample.metainfo
    only_ids = PackImageReportInputs(text_keys=('input_ids', ), meta_keys=())(results)
    assert 'attention_mask' not in only_ids['data_samples']


@pytest.mark.parametrize('collate', [default_collate, pseudo_collate])
def test_batches_stack(text_module, collate):
    tokenize, pack = TokenizeReport(max_length=24), PackImageReportInputs()
    samples = []
    for i in range(3):
        record = toy_record()
        record['words'] = record['words'][:6 - i]
        record['sentence_ids'] = record['sentence_ids'][:6 - i]
        record.update(img=np.full((10, 10, 3), i, np.uint8), gt_label=[i])
        samples.append(pack(tokenize(record)))
    batch = collate(samples)
    assert len(batch['data_samples']) == 3
    if collate is default_collate:
        assert batch['inputs'].shape == (3, 3, 10, 10)
    stacked = stack_data_sample_fields(batch['data_samples'])
    assert set(stacked) == set(TEXT_KEYS + WORD_KEYS)
    assert all(v.shape == (3, 24) for v in stacked.values())
    assert stacked['attention_mask'].sum(1).tolist()[0] > stacked['attention_mask'].sum(1)[2]
    bad = DataSample()
    bad.set_field(torch.zeros(5, dtype=torch.long), 'input_ids')
    with pytest.raises(ValueError, match='max_length'):
        stack_data_sample_fields(list(batch['data_samples']) + [bad], keys=('input_ids', ))


# ------------------------------------------- fast paths equal the plain ones on real text
def _openi_records(text_module, shared_data, count=300):
    import json
    processor = text_module.ReportProcessor()
    records = []
    with open(shared_data / 'openi' / 'openi_reports.jsonl', encoding='utf-8') as f:
        for line in f:
            row = json.loads(line)
            sections = {k: row.get(k) for k in ('findings', 'impression') if row.get(k)}
            if sections:
                record = dict(img_path=f'{len(records)}.png')
                record.update(processor.process_sections(sections))
                records.append(record)
            if len(records) >= count:
                break
    return records


class _ListOnlyTokenizer:
    """The shipped tokenizer seen through ``encode_words`` only (lists, no arrays)."""

    def __init__(self, tokenizer):
        self.encode_words = tokenizer.encode_words


@pytest.mark.parametrize('kwargs', [
    dict(max_length=128), dict(max_length=12, max_words=6),
    dict(max_length=40, drop_punctuation=True, use_negated=False, use_uncertain=False)])
def test_tokenize_array_path_equals_list_path_on_openi(text_module, shared_data, kwargs):
    """TokenizeReport's numpy path gives the arrays of the encode_words list path."""
    records = _openi_records(text_module, shared_data)
    fast = TokenizeReport(**kwargs)
    plain = TokenizeReport(**kwargs)
    plain._tokenizer = _ListOnlyTokenizer(fast.tokenizer)
    for record in records:
        a, b = fast(dict(record)), plain(dict(record))
        for key in TEXT_KEYS + WORD_KEYS:
            assert a[key].dtype == b[key].dtype == np.int64, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_encode_words_array_equals_encode_words_on_openi(text_module, shared_data):
    records = _openi_records(text_module, shared_data, count=200)
    tokenizer = text_module.WordPieceTokenizer()
    for length in (2, 9, 64, 128):
        for record in records:
            lists = tokenizer.encode_words(record['words'], max_length=length)
            arrays = tokenizer.encode_words_array(record['words'], max_length=length)
            for key, value in lists.items():
                assert arrays[key].tolist() == value, (length, key)


def test_pack_shares_one_block_per_shape_and_keeps_values(text_module):
    record = TokenizeReport(max_length=16, max_words=8)(toy_record())
    expected = {key: record[key].copy() for key in TEXT_KEYS + WORD_KEYS}
    sample = PackImageReportInputs()(record)['data_samples']
    for key, value in expected.items():
        tensor = sample.get(key)
        assert tensor.dtype == torch.int64 and tensor.is_contiguous(), key
        np.testing.assert_array_equal(tensor.numpy(), value, err_msg=key)
    token_storages = {sample.get(k).untyped_storage().data_ptr() for k in TEXT_KEYS}
    word_storages = {sample.get(k).untyped_storage().data_ptr() for k in WORD_KEYS}
    assert len(token_storages) == 1 and len(word_storages) == 1
    sample.input_ids[0] = -7  # rows of one block, not aliases of each other
    assert sample.attention_mask[0] == expected['attention_mask'][0]


@pytest.mark.parametrize('cached', [False, True])
@pytest.mark.parametrize('max_words', [8, None])  # None: as many word rows as tokens
def test_tokenize_writes_two_blocks_that_pack_shares_without_copy(text_module, cached,
                                                                  max_words):
    transform = TokenizeReport(max_length=16, max_words=max_words)
    record = toy_record()
    if cached:
        transform.cache_record(record)
    out = transform(record)
    for keys, shape in ((TEXT_KEYS, (5, 16)), (WORD_KEYS, (4, max_words or 16))):
        block = block_of_rows([out[key] for key in keys])
        assert block is not None and block.shape == shape, keys
        for row, key in enumerate(keys):
            np.testing.assert_array_equal(block[row], out[key])
        sample = PackImageReportInputs()(dict(out))['data_samples']
        assert sample.get(keys[0]).data_ptr() == block.ctypes.data  # no copy


@pytest.mark.parametrize('cached', [False, True])
def test_pack_takes_the_blocks_tokenize_leaves_unless_a_row_was_replaced(text_module,
                                                                         cached):
    transform = TokenizeReport(max_length=16, max_words=8)
    record = toy_record()
    if cached:
        transform.cache_record(record)
    out = transform(record)
    (token_keys, tokens, _), (word_keys, words, _) = out[TEXT_BLOCKS_KEY]
    assert (token_keys, word_keys) == (TEXT_KEYS, WORD_KEYS)
    sample = PackImageReportInputs()(dict(out))['data_samples']
    assert sample.input_ids.data_ptr() == tokens.ctypes.data
    assert sample.word_keyword.data_ptr() == words.ctypes.data
    for key in TEXT_KEYS + WORD_KEYS:
        np.testing.assert_array_equal(sample.get(key).numpy(), out[key], err_msg=key)
    # a transform in between replaced one row: that block's arrays are packed as they
    # are now, the untouched block is still shared
    changed = dict(out, attention_mask=np.zeros(16, dtype=np.int64))
    sample = PackImageReportInputs()(changed)['data_samples']
    assert not sample.attention_mask.any()
    assert sample.input_ids.data_ptr() != tokens.ctypes.data
    np.testing.assert_array_equal(sample.input_ids.numpy(), out['input_ids'])
    assert sample.word_keyword.data_ptr() == words.ctypes.data
    # and a dropped field is not brought back from the block
    dropped = dict(out)
    del dropped['word_negated']
    sample = PackImageReportInputs()(dropped)['data_samples']
    assert 'word_negated' not in sample and 'word_uncertain' in sample


def test_block_of_rows_refuses_anything_but_all_rows_in_order():
    block = np.arange(12, dtype=np.int64).reshape(3, 4)
    np.testing.assert_array_equal(block_of_rows(list(block)), block)
    assert np.shares_memory(block_of_rows(list(block)), block)
    assert block_of_rows([block[0], block[2], block[1]]) is None
    assert block_of_rows(list(block[:2])) is None  # not every row: base has 3
    assert block_of_rows([row.copy() for row in block]) is None
    assert block_of_rows(list(np.asfortranarray(block))) is None
    # PackImageReportInputs stacks what is not one block, with the same values
    record = dict(input_ids=block[0].copy(), attention_mask=block[1].copy())
    sample = PackImageReportInputs(text_keys=('input_ids', 'attention_mask'))(
        record)['data_samples']
    np.testing.assert_array_equal(sample.attention_mask.numpy(), block[1])


@pytest.mark.parametrize('kwargs', [dict(), dict(max_length=12, max_words=6),
                                    dict(max_length=40, drop_punctuation=True)])
def test_cached_word_pieces_give_the_same_arrays_on_openi(text_module, shared_data, kwargs):
    records = _openi_records(text_module, shared_data, count=200) + [toy_record()]
    transform = TokenizeReport(**kwargs)
    for record in records:
        cached = dict(record)
        transform.cache_record(cached)
        assert isinstance(cached[transform.cache_field], bytes)
        a, b = transform(dict(record)), transform(cached)
        for key in TEXT_KEYS + WORD_KEYS:
            assert a[key].dtype == b[key].dtype == np.int64, key
            np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def test_token_cache_is_per_setting_and_ignored_when_words_change(text_module):
    plain, dropped = TokenizeReport(), TokenizeReport(drop_punctuation=True)
    assert plain.cache_field != dropped.cache_field
    assert plain.cache_field != TokenizeReport(use_negated=False).cache_field
    assert plain.cache_field == TokenizeReport(max_length=16).cache_field  # length-free
    record = toy_record()
    plain.cache_record(record)
    changed = dict(record, words=record['words'][:3], sentence_ids=[0, 0, 0], mesh=[])
    expected = plain(dict(changed, **{plain.cache_field: None}))
    np.testing.assert_array_equal(plain(changed)['input_ids'], expected['input_ids'])
    state = pickle.loads(pickle.dumps(plain))  # workers: no tokenizer, same cache field
    assert state._tokenizer is None and state.cache_field == plain.cache_field


def test_dataset_caches_word_pieces_at_load(text_module, tmp_path):
    import json

    from medvlp.datasets import ImageReportDataset
    ann = tmp_path / 'ann.jsonl'
    with open(ann, 'w') as f:
        f.write(json.dumps(dict(toy_record(), img_path='x.png')) + '\n')
    pipeline = [dict(type='TokenizeReport', max_length=16)]
    dataset = ImageReportDataset(ann_file=str(ann), on_missing='ignore', pipeline=pipeline)
    field = dataset.pipeline.transforms[0].cache_field
    assert field in dataset.get_data_info(0)
    reference = TokenizeReport(max_length=16)(toy_record())
    np.testing.assert_array_equal(dataset[0]['input_ids'], reference['input_ids'])
    bare = ImageReportDataset(ann_file=str(ann), on_missing='ignore')
    assert not any(key.startswith('_word_pieces_') for key in bare.get_data_info(0))
