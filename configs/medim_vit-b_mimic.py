# MedIM (MICCAI 2023) on MIMIC-CXR with ViT-B/16: the entry point
#   python tools/train.py configs/medim_vit-b_mimic.py
#   bash tools/dist_train.sh configs/medim_vit-b_mimic.py 8
# It is the family config configs/medim/medim_vit-b-p16_8xb18-50e_mimic.py (see
# configs/medim/README.md for the batch layout and the variants).
_base_ = ['./medim/medim_vit-b-p16_8xb18-50e_mimic.py']
