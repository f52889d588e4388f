"""ivrkit: Asterisk ARI client, IVR engine and embedded Asterisk simulator."""

__version__ = "0.1.0"
