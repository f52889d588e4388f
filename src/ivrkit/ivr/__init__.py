"""ivrkit.ivr (work in progress)."""
