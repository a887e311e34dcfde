"""The scoring API for a shop's other systems: ``shoplens serve`` (FastAPI on uvicorn).

Every request carries ``Authorization: Bearer TOKEN`` (``shoplens api-token create --shop S``);
the token decides the shop, so a token of shop A can never read shop B. Predictions come from the
shop's active version through the same scorer as batch scoring, and every answer names the model
version. Promoting a new version under a running server is safe: versions are complete on disk
before the active pointer moves, and the server loads the new one on the first request after the
move (while another process writes the store, it keeps serving the version it knows).

    curl -s -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \\
         -d '{"texts": ["runs small, lovely fabric"]}' http://127.0.0.1:8093/v1/sentiment/predict
"""

from __future__ import annotations

import threading
import time
from datetime import date
from typing import Any, cast

from fastapi import Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from accounts.api_tokens import check_token
from common.errors import ShopLensError
from common.settings import Settings
from core.context import Context
from core.tasks import all_tasks, get_task
from db.store import StoreBusyError

API_VERSION = "v1"
MAX_BODY_BYTES = 1_000_000
MAX_TEXTS = 64
MAX_TEXT_CHARS = 10_000
CACHE_S = 5.0  # how long a token check or an active-version lookup is reused


class PredictRequest(BaseModel):
    texts: list[str] = Field(
        description=f"1-{MAX_TEXTS} texts of at most {MAX_TEXT_CHARS} characters"
    )


class MentionsRequest(PredictRequest):
    ratings: list[float | None] | None = Field(
        default=None,
        description="optional: each text's review rating, 1-5 stars (null: none), in the order "
        "of the texts; the aspect model reads polarity better with it",
    )


class Prediction(BaseModel):
    label: str
    probabilities: dict[str, float]


class PredictResponse(BaseModel):
    task: str
    shop: str
    model_version: str
    predictions: list[Prediction]


class Mention(BaseModel):
    sentence: str
    aspect: str
    polarity: str
    confidence: float
    triggers: list[str]


class MentionsResponse(BaseModel):
    task: str
    shop: str
    model_version: str | None = Field(
        description="None: the rules over the shop's aspect set serve"
    )
    texts: list[list[Mention]] = Field(description="per text, its aspect mentions (may be empty)")


class Forecast(BaseModel):
    probability: float = Field(description="calibrated probability of the outcome")
    horizon_days: int | None
    drivers: str | None = Field(description="what pushes this shopper's forecast, in words")
    model_version: str


class Recommendation(BaseModel):
    rank: int
    item_id: str
    title: str | None
    category: str | None
    score: float


class ShopperResponse(BaseModel):
    shop: str
    user_id: str
    purchase: Forecast | None = Field(description="P(at least one purchase in the horizon)")
    churn: Forecast | None = Field(description="P(no activity at all in the horizon)")
    risk: Forecast | None = Field(description="anomaly score; drivers = the reason of a flag")
    recommendations: list[Recommendation]
    recommendations_version: str | None


class RecommendationsResponse(BaseModel):
    shop: str
    user_id: str
    model_version: str
    items: list[Recommendation]


class AlsoItem(BaseModel):
    item_id: str
    title: str | None
    category: str | None
    shoppers: int
    share: float


class AlsoResponse(BaseModel):
    shop: str
    item_id: str
    event_type: str
    start: date | None = None
    end: date | None = None
    sampled_one_in: int = 1  # >1: counted among a fixed sample of 1 in n of the item's shoppers
    items: list[AlsoItem]


def _id_param() -> Any:
    """A path id (a shopper, an item): 1-200 characters. One object per parameter: FastAPI
    binds a parameter object to the first name it is used under."""
    return Path(min_length=1, max_length=200, description="an id of the shop's data")


class _Models:
    """Loaded versions per (shop, task), and the active version per (shop, task) for a few
    seconds, so a request does not open the store each time."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.lock = threading.Lock()
        self.loaded: dict[tuple[str, str, str], Any] = {}
        self.active: dict[tuple[str, str], tuple[str | None, float]] = {}
        self.tokens: dict[str, tuple[str | None, float]] = {}

    def shop_of(self, token: str) -> str | None:
        now = time.monotonic()
        cached = self.tokens.get(token)
        if cached and now - cached[1] < CACHE_S:
            return cached[0]
        try:
            shop = check_token(self.ctx.store, token)
        except StoreBusyError:
            if cached:
                return cached[0]
            raise
        self.tokens[token] = (shop, now)
        return shop

    def version(self, shop: str, task: str) -> str | None:
        now = time.monotonic()
        cached = self.active.get((shop, task))
        if cached and now - cached[1] < CACHE_S:
            return cached[0]
        try:
            version = self.ctx.registry.active(shop, task)
        except StoreBusyError:  # another process writes: keep serving what we know
            if cached:
                return cached[0]
            raise
        self.active[(shop, task)] = (version, now)
        return version

    def predictor(self, shop: str, task: str, version: str) -> Any:
        key = (shop, task, version)
        with self.lock:
            if key not in self.loaded:
                for old in [k for k in self.loaded if k[:2] == (shop, task)]:
                    del self.loaded[old]  # one version per shop and task in memory
                self.loaded[key] = self.ctx.registry.load(shop, task, version)
            return self.loaded[key]


def _check_texts(body: PredictRequest) -> None:
    """413 / 422 for a batch that is empty, too large or holds a text too long."""
    if not body.texts:
        raise HTTPException(422, "give at least one text")
    if len(body.texts) > MAX_TEXTS:
        raise HTTPException(413, f"at most {MAX_TEXTS} texts per request")
    long = [i for i, t in enumerate(body.texts) if len(t) > MAX_TEXT_CHARS]
    if long:
        raise HTTPException(422, f"text {long[0]} has more than {MAX_TEXT_CHARS} characters")


class _BodyLimit:
    """ASGI middleware: a request whose body is over ``limit`` bytes gets 413 before the app
    reads any of it. A declared Content-Length is judged alone (the server holds the body to
    it); a body without one (chunked) is gathered up to the limit and refused once it passes
    it, so no client makes the server hold more than the limit."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None:
            if not length.isdigit() or int(length) > self.limit:
                await self._refuse(scope, receive, send)
            else:
                await self.app(scope, receive, send)
            return
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                return
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            if size > self.limit:
                await self._refuse(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        given = False

        async def replay() -> dict[str, Any]:
            nonlocal given
            if given:
                return cast(dict[str, Any], await receive())
            given = True
            return whole

        await self.app(scope, replay, send)

    async def _refuse(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        answer = JSONResponse({"detail": f"the body may hold at most {self.limit} bytes"},
                              status_code=413)  # fmt: skip
        await answer(scope, receive, send)


def create_app(settings: Settings, ctx: Context | None = None) -> FastAPI:
    """The API application over the context the settings name."""
    context = ctx or Context.from_settings(settings)
    models = _Models(context)
    app = FastAPI(title="ShopLens scoring API", version=API_VERSION,
                  description="Predictions of a shop's active models. Authenticate with "
                              "`Authorization: Bearer TOKEN` (`shoplens api-token create`).")  # fmt: skip

    app.add_middleware(_BodyLimit, limit=MAX_BODY_BYTES)

    @app.exception_handler(StoreBusyError)
    async def busy(_request: Request, exc: StoreBusyError) -> JSONResponse:
        return JSONResponse({"detail": "the store is busy; try again in a few seconds"},
                            status_code=503, headers={"Retry-After": "5"})  # fmt: skip

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, _exc: Exception) -> JSONResponse:
        return JSONResponse({"detail": "internal error; the server log has the details"},
                            status_code=500)  # fmt: skip

    def shop(request: Request) -> str:
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise HTTPException(401, "send Authorization: Bearer TOKEN",
                                headers={"WWW-Authenticate": "Bearer"})  # fmt: skip
        found = models.shop_of(token.strip())
        if found is None:
            raise HTTPException(
                401, "unknown or revoked token", headers={"WWW-Authenticate": "Bearer"}
            )
        return found

    @app.get(f"/{API_VERSION}/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(f"/{API_VERSION}/tasks")
    def tasks(shop_id: str = Depends(shop)) -> dict[str, Any]:
        """The tasks this shop can ask, with the version each serves (None: no model yet)."""
        return {"shop": shop_id, "tasks": [
            {"task": t.name, "labels": list(t.label_set(context, shop_id)),
             "model_version": models.version(shop_id, t.name)}
            for t in all_tasks() if t.kind == "text_classification"
        ]}  # fmt: skip

    @app.post(f"/{API_VERSION}/{{task}}/mentions", response_model=MentionsResponse)
    def mentions(task: str, body: MentionsRequest,
                 shop_id: str = Depends(shop)) -> MentionsResponse:  # fmt: skip
        """The aspects of each text's sentences and the polarity on each, from the shop's active
        aspect model (or its rules when no model has been trained)."""
        from core.aspect_model import RuleAspects, first_invalid_rating
        from core.demand_rules import split_sentences
        from core.kinds.aspect_sentiment import shop_aspect_set

        try:
            spec = get_task(task)
        except ShopLensError:
            raise HTTPException(404, f"no task {task[:40]!r}") from None
        if spec.kind != "aspect_sentiment":
            raise HTTPException(
                404, f"{task} does not find aspects: use /{API_VERSION}/{task}/predict"
            )
        _check_texts(body)
        if body.ratings is not None:
            if len(body.ratings) != len(body.texts):
                raise HTTPException(422, f"give one rating per text ({len(body.texts)}), or none; "
                                         f"got {len(body.ratings)}")  # fmt: skip
            wrong = first_invalid_rating(body.ratings)
            if wrong is not None:
                raise HTTPException(422, f"ratings[{wrong}] ({body.ratings[wrong]:g}) is not "
                                         "between 1 and 5 stars: give 1-5 or null")  # fmt: skip
        version = models.version(shop_id, task)
        predictor = (models.predictor(shop_id, task, version) if version
                     else RuleAspects(shop_aspect_set(context, shop_id)))  # fmt: skip
        per_text = [split_sentences(t) for t in body.texts]
        flat = [s for sentences in per_text for s in sentences]
        stars = (None if body.ratings is None else
                 [r for sentences, r in zip(per_text, body.ratings, strict=True) for _ in sentences])  # fmt: skip
        found = iter(predictor.extract(flat, ratings=stars))
        out = [[Mention(sentence=s, aspect=m.aspect, polarity=m.polarity,
                        confidence=round(float(m.confidence), 4), triggers=list(m.triggers))
                for s in sentences for m in next(found)] for sentences in per_text]  # fmt: skip
        return MentionsResponse(task=task, shop=shop_id, model_version=version, texts=out)

    @app.post(f"/{API_VERSION}/{{task}}/predict", response_model=PredictResponse)
    def predict(task: str, body: PredictRequest, shop_id: str = Depends(shop)) -> PredictResponse:
        """Labels and class probabilities of a batch of texts from the shop's active model."""
        try:
            spec = get_task(task)
        except ShopLensError:
            raise HTTPException(404, f"no task {task[:40]!r}") from None
        if spec.kind != "text_classification":
            raise HTTPException(404, f"{task} does not predict texts")
        _check_texts(body)
        version = models.version(shop_id, task)
        if version is None:
            raise HTTPException(409, f"shop {shop_id} has no {task} model yet: "
                                     f"`shoplens train {task} --shop {shop_id}`")  # fmt: skip
        predictor = models.predictor(shop_id, task, version)
        probs = predictor.predict_proba(list(body.texts))
        labels = list(predictor.labels)
        out = [
            Prediction(label=labels[int(row.argmax())],
                       probabilities={lab: round(float(p), 6) for lab, p in zip(labels, row, strict=True)})
            for row in probs
        ]  # fmt: skip
        return PredictResponse(task=task, shop=shop_id, model_version=version, predictions=out)

    # --- shoppers and items: what batch scoring stored, read through the shop's active versions
    def _shopper(shop_id: str, user_id: str) -> None:
        from db.behaviour_queries import shopper_exists

        if not shopper_exists(context.store, shop_id, user_id):
            raise HTTPException(404, f"shop {shop_id} has no shopper {user_id[:80]!r}")

    def _recommendations(
        shop_id: str, user_id: str, k: int
    ) -> tuple[str | None, list[Recommendation]]:
        from db.behaviour_queries import shopper_recommendations

        version = models.version(shop_id, "recommend")
        if version is None:
            return None, []
        rows = shopper_recommendations(context.store, shop_id, version, user_id, k)
        return version, [Recommendation(rank=int(r.rank), item_id=str(r.item_id),
                                        title=None if r.title is None else str(r.title),
                                        category=None if r.category is None else str(r.category),
                                        score=round(float(r.score), 6))
                         for r in rows.itertuples()]  # fmt: skip

    @app.get(f"/{API_VERSION}/shoppers/{{user_id}}", response_model=ShopperResponse)
    def shopper(user_id: str = _id_param(), k: int = Query(3, ge=1, le=10),
                shop_id: str = Depends(shop)) -> ShopperResponse:  # fmt: skip
        """A shopper's purchase propensity, churn risk and anomaly score (each with its model
        version, horizon and drivers; null without a model or a score yet) and top ``k`` items."""
        import json

        from core.signals import shopper_signal_spec
        from db.behaviour_queries import shopper_predictions

        _shopper(shop_id, user_id)
        spec = shopper_signal_spec()  # which task and label each field comes from
        fields = {spec[f"{f}_task"]: (f, spec[f"{f}_label"]) for f in ("purchase", "churn", "risk")}
        rows = shopper_predictions(context.store, shop_id, user_id, tuple(fields))
        found: dict[str, Forecast] = {}
        for row in rows.itertuples():
            probs = json.loads(row.probs)
            field, label = fields[str(row.task)]
            meta = context.registry.version(shop_id, str(row.task), str(row.model_version))
            found[field] = Forecast(
                probability=round(float(probs.get(label, 0.0)), 6),
                horizon_days=meta.metrics.get("horizon_days"),
                drivers=row.reason if isinstance(row.reason, str) and row.reason else None,
                model_version=str(row.model_version))  # fmt: skip
        version, items = _recommendations(shop_id, user_id, k)
        return ShopperResponse(shop=shop_id, user_id=user_id, purchase=found.get("purchase"),
                               churn=found.get("churn"), risk=found.get("risk"),
                               recommendations=items, recommendations_version=version)  # fmt: skip

    @app.get(f"/{API_VERSION}/shoppers/{{user_id}}/recommendations",
             response_model=RecommendationsResponse)  # fmt: skip
    def recommendations(user_id: str = _id_param(), k: int = Query(10, ge=1, le=10),
                        shop_id: str = Depends(shop)) -> RecommendationsResponse:  # fmt: skip
        """The shopper's top ``k`` items from the shop's active recommender."""
        _shopper(shop_id, user_id)
        version, items = _recommendations(shop_id, user_id, k)
        if version is None:
            raise HTTPException(409, f"shop {shop_id} has no recommender yet: "
                                     f"`shoplens train recommend --shop {shop_id}`")  # fmt: skip
        return RecommendationsResponse(shop=shop_id, user_id=user_id, model_version=version,
                                       items=items)  # fmt: skip

    @app.get(f"/{API_VERSION}/items/{{item_id}}/also", response_model=AlsoResponse)
    def also(item_id: str = _id_param(), event_type: str = Query("view", pattern="^(view|purchase)$"),
             k: int = Query(10, ge=1, le=50),
             start: date | None = None, end: date | None = None,
             sample_above: int | None = Query(None, ge=1),
             shop_id: str = Depends(shop)) -> AlsoResponse:  # fmt: skip
        """Shoppers who touched this item also viewed (``event_type=view``) or bought
        (``purchase``) these, by how many of them did; ``start`` / ``end`` limit it to a period
        (the whole log otherwise; a period reads only its own events, which matters on a large
        log). With ``sample_above``, an item touched by more shoppers than that is counted
        among a fixed sample of about that many (``sampled_one_in`` in the answer; exact
        otherwise)."""
        from db.behaviour_queries import also_touched, item_exists

        if start is not None and end is not None and start > end:
            raise HTTPException(422, f"start {start} is after end {end}: give start <= end")
        rows = also_touched(context.store, shop_id, item_id, event_type, k, start=start, end=end,
                            sample_above=sample_above)  # fmt: skip
        if rows.empty and not item_exists(context.store, shop_id, item_id):
            raise HTTPException(404, f"shop {shop_id} has no item {item_id[:80]!r}")
        items = [AlsoItem(item_id=str(r.item_id), title=None if r.title is None else str(r.title),
                          category=None if r.category is None else str(r.category),
                          shoppers=int(r.shoppers), share=round(float(r.share), 6))
                 for r in rows.itertuples()]  # fmt: skip
        return AlsoResponse(shop=shop_id, item_id=item_id, event_type=event_type, start=start,
                            end=end, sampled_one_in=int(rows.attrs.get("sampled_one_in", 1)),
                            items=items)  # fmt: skip

    return app
