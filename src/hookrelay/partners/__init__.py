"""Partners: the partner record and its delivery options (``model``) and the partners table
(``table``: conditional reads and writes in DynamoDB); the counters kept on a partner's item by others:
pacing (``pace_store``) and health (``health``).

The data every plane agrees on. May import the kernel and ``aws``.
"""
