# Copyright (c) medvlp contributors. All rights reserved.
"""Report-text layer of medvlp: cleaning, sections, sentences, words, MeSH terms, negation,
uncertainty, WordPiece tokenisation, and the :class:`ReportProcessor` that turns a report into
the cached text record used for training (see docs/en/user_guides/text_pipeline.md)."""
from .cleaning import clean_report_text
from .errors import EmptyReportError
from .mesh import MeshEntry, MeshMatch, MeshMatcher, MeshVocabulary
from .negation import NegationDetector
from .processor import ReportProcessor
from .sections import extract_sections
from .sentences import SentenceSplitter
from .tokenizers import WordPieceTokenizer, build_tokenizer
from .uncertainty import UncertaintyDetector
from .words import normalise_word, split_words

__all__ = [
    'clean_report_text', 'extract_sections', 'SentenceSplitter', 'split_words',
    'normalise_word', 'MeshVocabulary', 'MeshEntry', 'MeshMatcher', 'MeshMatch',
    'NegationDetector', 'UncertaintyDetector', 'WordPieceTokenizer', 'build_tokenizer',
    'ReportProcessor', 'EmptyReportError'
]
