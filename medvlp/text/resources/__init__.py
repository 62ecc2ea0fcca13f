# Copyright (c) medvlp contributors. All rights reserved.
"""Data files shipped with :mod:`medvlp.text` and a helper that locates them."""
import os.path as osp

RESOURCE_DIR = osp.dirname(osp.abspath(__file__))

#: The curated radiology MeSH vocabulary (built by tools/dataset_converters/build_mesh_vocab.py).
MESH_VOCAB_FILE = 'radiology_mesh.tsv'
#: The hand-curated input of build_mesh_vocab.py.
MESH_SEED_FILE = 'radiology_mesh_seed.tsv'
#: The default WordPiece tokenizer (MRM's MIMIC-CXR WordPiece, MIT; see ATTRIBUTION.md).
WORDPIECE_FILE = 'mimic_wordpiece.json'
#: Radiology abbreviations and sentence starters for the Punkt sentence splitter.
PUNKT_RADIOLOGY_FILE = 'punkt_radiology.txt'


def resource_path(name: str) -> str:
    """Return the absolute path of the shipped resource file ``name``."""
    return osp.join(RESOURCE_DIR, name)
