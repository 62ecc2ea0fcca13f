# Copyright (c) medvlp contributors. All rights reserved.
"""Exceptions raised by the report-text pipeline."""


class EmptyReportError(ValueError):
    """A report or note has no usable text (None, NaN, empty or only whitespace/punctuation)."""
