"""Aspect sets: what a shop's reviews talk about (fit, fabric, colour…), as data.

An aspect has a name, a one-line description (shown to annotators and merchants) and seed
phrases in any language: ``terms`` mention the aspect without judging it ("sleeves", "fabric"),
``positive`` and ``negative`` phrases mention it with an opinion ("true to size", "runs small").
The default set is for apparel shops; a shop stores its own set (``shoplens aspects-set --shop S
--file aspects.json``) without code changes. A set is checked when it is read: names are
identifiers, every aspect has at least one phrase.

    >>> [a.name for a in APPAREL][:3]
    ['size_fit', 'colour', 'fabric']
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from typing import Any

from common.errors import InputError

POLARITIES = ("positive", "negative", "neutral")
MAX_ASPECTS = 40
MAX_PHRASES = 400


@dataclass(frozen=True)
class Aspect:
    """One aspect and its seed phrases."""

    name: str
    description: str
    terms: tuple[str, ...] = ()
    positive: tuple[str, ...] = ()
    negative: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


@dataclass(frozen=True)
class AspectSet:
    """A named, ordered list of aspects."""

    name: str
    aspects: tuple[Aspect, ...] = field(default_factory=tuple)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(a.name for a in self.aspects)

    def to_json(self) -> str:
        return json.dumps({"name": self.name, "aspects": [a.to_dict() for a in self.aspects]},
                          ensure_ascii=False, indent=1)  # fmt: skip


def _a(name: str, description: str, terms: str, positive: str = "", negative: str = "") -> Aspect:
    def split(s: str) -> tuple[str, ...]:
        return tuple(p.strip() for p in s.split("|") if p.strip())

    return Aspect(name, description, split(terms), split(positive), split(negative))


APPAREL = (
    _a("size_fit", "Size, fit, runs small/large, length, cut on the body, sizing advice.",
       "size|sizes|sized|sizing|fit|fits|fitted|fitting|petite|length|long|short|waist|waistband|hips|bust|chest|shoulders|sleeves|arms|inseam|rise|went down|went up|sized down|sized up|size down|size up|xs|xxs|small|medium|large|tts|snug|loose|tight|baggy|roomy|boxy|oversized|torso|hem|hemline|armholes|length|tall|cropped|尺码|码|大小|偏大|偏小|合身|修身|长度|大码|加大码|小码|加长|显瘦",
       "true to size|fits perfectly|fits great|fit perfectly|fits well|fit well|perfect fit|fits like a glove|great fit|good fit|fit is perfect|fit is great|fits true|tts|just right|perfect length|合身|尺码标准|大小合适|刚好",
       "runs small|runs large|runs big|run small|run large|run big|too small|too big|too large|too tight|too short|too long|too loose|too wide|too snug|too roomy|too boxy|too baggy|way too|did not fit|didn't fit|doesn't fit|does not fit|didnt fit|ill fitting|ill-fitting|huge|tent|swallowed|gaping|gapes|pulled across|unflattering fit|偏小|偏大|不合身|太小|太大|太紧"),
    _a("colour", "Colour, print colours, shade compared with the photo.",
       "color|colors|colour|colours|colored|shade|hue|print|pattern|black|white|blue|red|green|pink|grey|gray|navy|ivory|cream|beige|mauve|coral|orange|yellow|purple|burgundy|olive|teal|neutral|bright|muted|颜色|色差|掉色|色|红色|黑色|白色|蓝色|藏青|粉色|灰色|绿色|黄色|紫色|米色|卡其色|酒红",
       "beautiful color|gorgeous color|love the color|color is beautiful|color is gorgeous|colors are beautiful|vibrant|rich color|pretty color|lovely color|颜色好看|颜色正|没有色差",
       "color is off|different color|not the color|washed out|faded|fades|bleeds|dull|looked different|than pictured|than in the picture|than the photo|not as pictured|drab|色差|掉色|褪色"),
    _a("fabric", "Material, feel, thickness, see-through, lining, stretch, how it washes (shrinks, pills).",
       "fabric|material|materials|cotton|linen|silk|wool|polyester|rayon|knit|lace|denim|cashmere|velvet|jersey|lining|lined|unlined|thickness|thick|thin|sheer|see through|see-through|stretch|stretchy|texture|weight|feel|feels|wash|washed|washing|shrink|shrank|shrunk|pill|pills|pilled|pilling|wrinkle|wrinkles|wrinkled|soft|scratchy|stiff|heavy|lightweight|flimsy|breezy|面料|布料|材质|起球|缩水|薄|厚|透|纯棉|棉质|全棉|真丝|丝绸|亚麻|棉麻|羊毛|羊绒|雪纺|牛仔|涤纶|针织|蕾丝",
       "soft|softest|buttery|luxurious|nice weight|good weight|great material|nice material|quality fabric|fabric is beautiful|fabric is nice|fabric is soft|drapes|not see through|not see-through|lined|面料好|面料舒服|不起球|不透",
       "see through|see-through|sheer|thin|flimsy|scratchy|stiff|shrank|shrunk|shrinks|pilled|pills|pilling|wrinkles easily|wrinkled|cheap fabric|cheap material|itchy|polyester feel|synthetic|clingy|snag|snagged|起球|缩水|太薄|透"),
    _a("quality", "Construction, durability, stitching, seams, zips and buttons, well or cheaply made.",
       "quality|made|construction|constructed|stitching|stitches|seam|seams|zipper|zip|buttons|button|hem came|threads|durable|durability|sturdy|craftsmanship|workmanship|held up|falling apart|hole|holes|tear|tore|ripped|rip|unraveled|做工|质量|线头|开线",
       "well made|well-made|good quality|great quality|high quality|excellent quality|quality is great|quality is good|quality is excellent|nicely made|sturdy|durable|held up|well constructed|质量好|做工好|做工精细",
       "poor quality|cheaply made|cheap quality|low quality|poorly made|fell apart|falling apart|came apart|ripped|tore|torn|hole|holes|unraveled|unraveling|loose threads|broke|broken|defect|defective|flimsy|quality is poor|quality was poor|not well made|质量差|质量不好|做工差|线头|开线"),
    _a("comfort", "Comfortable or not to wear: itchy, soft on the skin, breathable, warm.",
       "comfortable|comfy|comfort|uncomfortable|itchy|itch|breathable|breathe|warm|cozy|cosy|cool|scratchy|irritating|digs|restrictive|easy to wear|舒服|舒适|透气|扎",
       "comfortable|comfy|so comfortable|very comfortable|cozy|cosy|breathable|easy to wear|soft against|feels great|舒服|舒适|透气",
       "uncomfortable|itchy|itch|scratchy|irritating|digs in|digs into|restrictive|hot|not comfortable|扎|不舒服|不透气"),
    _a("style", "Look, design, flattering or not, cute, elegant, how it looks on.",
       "style|styled|look|looks|looked|design|designed|flattering|unflattering|cute|elegant|pretty|beautiful|gorgeous|stunning|chic|classy|trendy|silhouette|details|detail|embroidery|ruffles|sexy|feminine|frumpy|boxy|shape|shapeless|款式|好看|漂亮|版型|设计",
       "flattering|cute|elegant|pretty|beautiful|gorgeous|stunning|chic|classy|lovely|adorable|sexy|feminine|looks great|looks amazing|compliments|好看|漂亮|时尚",
       "unflattering|frumpy|shapeless|maternity|looked like a|sack|matronly|dowdy|not flattering|odd looking|weird|strange|boxy look|不好看|难看|土"),
    _a("price", "Price, value for money, sale, expensive, worth it.",
       "price|priced|pricey|expensive|cheap price|cost|costs|sale|discount|value|worth|money|dollars|bucks|full price|markdown|价格|价钱|性价比|便宜|贵",
       "great price|good price|worth it|worth the price|worth every penny|great value|good value|on sale|bargain|steal|affordable|reasonably priced|性价比高|便宜|划算|值",
       "overpriced|over priced|too expensive|not worth|pricey|expensive|waste of money|too much money|price is too high|贵|不值|性价比低"),
    _a("delivery", "Shipping, arrival, packaging, delivery time.",
       "shipping|shipped|ship|delivery|delivered|arrived|arrive|package|packaging|packaged|mail|box|order arrived|came in the mail|发货|物流|快递|包装|送货",
       "arrived quickly|fast shipping|quick shipping|arrived early|arrived on time|well packaged|发货快|物流快|包装好",
       "arrived late|late|slow shipping|took forever|damaged in|arrived damaged|lost|never arrived|wrinkled in the package|发货慢|物流慢|包装差"),
    _a("service", "Returns, exchanges, customer service, staff, the product description's accuracy.",
       "return|returned|returning|returns|exchange|exchanged|send back|sent back|sending back|sending it back|customer service|store|staff|sales associate|salesperson|saleswoman|refund|description|described|pictured|photo|picture|model|online|retailer|退货|换货|客服|售后|描述",
       "as described|as pictured|true to the picture|helpful|great customer service|easy return|easy to return|easy exchange|客服好|售后好|与描述一致",
       "returned|returning|return it|sending back|sending it back|sent back|send it back|going back|will go back|not as described|misleading|nothing like the picture|looks nothing like|different from the picture|wrong size sent|rude|退货|退了|与描述不符|客服差"),
)  # fmt: skip
APPAREL_SET = AspectSet("apparel", APPAREL)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def parse_aspect_set(
    raw: str | bytes | dict[str, Any], source: str = "the aspect set"
) -> AspectSet:
    """An aspect set from its JSON (``{"name": ..., "aspects": [{"name", "description",
    "terms", "positive", "negative"}, ...]}``); an :class:`InputError` says what to fix."""
    try:
        data = json.loads(raw) if isinstance(raw, str | bytes) else raw
    except json.JSONDecodeError as exc:
        raise InputError(f"{source} is not valid JSON ({exc.msg} at line {exc.lineno}).") from None
    if not isinstance(data, dict) or not isinstance(data.get("aspects"), list):
        raise InputError(f'{source} needs an object with an "aspects" list.')
    aspects = data["aspects"]
    if not 1 <= len(aspects) <= MAX_ASPECTS:
        raise InputError(f"{source} needs 1 to {MAX_ASPECTS} aspects; it has {len(aspects)}.")
    seen: set[str] = set()
    out = []
    for number, item in enumerate(aspects, start=1):
        where = f"{source}, aspect {number}"
        if not isinstance(item, dict):
            raise InputError(f"{where} must be an object with name, description and phrases.")
        name = str(item.get("name", "")).strip()
        if not _NAME.match(name):
            raise InputError(f"{where}: name {name[:40]!r} must be lower-case letters, digits or "
                             "_ and start with a letter (e.g. battery_life).")  # fmt: skip
        if name in seen:
            raise InputError(f"{where}: the name {name!r} is used twice.")
        seen.add(name)
        phrases = {}
        for key in ("terms", "positive", "negative"):
            value = item.get(key, [])
            if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
                raise InputError(f"{where} ({name}): {key} must be a list of phrases (strings).")
            phrases[key] = tuple(dict.fromkeys(p.strip().lower() for p in value if p.strip()))
            if len(phrases[key]) > MAX_PHRASES:
                raise InputError(f"{where} ({name}): at most {MAX_PHRASES} {key} phrases.")
        if not any(phrases.values()):
            raise InputError(f"{where} ({name}) has no phrase: give terms, positive or negative "
                             "phrases that mention it.")  # fmt: skip
        description = str(item.get("description", "")).strip()[:300]
        out.append(Aspect(name, description, phrases["terms"], phrases["positive"],
                          phrases["negative"]))  # fmt: skip
    return AspectSet(str(data.get("name") or "custom")[:80], tuple(out))
