# Copyright (c) medvlp contributors. All rights reserved.
import pytest
import torch

from medvlp.models import BertTextEncoder, pool_words
from medvlp.registry import MODELS

TINY = dict(vocab_size=50, hidden_size=16, num_layers=1, num_heads=2, max_words=4,
            max_position_embeddings=32)


def test_pool_words_averages_pieces_and_skips_special_tokens():
    feats = torch.arange(6, dtype=torch.float32).reshape(1, 6, 1)   # token t has value t
    word_ids = torch.tensor([[-1, 0, 0, 1, -1, -1]])                # [CLS] w0 w0 w1 [SEP] pad
    out = pool_words(feats, word_ids, max_words=3)
    assert out['word_feats'][0, :, 0].tolist() == [1.5, 3.0, 0.0]
    assert out['word_mask'].tolist() == [[True, True, False]]


def test_forward_shapes_and_padding_invariance():
    torch.manual_seed(0)
    encoder = MODELS.build(dict(type='BertTextEncoder', dropout=0.0, **TINY)).eval()
    ids = torch.tensor([[2, 7, 8, 9, 30, 0, 0]])
    mask = (ids != 0).long()
    word_ids = torch.tensor([[-1, 0, 0, 1, -1, -1, -1]])
    out = encoder(ids, mask, word_ids)
    assert out['token_feats'].shape == (1, 7, 16) and out['report_feat'].shape == (1, 16)
    assert out['word_feats'].shape == (1, 4, 16)
    assert out['word_mask'].tolist() == [[True, True, False, False]]
    # changing padding ids does not change real words' features
    ids2 = ids.clone()
    ids2[0, 5:] = 11
    out2 = encoder(ids2, mask, word_ids)
    torch.testing.assert_close(out['word_feats'], out2['word_feats'])


def test_loads_a_local_pretrained_folder_and_never_a_hub(tmp_path):
    from transformers import BertConfig, BertModel
    torch.manual_seed(1)
    source = BertModel(BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1,
                                  num_attention_heads=2, intermediate_size=32),
                       add_pooling_layer=False)
    source.save_pretrained(tmp_path / 'bert')
    encoder = BertTextEncoder(pretrained=str(tmp_path / 'bert'), max_words=8)
    assert encoder.hidden_size == 16
    for key, value in source.state_dict().items():
        torch.testing.assert_close(encoder.bert.state_dict()[key], value)
    with pytest.raises(FileNotFoundError, match='has no config.json.*never a hub'):
        BertTextEncoder(pretrained='bert-base-uncased')
