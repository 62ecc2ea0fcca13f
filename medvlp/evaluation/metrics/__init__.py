# Copyright (c) medvlp contributors. All rights reserved.
from .retrieval import ImageReportRetrievalMetric, recall_at_k, retrieval_ranks

__all__ = ['ImageReportRetrievalMetric', 'recall_at_k', 'retrieval_ranks']
