"""Check results as data: every evaluated constraint with its usage, limit and margin."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

CheckKind = Literal["static", "measured"]

#: Constraints measured in memory entries: printed with binary ``Ki`` units.
MEMORY_CONSTRAINTS = frozenset({"kernel_memory", "neuron_memory", "bias_memory"})


def format_quantity(value: float, *, binary: bool = False) -> str:
    """Render a count for messages: ``8Ki``/``71Ki`` for memory, ``12,544`` otherwise."""
    if binary and abs(value) >= 1024:
        scaled = value / 1024
        return f"{scaled:.0f}Ki" if scaled == int(scaled) or scaled >= 10 else f"{scaled:.1f}Ki"
    if value == int(value):
        return f"{int(value):,}"
    return f"{value:,.3g}"


@dataclass(frozen=True)
class ConstraintUsage:
    """One evaluated constraint.

    Args:
        name: constraint name (stable per profile; the search hands it to Optuna).
        usage: what the network needs (a count, bits or memory entries).
        limit: what the chip offers. A limit of 0 marks a forbidden feature: any usage breaks it.
        where: the part of the network it applies to, e.g. ``"layer 2"`` or ``"network"``.
        label: human name used in messages (defaults to ``name`` with spaces).
        note: text appended to the violation message, e.g. ``"on every free core"``.
    """

    name: str
    usage: float
    limit: float
    where: str
    label: str = ""
    note: str = ""

    @property
    def margin(self) -> float:
        """Normalised margin ``usage / limit - 1`` (<= 0 fits).

        With ``limit == 0`` (a forbidden feature) the margin is ``usage`` when used, else -1.
        """
        if self.usage == 0:
            return -1.0
        if self.limit <= 0:
            return float(self.usage)
        return self.usage / self.limit - 1.0

    @property
    def violated(self) -> bool:
        return self.margin > 0

    def message(self) -> str:
        """``"kernel memory on layer 2: 71Ki > 64Ki on every free core"``."""
        binary = self.name in MEMORY_CONSTRAINTS
        label = self.label or self.name.replace("_", " ")
        if self.limit == 0:
            detail = self.note or f"{format_quantity(self.usage)} used, none allowed"
            return f"{label} on {self.where}: {detail}"
        op = ">" if self.violated else "<="
        text = (
            f"{label} on {self.where}: {format_quantity(self.usage, binary=binary)} {op} "
            f"{format_quantity(self.limit, binary=binary)}"
        )
        return f"{text} {self.note}" if self.note else text


@dataclass(frozen=True)
class CheckResult:
    """Every constraint a profile evaluated on one network, violated or not.

    Args:
        profile: profile name.
        kind: ``"static"`` (from a config) or ``"measured"`` (from a trained model).
        names: the constraint names this profile always evaluates, in order.
        usages: every evaluated constraint (several per name when it applies per layer).
        details: extra data of the mapping model (e.g. Speck's core placement).
    """

    profile: str
    kind: CheckKind
    names: tuple[str, ...]
    usages: tuple[ConstraintUsage, ...]
    details: dict[str, object] = field(default_factory=dict, compare=False)

    @property
    def violations(self) -> list[ConstraintUsage]:
        """Constraints with a positive margin."""
        return [u for u in self.usages if u.violated]

    @property
    def fits(self) -> bool:
        return not self.violations

    def margins(self) -> dict[str, float]:
        """Largest margin per constraint name; the same keys for every network of a profile."""
        out = dict.fromkeys(self.names, -1.0)
        for u in self.usages:
            out[u.name] = max(out[u.name], u.margin)
        return out

    def worst(self, name: str) -> ConstraintUsage | None:
        """The usage of ``name`` with the largest margin, or None when nothing was evaluated."""
        matching = [u for u in self.usages if u.name == name]
        return max(matching, key=lambda u: u.margin) if matching else None

    def messages(self) -> list[str]:
        """One human line per violation."""
        return [u.message() for u in self.violations]
