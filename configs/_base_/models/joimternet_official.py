# JoImTeRNet's `official` preset options (mshaikh2/JoImTeR_MLMI_2021's DAMSM and triplet
# losses), as one variable that a JoImTeRNet config merges into its model (any size):
#   _base_ = ['./joimternet_vit-b-p16_8xb32-50e_mimic.py',
#             '../_base_/models/joimternet_official.py']
#   model = {{_base_.joimternet_official}}
# Each difference from medvlp's defaults is one named option of RegionWordAlignmentHead:
# - the local score is AttnGAN's double softmax on raw dot products (over words, then
#   gamma1 x over regions) with log(sum exp(gamma2 * R)), not divided by gamma2;
# - both directions of every loss are summed (medvlp averages them);
# - the triplet losses use margin 0.5 and one random in-batch negative per anchor.
# See docs/en/user_guides/region_word_alignment.md, "Departures from the official code".
joimternet_official = dict(
    head=dict(
        gamma3=10.0,
        local_score=dict(type='DAMSMLocalScore', gamma1=4.0, gamma2=5.0),
        sum_directions=True,
        triplet_loss=dict(type='BidirectionalRankingLoss', margin=0.5, negative='random'),
        loss_weights=dict(global_ce=1.0, local_ce=1.0, global_triplet=2.0,
                          local_triplet=2.0)))
