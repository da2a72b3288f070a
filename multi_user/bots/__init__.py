"""Bots per account ([I]): the owner's bot classes, run inside a lane's worker (never in the GUI).

``Bot`` and ``Param`` are what a bot file imports; see docs/BOTS.md.
"""

from multi_user.bots.base import AccountIdentity, Bot, BotContext
from multi_user.bots.params import Param

__all__ = ["AccountIdentity", "Bot", "BotContext", "Param"]
