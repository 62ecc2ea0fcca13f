# MedIM's `official` preset options (YtongXie/MedIM's masking and reconstruction), as one
# variable that a MedIM config merges into its model (any size):
#   _base_ = ['./medim_vit-b-p16_8xb18-50e_mimic.py', '../_base_/models/medim_official.py']
#   model = {{_base_.medim_official}}
# (plus TokenizeReport(drop_punctuation=True) in the pipelines). Each difference from
# medvlp's defaults is one named option:
# - masks from softmax(cos(word, patch) / 0.1) (mask_temperature), not the head's gamma1;
# - median split by value threshold (ties go to the low half, so a report without a MeSH
#   word masks 10% random patches: 19 of 196) with truncated counts (88 + 9 = 97 of 196);
# - SDM: sentences with more than 3 words (min_sentence_words=4; punctuation is dropped by
#   the pipeline's TokenizeReport(drop_punctuation=True)), else any sentence;
# - masked features set to zero, MSE(tanh(decoder), image) over the whole image (5 and 5),
#   on images normalised to [-1, 1] (mean = std = 127.5);
# - the decoder convolves the raw patch features through 512/256/128/64 channels with
#   nearest upsampling and a 3x3 output convolution per mask (KWM, SDM);
# - the global alignment is the official InfoNCE (cos / 0.07, directions summed) and the
#   triplet terms are off; the local term stays the RegionWordAlignmentHead's (the official
#   code uses MGCA's token alignment and prototype losses; see docs/en/user_guides/medim.md,
#   "Departures from the official code").
medim_official = dict(
    # the official image-report InfoNCE: cos / 0.07, both directions summed; no triplets
    head=dict(
        gamma3=1 / 0.07,
        sum_directions=True,
        loss_weights=dict(global_ce=1.0, local_ce=1.0, global_triplet=0.0,
                          local_triplet=0.0)),
    data_preprocessor=dict(
        type='CXRDataPreprocessor', mean=[127.5, 127.5, 127.5],
        std=[127.5, 127.5, 127.5], to_rgb=True),
    mask_on='features',
    mask_fill='zero',
    mask_temperature=0.1,
    decoder=dict(channels=[512, 256, 128, 64], input_proj=False, upsample_mode='nearest',
                 out_kernel_size=3, num_outputs=2),
    recon_head=dict(_delete_=True, type='ImageReconstructionHead', activation='tanh',
                    patch_size=16),
    kwm_generator=dict(
        fallback='zero_map',
        mask_rule=dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=1 - 0.9,
                       rounding='floor', split='threshold')),
    sdm_generator=dict(
        min_sentence_words=4,
        fallback='any_sentence',
        mask_rule=dict(type='MedianSplitMaskRule', high_ratio=0.9, low_ratio=1 - 0.9,
                       rounding='floor', split='threshold')),
    loss_weights=dict(kwm=5.0, sdm=5.0))
