# JoImTeRNet-style image-report model at full size: ViT-B/16 image encoder (224 px),
# a 6-layer BERT-base-width text encoder on the MIMIC WordPiece vocabulary, alignment in a
# 256-d space, and MLM.
embed_dim = 256
model = dict(
    type='JoImTeRNet',
    # ImageNet statistics (the algorithm's default); CXRDataPreprocessor also takes the
    # MIMIC loaders' one-channel batches and repeats them to 3 on the GPU
    data_preprocessor=dict(type='CXRDataPreprocessor', mean=[123.675, 116.28, 103.53],
                           std=[58.395, 57.12, 57.375], to_rgb=True),
    tokenizer=dict(type='WordPieceTokenizer'),
    backbone=dict(
        type='mmpretrain.VisionTransformer',
        arch='b',
        img_size=224,
        patch_size=16,
        out_type='raw',
        with_cls_token=True,
        final_norm=True,
        drop_path_rate=0.1),
    text_encoder=dict(
        type='BertTextEncoder',
        hidden_size=768,
        num_layers=6,
        num_heads=12,
        max_position_embeddings=512,
        max_words=128),
    img_neck=dict(type='ImageRegionNeck', in_channels=768, out_channels=embed_dim),
    text_neck=dict(type='TextWordNeck', in_channels=768, out_channels=embed_dim),
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
    # JoImTeRNet spent ~30% of its steps on matching and ~70% on MLM.
    task_weights=dict(matching=0.3, mlm=0.7))
