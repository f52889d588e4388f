"""The simulated Asterisk itself: channels, bridges, playbacks, dialplan, sounds, on a clock.

Pure and synchronous: requests come in as method calls, events go out as JSON dicts to
a sink. No aiohttp, no sockets, nothing from ``front`` or ``control``
(tests/test_import_rules.py), so the model is testable without HTTP.
"""
