"""The Reflex front door: pages, their states and shared components. Thin: every query is in core."""
