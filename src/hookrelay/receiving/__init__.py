"""Receiving: what a partner deploys to accept hookrelay webhooks. Verify the signature, reject replays
(``dedup``), queue the webhook (``inbox``) and read the partner's secrets (``secrets``); ``receive`` ties
them together.

Ships to partners, so it stays small: may import the kernel, ``aws`` and ``signing`` only.
"""
