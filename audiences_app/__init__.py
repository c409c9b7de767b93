"""Audiences: a workspace for go-to-market data (companies, people, segments, enrichment)."""
