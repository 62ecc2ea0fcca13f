# Copyright (c) medvlp contributors. All rights reserved.
"""Using a trained image-report model: embeddings, retrieval, zero-shot, explanations."""
from .embedding import ImageEmbedder, ReportEmbedder
from .explain import (ImageReportExplainer, batch_attention, build_model_and_test_set,
                      load_for_visualisation, sample_attention)
from .model import init_model, load_weights, require_alignment_model
from .retrieval import ImageReportRetriever, RetrievalIndex, model_fingerprint
from .zero_shot import ZeroShotInferencer

__all__ = [
    'init_model', 'load_weights', 'require_alignment_model', 'ImageEmbedder',
    'ReportEmbedder', 'ImageReportRetriever', 'RetrievalIndex', 'model_fingerprint',
    'ImageReportExplainer', 'batch_attention', 'build_model_and_test_set',
    'load_for_visualisation', 'sample_attention', 'ZeroShotInferencer'
]
