"""The errors of reading a bag as a whole."""

from __future__ import annotations


class BagError(Exception):
    """A bag cannot be used as a whole; the text names the bag and the reason."""


class MissingTopicError(BagError):
    """A topic the conversion needs is not in the bag."""


class CorruptBagError(BagError):
    """The bag is truncated, unreadable or not a rosbag2 bag."""
