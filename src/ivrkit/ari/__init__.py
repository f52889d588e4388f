"""ivrkit.ari (work in progress)."""
