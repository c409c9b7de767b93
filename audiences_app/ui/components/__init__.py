"""Pieces several pages use: the page frame, the record browser, notices."""
