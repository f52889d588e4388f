"""The simulator's front door: what a client on the wire sees.

The route table and its ``/ari`` operations, the one dispatcher behind HTTP and REST over
the websocket, the generated API description, and the aiohttp application. It drives
``model``; it never imports ``control``.
"""
