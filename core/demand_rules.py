"""Demand signals in review sentences: sentence splitting and named labelling functions.

Reviews split into sentences on English and Chinese punctuation; each sentence gets the target id
:func:`core.ids.sentence_id`. Until humans label sentences, transparent labelling functions give
a cold-start label (source ``rule``, with the function's name). The first function that fires in
``LABELLING_FUNCTIONS`` order wins; a sentence no function claims is ``other``.

    >>> split_sentences("Love it! Wish it came in blue. 质量很好。有大码吗？")
    ['Love it!', 'Wish it came in blue.', '质量很好。', '有大码吗？']
    >>> apply_rules("Wish it came in blue.")
    ('feature_request', 'wish_or_want')
    >>> apply_rules("This dress will not disappoint!!")
    ('praise', 'negated_complaint')
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pandas as pd

from core.ids import sentence_id

DEMAND_LABELS = ("feature_request", "complaint", "praise", "question", "other")

# Split after . ! ? (and runs of them) followed by space, and after Chinese 。！？；…
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|(?<=[。！？；…])")


def split_sentences(text: str) -> list[str]:
    """Split a text into sentences on English (. ! ?) and Chinese (。！？；…) punctuation."""
    parts = (p.strip() for p in _SENTENCE_END.split(text or ""))
    return [p for p in parts if len(p) > 1 or (p and p.isalnum())]


def split_review_sentences(reviews: pd.DataFrame) -> pd.DataFrame:
    """One row per review sentence: ``target_id`` (:func:`core.ids.sentence_id`), ``text``,
    ``review_id``, ``position`` and, when the reviews have one, their star ``rating``."""
    rows = []
    ratings = reviews["rating"] if "rating" in reviews.columns else [None] * len(reviews)
    for review_id, text, rating in zip(reviews["review_id"], reviews["text"], ratings, strict=True):
        for number, sentence in enumerate(split_sentences(text)):
            rows.append((sentence_id(review_id, number), sentence, review_id, number, rating))
    out = pd.DataFrame(rows, columns=["target_id", "text", "review_id", "position", "rating"])
    return out if "rating" in reviews.columns else out.drop(columns="rating")


@dataclass(frozen=True)
class LabellingFunction:
    """A named keyword/pattern rule that votes for one label."""

    name: str
    label: str
    pattern: re.Pattern[str]
    description: str


def _lf(name: str, label: str, pattern: str, description: str) -> LabellingFunction:
    return LabellingFunction(name, label, re.compile(pattern, re.IGNORECASE), description)


LABELLING_FUNCTIONS: list[LabellingFunction] = [
    _lf("negated_complaint", "praise", r"\b(not|never|won'?t|wouldn'?t|didn'?t|don'?t|doesn'?t|will not|did not|does not|do not)\s+(\w+\s+){0,2}(disappoint\w*|regret\w*)|\bno (complaints?|regrets?|issues?|problems?)\b|\bnot (too|at all|a bit|remotely) (small|big|large|tight|short|long|thin|sheer|itchy|see[- ]through)\b|\bnot (see[- ]through|itchy|scratchy|sheer)\b|\b(wasn'?t|isn'?t|aren'?t|weren'?t) (itchy|scratchy|sheer|see[- ]through|too \w+)\b|没有色差|不起球|一点(都|也)不(起球|掉色|透)|不会失望|不(怎么)?(掉毛|掉色|褪色|起球)|不贵",
        "Denies a problem ('will not disappoint', 'no complaints', 'not see-through', 不会失望): praise, not a complaint."),
    _lf("wish_sooner", "praise", r"\bwish (i|we)(\s+(had|would have|could have)|'d) (bought|ordered|gotten|got|purchased|found)|\bwish i (bought|ordered) (it|them|one|two|more) (sooner|earlier)|\bwhy did i wait|后悔没早(买|点买)",
        "Regrets not buying sooner or more ('wish I had bought it sooner'): praise, not a request."),
    _lf("rhetorical_praise", "praise", r"\bwho (doesn'?t|wouldn'?t|does not|would not) love\b|\bwhat('?s| is) not to (love|like)\b|\bwhat more could (you|i|one) (want|ask)|\bhow (cute|great|lovely|beautiful|amazing) is (that|this)\b",
        "A question that praises ('who doesn't love…?', 'what's not to like?'): praise, not a question."),
    _lf("zh_complaint", "complaint", r"不(太|是很)?(满意|喜欢|舒服|好看|合身|合适|值)|一点(都|也)不(喜欢|好|舒服|修身)|垃圾|差(?!不多)|坑|上当|受骗|被骗|骗人|难看|烂|再也不(买|来)|别买|不行|一般(?!来说|都)|不透气|穿不下|破洞|脏|(?<!不)贵了|醉了|扔掉|扔了|刺鼻|搪塞|褶子|毛毛|吸毛|吸灰|非常旧|旧衣服|有问题|(物流|快递|发货|速度).{0,4}慢|太慢|热死",
        "Chinese complaints, also when they end in a rhetorical question (不满意, 垃圾, 上当, 难看, 物流真慢; 差 but not 差不多)."),
    _lf("question_mark", "question", r"\?\s*$|？|吗[。？?]?\s*$|\b(does anyone|anyone know|is there a way|how do i|can i|will it)\b",
        "Ends with a question mark, or asks 'does anyone / how do I / is there a way'."),
    _lf("size_advice", "complaint", r"(建议|推荐)(买|拍|选)偏?(大|小)(一|1)?(码|号)|(买|拍|选)偏?(大|小)(一|1)(码|号)",
        "Advises another size (建议买大一码): the size runs off, a complaint, not a request."),
    _lf("wish_or_want", "feature_request", r"\b(i wish|wish (it|they|there)|would (be|love) (nice|great|it if)|would love|hope (they|you)|please (add|make|bring|offer)|should (come|have|make|offer|add)|if only|needs? (a|an|more)|would be better|希望|建议|要是|能不能)",
        "Wishes or asks for something the product lacks ('I wish', 'please add', 'should come in', 希望, 建议)."),
    _lf("available_in", "feature_request", r"\b(come|came|comes|available|offer(ed)?) in (more|other|a|an)?\s*\w+ (colou?rs?|sizes?|lengths?|petite|plus|tall)\b|\bmore (colou?rs|sizes)\b",
        "Asks for more colours / sizes / lengths."),
    _lf("problem_words", "complaint", r"\b(disappoint\w*|return(ed|ing)?|send(ing)? it back|poor(ly)?|cheap(ly)?|broke|ripped|torn|hole|defect\w*|itchy|see[- ]through|unflattering|too (small|big|large|tight|short|long|thin|sheer)|runs (small|large|big)|doesn'?t fit|did not fit|didn'?t fit|not worth|waste|bug|crash\w*|freez\w*|error|not work\w*|doesn'?t work)\b|差(?!不多)|退货|退了|失望|质量不好|坏了|不合身|偏小|偏大|太小|太大|太紧|太薄|有点薄|很薄|缩水|起球|掉色|褪色|色差|线头|开线|脱线|异味|味道大|发货(太|很|有点)?慢|物流(太|很|有点)?慢|(和|跟|与)(图片|描述)不(一样|符)|不值",
        "Names a defect, a bad fit or a return ('too small', 'returned', 'ripped', 退货, 质量不好)."),
    _lf("praise_words", "praise", r"\b(love[ds]?|great|perfect|beautiful|gorgeous|amazing|excellent|comfortable|comfy|flattering|stunning|favorite|favourite|cute|soft|awesome|best|recommend\w*|happy with)\b|喜欢|很好|不错|漂亮|满意|舒服|好看|合适|合身|刚好|正好|棒|值得|实惠|划算|物美价廉|精细|修身|时尚|正品|好评",
        "Praises the product ('love', 'perfect', 'flattering', 喜欢, 满意, 好看, 合身, 物美价廉)."),
]  # fmt: skip


def apply_rules(text: str) -> tuple[str, str | None]:
    """The label of the first labelling function that fires, and its name (``other``, None if
    none fires)."""
    for lf in LABELLING_FUNCTIONS:
        if lf.pattern.search(text or ""):
            return lf.label, lf.name
    return "other", None


def rule_labels(sentences: pd.DataFrame) -> pd.DataFrame:
    """Rule labels for a frame with ``target_id`` and ``text``: adds ``label``, ``rule_name`` and
    ``source`` = rule."""
    votes = [apply_rules(t) for t in sentences["text"]]
    return pd.DataFrame(
        {
            "target_id": sentences["target_id"].to_numpy(),
            "label": [v[0] for v in votes],
            "rule_name": [v[1] or "no_rule_fired" for v in votes],
            "source": "rule",
        }
    )


def labelling_function_table() -> list[dict[str, str]]:
    """Every labelling function as a row (name, label, description), for docs and the app."""
    return [
        {"name": lf.name, "label": lf.label, "description": lf.description}
        for lf in LABELLING_FUNCTIONS
    ]
