"""``shoplens`` text-insight commands: aspects of a file's texts, a shop's aspect set, the needs
in a shop's reviews and the shop's intents. Thin wrappers over ``core/``."""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from common.errors import InputError

if TYPE_CHECKING:
    from app.cli import Runtime


def cmd_aspects(args: argparse.Namespace, rt: Runtime) -> int:
    """One CSV line per aspect mention in a file's texts."""
    from core.scoring import aspects_file
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    n = aspects_file(rt.ctx, args.shop, Path(args.input), args.text_column, Path(args.output),
                     overwrite=args.overwrite, rating_column=args.rating_column)  # fmt: skip
    print(f"wrote {n} aspect mentions to {args.output}")
    return 0


def cmd_aspect_set(args: argparse.Namespace, rt: Runtime) -> int:
    """Show, replace or reset the shop's aspect set."""
    from core.kinds.aspect_sentiment import ASPECT_SET_KEY, save_aspect_set, shop_aspect_set
    from db.repo.shop_settings import delete_setting
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    rt.store.init_schema()
    if args.file and args.reset:
        raise InputError("give --file or --reset, not both")
    if args.file:
        path = Path(args.file)
        if not path.is_file():
            raise InputError(f"aspect set file {path} does not exist")
        aspect_set = save_aspect_set(rt.ctx, args.shop, path.read_text(encoding="utf-8"), str(path))
        print(f"shop {args.shop} now uses aspect set {aspect_set.name!r}: "
              f"{', '.join(aspect_set.names)}. Retrain: `shoplens train aspects --shop {args.shop}`")  # fmt: skip
        return 0
    if args.reset:
        had = delete_setting(rt.store, args.shop, ASPECT_SET_KEY)
        print(f"shop {args.shop} uses the default apparel aspects" + ("" if had else " (already)"))
        return 0
    print(shop_aspect_set(rt.ctx, args.shop).to_json())
    return 0


def _date(raw: str | None, flag: str) -> date | None:
    if raw is None:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise InputError(f"{flag} {raw[:40]!r} is not a date: write YYYY-MM-DD") from None


def cmd_needs(args: argparse.Namespace, rt: Runtime) -> int:
    """The needs in the shop's review sentences, largest first."""
    from core.text_insight import shop_needs
    from db.shops import check_shop_id
    from privacy.masking import PiiConfig, mask_pii

    check_shop_id(args.shop)
    since, until = _date(args.since, "--since"), _date(args.until, "--until")
    if since and until and since > until:
        raise InputError("--since is after --until")
    if not rt.ctx.registry.active(args.shop, "demand"):
        raise InputError(f"shop {args.shop} has no demand model to find need sentences: "
                         f"`shoplens train demand --shop {args.shop}` then `shoplens score demand "
                         f"--shop {args.shop}`")  # fmt: skip
    needs = shop_needs(rt.store, args.shop, since, until)
    pii = PiiConfig.from_settings(rt.settings)
    out = [{"name": n.name, "size": int(n.sentences), "share": round(float(n.share), 4),
            "example_quotes": [mask_pii(q, pii) for q in n.quotes],
            "top_products": n.top_products, "aspects": n.aspects, "trend": n.trend}
           for n in needs.itertuples()]  # fmt: skip
    if args.json:
        print(json.dumps({"shop": args.shop, "since": args.since, "until": args.until,
                          "needs": out}, ensure_ascii=False, indent=1))  # fmt: skip
        return 0
    for need in out:
        print(f"{need['size']:>5}  {need['share']:6.1%}  {need['name']}")
        for quote in need["example_quotes"]:
            print(f"         “{quote}”")
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    """Add ``aspects``, ``aspect-set`` and ``needs`` to the ``shoplens`` command."""
    p = subparsers.add_parser("aspects", help="aspect mentions of a file's texts into a CSV")
    p.add_argument("--input", required=True, help="a CSV or Parquet file")
    p.add_argument("--text-column", required=True)
    p.add_argument("--rating-column", help="the column of each text's review rating (1-5 stars, "
                                           "empty: none); polarity reads better with it")  # fmt: skip
    p.add_argument("--output", required=True, help="the CSV to write")
    p.add_argument("--shop", default="sample", help="whose aspect model or set (default: sample)")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")
    p.set_defaults(handler=cmd_aspects)

    p = subparsers.add_parser("aspect-set", help="show, replace (--file) or reset a shop's aspects")
    p.add_argument("--shop", default="sample")
    p.add_argument("--file", help="a JSON aspect set: {\"aspects\": [{name, description, terms, "
                                  "positive, negative}]}")  # fmt: skip
    p.add_argument("--reset", action="store_true", help="back to the default apparel aspects")
    p.set_defaults(handler=cmd_aspect_set)

    p = subparsers.add_parser("needs", help="the needs in a shop's review sentences")
    p.add_argument("--shop", default="sample")
    p.add_argument("--since", help="first day, YYYY-MM-DD")
    p.add_argument("--until", help="last day, YYYY-MM-DD")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(handler=cmd_needs)
    register_intents(subparsers)


def cmd_intents(args: argparse.Namespace, rt: Runtime) -> int:
    """List the shop's intents, or add one (or examples to one) without code changes."""
    from core.intents import add_intent, shop_intents
    from db.shops import check_shop_id

    check_shop_id(args.shop)
    rt.store.init_schema()
    if args.action == "add":
        if not args.name:
            raise InputError("give the new intent's --name (e.g. size_question)")
        taxonomy = add_intent(rt.ctx, args.shop, args.name, args.example or [], args.category)
        intent = next(i for i in taxonomy.intents if i.name == args.name.strip())
        print(f"intent {intent.name} ({intent.category}) has {len(intent.examples)} examples in "
              f"shop {args.shop}. Retrain: `shoplens train intent --shop {args.shop}`")  # fmt: skip
        return 0
    for intent in shop_intents(rt.ctx, args.shop).intents:
        print(f"{intent.name:32} {intent.category:18} {len(intent.examples)} examples")
    return 0


def register_intents(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("intents", help="list a shop's intents or add one (few examples)")
    p.add_argument("action", choices=("list", "add"))
    p.add_argument("--shop", default="sample")
    p.add_argument("--name", help="the intent to add, e.g. size_question")
    p.add_argument("--example", action="append", help="an example message (repeat the flag)")
    p.add_argument("--category", default="OTHER", help="its category, e.g. PRODUCT")
    p.set_defaults(handler=cmd_intents)
