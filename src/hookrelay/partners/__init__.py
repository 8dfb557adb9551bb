"""Partners: the partner record and its delivery options (``model``) and the partners table
(``table``: conditional reads and writes in DynamoDB).

The data every plane agrees on. May import the kernel and ``aws``.
"""
