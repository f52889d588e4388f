"""ivrkit.sim (work in progress)."""
