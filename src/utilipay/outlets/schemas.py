"""The front line's words (channel-api.md §11): kinds of outlet and terminal, and states."""

from __future__ import annotations

from enum import StrEnum


class OutletKind(StrEnum):
    SHOP = "shop"  # a village shop, a grocery's POS (代收点)
    COUNTER = "counter"  # a bank's, the utility's or a post office's counter
    COLLECTOR = "collector"  # an electrician collecting at the door (走收)


class OutletStatus(StrEnum):
    ACTIVE = "ACTIVE"
    SUSPENDED = "SUSPENDED"  # its terminals get 401


class TerminalType(StrEnum):
    SELF_SERVICE_FULL = "self_service_full"  # 综合式自助
    SELF_SERVICE_SIMPLE = "self_service_simple"  # 简易式自助
    POS_FIXED = "pos_fixed"  # 固定式POS
    POS_MOBILE = "pos_mobile"  # 移动式POS, also home collection


class OperatorStatus(StrEnum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"
