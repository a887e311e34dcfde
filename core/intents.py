"""The shop's own intent taxonomy: names, categories and a handful of examples per intent.

Intents are data, not code: a shop starts with the intents its labelled messages carry (the
sample shop's are Bitext's 27, loaded from ``data/sample/intents.json``), and adds one from the
CLI (``shoplens intents add --shop S --name size_question --example "Is it true to size?"``)
or from Label Studio (an annotator types a new intent where none fits). A new intent works from
a few examples: they join the training rows, and the few-shot classifier on sentence embeddings
(:mod:`core.fewshot`) serves when it beats the fine-tuned blend on validation.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from common.errors import InputError
from db.repo import labels as label_repo
from db.repo import shop_settings

if TYPE_CHECKING:
    from core.context import Context

INTENTS_KEY = "intents"
MAX_INTENTS = 200
MAX_EXAMPLES = 50
_NAME = re.compile(r"^[a-z][a-z0-9_]{0,59}$")


@dataclass(frozen=True)
class Intent:
    name: str
    category: str = "OTHER"
    examples: tuple[str, ...] = ()


@dataclass(frozen=True)
class IntentTaxonomy:
    intents: tuple[Intent, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.intents)

    def category(self, name: str) -> str:
        return next((i.category for i in self.intents if i.name == name), "OTHER")

    def to_json(self) -> str:
        return json.dumps({"intents": [{"name": i.name, "category": i.category,
                                        "examples": list(i.examples)} for i in self.intents]},
                          ensure_ascii=False)  # fmt: skip


def check_intent_name(name: str) -> str:
    name = (name or "").strip()
    if not _NAME.match(name):
        raise InputError(f"intent name {name[:60]!r} must be lower-case letters, digits or _ and "
                         "start with a letter (e.g. size_question)")  # fmt: skip
    return name


def parse_taxonomy(raw: str | dict[str, Any], source: str = "the intents") -> IntentTaxonomy:
    """A taxonomy from JSON (``{"intents": [{"name", "category", "examples"}]}``)."""
    try:
        data = json.loads(raw) if isinstance(raw, str) else raw
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not valid JSON ({exc.msg})") from None
    items = data.get("intents") if isinstance(data, dict) else None
    if not isinstance(items, list) or len(items) > MAX_INTENTS:
        raise InputError(f'{source} needs an "intents" list of at most {MAX_INTENTS} intents')
    out, seen = [], set()
    for item in items:
        name = check_intent_name(str(item.get("name", "")) if isinstance(item, dict) else "")
        if name in seen:
            raise InputError(f"{source}: intent {name!r} appears twice")
        seen.add(name)
        examples = tuple(str(e).strip()[:1000] for e in item.get("examples", []) if str(e).strip())
        out.append(Intent(name, str(item.get("category") or "OTHER")[:60].upper(),
                          examples[:MAX_EXAMPLES]))  # fmt: skip
    return IntentTaxonomy(tuple(out))


def shop_intents(ctx: Context, shop_id: str) -> IntentTaxonomy:
    """The shop's taxonomy: its stored intents, plus any intent its labels name (category
    OTHER), sorted by name."""
    raw = shop_settings.get_setting(ctx.store, shop_id, INTENTS_KEY)
    stored = parse_taxonomy(raw, "the stored intents") if raw else IntentTaxonomy()
    labelled = set(label_repo.best_labels(ctx.store, shop_id, "intent")["label"])
    extra = [Intent(n) for n in sorted(labelled - set(stored.names)) if _NAME.match(str(n))]
    return IntentTaxonomy(tuple(sorted([*stored.intents, *extra], key=lambda i: i.name)))


def save_intents(ctx: Context, shop_id: str, taxonomy: IntentTaxonomy) -> None:
    shop_settings.put_setting(ctx.store, shop_id, INTENTS_KEY, taxonomy.to_json())


def add_intent(ctx: Context, shop_id: str, name: str, examples: list[str],
               category: str = "OTHER") -> IntentTaxonomy:  # fmt: skip
    """Add an intent (or examples to an existing one); returns the new taxonomy."""
    name = check_intent_name(name)
    examples = [e.strip()[:1000] for e in examples if e and e.strip()]
    current = shop_intents(ctx, shop_id)
    intents = {i.name: i for i in current.intents}
    old = intents.get(name, Intent(name, (category or "OTHER").upper()))
    merged = tuple(dict.fromkeys([*old.examples, *examples]))[:MAX_EXAMPLES]
    if not merged and name not in intents:
        raise InputError(f"give at least one --example for the new intent {name!r}")
    intents[name] = Intent(
        name, old.category if name in intents else (category or "OTHER").upper(), merged
    )
    taxonomy = IntentTaxonomy(tuple(sorted(intents.values(), key=lambda i: i.name)))
    save_intents(ctx, shop_id, taxonomy)
    return taxonomy
