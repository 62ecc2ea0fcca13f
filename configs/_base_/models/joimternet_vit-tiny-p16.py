# JoImTeRNet-style image-report model, tiny for CPU demos: a 4-layer ViT image encoder,
# a 2-layer BERT text encoder, region-word alignment in a 64-d space, and MLM.
embed_dim = 64  # the shared image-text space
model = dict(
    type='JoImTeRNet',
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch=dict(embed_dims=96, num_layers=4, num_heads=3, feedforward_channels=192),
        img_size=96,
        patch_size=16,
        out_type='raw',
        with_cls_token=True,
        final_norm=True),
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=96,
        num_layers=2,
        num_heads=3,
        max_position_embeddings=128,
        max_words=64),
    img_neck=dict(type='ImageRegionNeck', in_channels=96, out_channels=embed_dim),
    text_neck=dict(type='TextWordNeck', in_channels=96, out_channels=embed_dim),
    head=dict(
        type='RegionWordAlignmentHead',
        gamma1=4.0,
        gamma2=5.0,
        gamma3=10.0,
        triplet_loss=dict(type='BidirectionalRankingLoss', margin=0.2, negative='hardest'),
        loss_weights=dict(global_ce=1.0, local_ce=1.0, global_triplet=2.0,
                          local_triplet=2.0)),
    mlm_head=dict(type='MaskedLanguageModelingHead'),
    mlm_mask_prob=0.15,
    task_weights=dict(matching=1.0, mlm=1.0))
