# Copyright (c) medvlp contributors. All rights reserved.
"""A BERT-style report encoder with word-level pooling, built only from local files."""
import os.path as osp
from typing import Dict, Optional

import torch
from mmengine.model import BaseModule

from medvlp.registry import MODELS


def pool_words(token_feats: torch.Tensor, word_ids: torch.Tensor,
               max_words: int) -> Dict[str, torch.Tensor]:
    """Average word-piece features back into word features.

    Args:
        token_feats (torch.Tensor): ``[B, T, D]`` features of the word pieces.
        word_ids (torch.Tensor): ``[B, T]`` index of the word each token belongs to, -1 for
            special tokens and padding (they are never pooled).
        max_words (int): Number of word slots ``W`` in the output.

    Returns:
        dict: ``word_feats`` ``[B, W, D]`` (zeros for empty slots) and ``word_mask``
        ``[B, W]`` (True where the slot holds a word with at least one token).
    """
    slots = torch.arange(max_words, device=word_ids.device)
    assign = (word_ids[:, None, :] == slots[None, :, None]).to(token_feats.dtype)  # [B,W,T]
    counts = assign.sum(-1, keepdim=True)
    word_feats = assign @ token_feats / counts.clamp(min=1)
    return dict(word_feats=word_feats, word_mask=counts.squeeze(-1) > 0)


@MODELS.register_module()
class BertTextEncoder(BaseModule):
    """Encodes tokenised reports with an HF ``BertModel`` and pools words and the report.

    The model is built from a config with random weights (``pretrained=None``), or loaded
    from a local folder holding ``config.json`` and weights (``pretrained='path/to/bert'``,
    e.g. one shipped by a PyPI package or downloaded by the user beforehand). Nothing is
    fetched from a model hub.

    Args:
        vocab_size (int): Size of the tokenizer's vocabulary (ignored with ``pretrained``).
        hidden_size (int): Width. Defaults to 768.
        num_layers (int): Transformer layers. Defaults to 6.
        num_heads (int): Attention heads. Defaults to 12.
        intermediate_size (int): FFN width. Defaults to ``4 * hidden_size``.
        max_position_embeddings (int): Longest token sequence. Defaults to 512.
        pad_token_id (int): Padding id of the tokenizer. Defaults to 0.
        max_words (int): Word slots of the pooled output. Defaults to 128.
        pretrained (str, optional): Local folder of a pretrained BERT. Defaults to None.
        dropout (float): Hidden and attention dropout. Defaults to 0.1.
        attn_implementation (str): HF attention kernel, ``'sdpa'`` (torch's fused
            ``scaled_dot_product_attention``, default) or ``'eager'``.
        init_cfg (dict, optional): Initialisation config. Defaults to None.
    """

    def __init__(self,
                 vocab_size: int = 30522,
                 hidden_size: int = 768,
                 num_layers: int = 6,
                 num_heads: int = 12,
                 intermediate_size: Optional[int] = None,
                 max_position_embeddings: int = 512,
                 pad_token_id: int = 0,
                 max_words: int = 128,
                 pretrained: Optional[str] = None,
                 dropout: float = 0.1,
                 attn_implementation: str = 'sdpa',
                 init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        from transformers import BertConfig, BertModel
        if pretrained is not None:
            if not osp.isfile(osp.join(pretrained, 'config.json')):
                raise FileNotFoundError(
                    f'pretrained text encoder folder "{pretrained}" has no config.json; '
                    'medvlp loads BERT weights only from local folders, never a hub')
            self.bert = BertModel.from_pretrained(
                pretrained, local_files_only=True, add_pooling_layer=False,
                attn_implementation=attn_implementation)
        else:
            config = BertConfig(
                vocab_size=vocab_size,
                hidden_size=hidden_size,
                num_hidden_layers=num_layers,
                num_attention_heads=num_heads,
                intermediate_size=intermediate_size or 4 * hidden_size,
                max_position_embeddings=max_position_embeddings,
                pad_token_id=pad_token_id,
                hidden_dropout_prob=dropout,
                attention_probs_dropout_prob=dropout,
                attn_implementation=attn_implementation)
            self.bert = BertModel(config, add_pooling_layer=False)
        self.max_words = max_words

    @property
    def hidden_size(self) -> int:
        return self.bert.config.hidden_size

    def forward(self,
                input_ids: torch.Tensor,
                attention_mask: torch.Tensor,
                word_ids: Optional[torch.Tensor] = None,
                extra_embeds: Optional[torch.Tensor] = None) -> Dict[str, torch.Tensor]:
        """
        Args:
            input_ids (torch.Tensor): ``[B, T]`` token ids.
            attention_mask (torch.Tensor): ``[B, T]`` 1 for real tokens, 0 for padding.
            word_ids (torch.Tensor, optional): ``[B, T]`` token -> word index (-1 for
                special tokens and padding); without it no word features are returned.
            extra_embeds (torch.Tensor, optional): Added to the output of BERT's embedding
                layer (word + position + type embeddings after their LayerNorm and
                dropout), before the first transformer layer: ``[B, D]`` (one vector for
                every token of a report), or anything broadcastable to ``[B, T, D]``. This
                is how MRM feeds image information into the report. Defaults to None.

        Returns:
            dict: ``token_feats`` ``[B, T, D]``, ``report_feat`` ``[B, D]`` (the [CLS]
            token), and with ``word_ids`` also ``word_feats`` ``[B, W, D]`` and
            ``word_mask`` ``[B, W]``.
        """
        if extra_embeds is None:
            token_feats = self._bert(input_ids, attention_mask)
        else:
            token_feats = self._forward_with_extra_embeds(input_ids, attention_mask,
                                                          extra_embeds)
        out = dict(token_feats=token_feats, report_feat=token_feats[:, 0])
        if word_ids is not None:
            out.update(pool_words(token_feats, word_ids, self.max_words))
        return out

    def _forward_with_extra_embeds(self, input_ids: torch.Tensor,
                                   attention_mask: torch.Tensor,
                                   extra_embeds: torch.Tensor) -> torch.Tensor:
        """Run BERT with ``extra_embeds`` added to its embedding output.

        ``BertModel`` has no argument for this (``inputs_embeds`` replaces the word
        embeddings before the LayerNorm), so a forward hook on the embedding layer adds the
        tensor for this one call.
        """
        if extra_embeds.size(-1) != self.hidden_size:
            raise ValueError(f'extra_embeds must have {self.hidden_size} channels (the text '
                             f'encoder width), got shape {tuple(extra_embeds.shape)}')
        if extra_embeds.dim() == 2:
            extra_embeds = extra_embeds[:, None]  # [B, D] -> [B, 1, D], one per report

        def add_extra(module, args, output):
            return output + extra_embeds

        handle = self.bert.embeddings.register_forward_hook(add_extra)
        try:
            return self._bert(input_ids, attention_mask)
        finally:
            handle.remove()

    def _bert(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``last_hidden_state`` of BERT, without a host sync on the padding mask.

        Given a ``[B, T]`` mask, HF's SDPA path asks the GPU whether every token is real
        (``torch.all(mask == 1)``) to drop the mask, which blocks the host once per call. A
        ``[B, T, T]`` mask (every query sees the same keys) takes the path that only
        reshapes it, with the same result.
        """
        if attention_mask.dim() == 2:
            seq_len = attention_mask.size(1)
            attention_mask = attention_mask[:, None, :].expand(-1, seq_len, -1)
        return self.bert(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state
