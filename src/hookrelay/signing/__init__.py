"""Signing: the Standard Webhooks signature scheme (``standard``: sign, verify, the timestamp window)
and a partner's signing keys as stored in Secrets Manager (``keys``: read, cache, rotate-ready JSON).

May import the kernel and ``aws``; used by ``delivery`` (to sign), ``receiving`` (to verify) and
``provisioning`` (to create and rotate secrets).
"""
