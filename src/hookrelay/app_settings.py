"""The base of every app's settings but the handler's: pydantic-settings over ``HOOKRELAY_*`` variables.

Apart from :mod:`hookrelay.settings` so that the handler, whose settings are a plain model, never
imports pydantic-settings (a cold start's ~130 ms of CPU).
"""

from __future__ import annotations

from typing import Annotated

from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from hookrelay.settings import ENV_PREFIX, NetworkNames, StageFields

# As read from the environment by pydantic-settings: the raw text goes to NetworkNames' own parsing
# ("a,b" or JSON), not to pydantic-settings' JSON decoding of tuple fields first.
EnvNetworkNames = Annotated[NetworkNames, NoDecode]


class CommonSettings(BaseSettings, StageFields):
    """What every app shares, read from the environment (``HOOKRELAY_STAGE``, ...)."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", frozen=True)
