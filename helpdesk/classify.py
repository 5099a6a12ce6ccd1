"""Categorise a ticket from the organization's own history: multinomial naive Bayes.

Trained on past tickets whose category came from the API, a rule or an agent (never
from this classifier itself), so its mistakes do not teach it. Models are cached per
organization in each process. A model older than `MAX_AGE` seconds goes on serving while
one thread of the process retrains it, so no request waits for a retrain (5,000 tickets
take some 140 ms) and concurrent requests do not all retrain at once.

A model knows at most `MODEL_CATEGORIES` categories, those with the most training
examples, so that categorising a ticket costs the same however many categories an
organization has: it scores each of those categories once per distinct word.
"""

import logging
import math
import re
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime

from flask import Flask, current_app

from .extensions import db
from .models import CategorySource, Ticket, utcnow

TRAINING_LIMIT = 5000
MAX_AGE = 300
MIN_EXAMPLES = 5
MODEL_CATEGORIES = 100
HELD_OUT = 50  # at most this many of the newest confirmed tickets test the measured accuracy
MIN_HELD_OUT = 10  # and at least this many, a fifth of the history otherwise
_WORD = re.compile(r"[^\W\d_]{2,}", re.UNICODE)


def tokens(text: str) -> list[str]:
    return [word.casefold() for word in _WORD.findall(text[:20000])]


@dataclass
class Model:
    priors: dict[int, float]
    word_counts: dict[int, Counter]
    totals: dict[int, int]
    vocabulary: int
    trained_at: float  # time.monotonic(), for its age
    trained_on: datetime = field(default_factory=utcnow)  # the wall clock, to show
    examples: int = 0  # how many tickets it learnt from

    def predict(self, text: str) -> tuple[int, float] | None:
        """The most probable category id and its posterior probability."""
        words = Counter(tokens(text))
        if not words or not self.priors:
            return None
        scores = {}
        for category, prior in self.priors.items():
            counts, total = self.word_counts[category], self.totals[category]
            denominator = total + self.vocabulary
            scores[category] = math.log(prior) + sum(
                times * math.log((counts[word] + 1) / denominator)
                for word, times in words.items()
            )
        best = max(scores, key=scores.get)
        top = scores[best]
        normalizer = sum(math.exp(score - top) for score in scores.values())
        return best, 1 / normalizer


_models: dict[int, Model] = {}


def _confirmed(org_id: int, limit: int):
    """The organization's newest tickets whose category came from the API, a rule or an agent."""
    return db.session.execute(
        db.select(Ticket.category_id, Ticket.subject, Ticket.description)
        .where(
            Ticket.org_id == org_id,
            Ticket.category_id.is_not(None),
            Ticket.category_source.in_(
                [CategorySource.API, CategorySource.RULE, CategorySource.AGENT]
            ),
        )
        .order_by(Ticket.id.desc())
        .limit(limit)
    ).all()


def train(org_id: int) -> Model:
    """Fit a model on the organization's trusted categorised tickets."""
    return fit(_confirmed(org_id, TRAINING_LIMIT))


def fit(rows) -> Model:
    """A model from rows of (category_id, subject, description)."""
    examples = Counter(row.category_id for row in rows)
    word_counts: dict[int, Counter] = {category: Counter() for category in examples}
    for row in rows:
        word_counts[row.category_id].update(tokens(f"{row.subject} {row.description}"))
    vocabulary = len(set().union(*word_counts.values())) if word_counts else 0
    usable = (
        {c for c, _ in examples.most_common(MODEL_CATEGORIES)} if len(rows) >= MIN_EXAMPLES else set()
    )
    return Model(
        priors={c: examples[c] / len(rows) for c in usable},
        word_counts={c: word_counts[c] for c in usable},
        totals={c: sum(word_counts[c].values()) for c in usable},
        vocabulary=vocabulary,
        trained_at=time.monotonic(),
        examples=len(rows),
    )


def model(org_id: int) -> Model:
    """The organization's cached model: trained here when there is none yet; when it is
    older than `MAX_AGE` seconds, served as it is while a thread retrains it."""
    cached = _models.get(org_id)
    if cached is None:
        cached = _models[org_id] = train(org_id)
    elif time.monotonic() - cached.trained_at > MAX_AGE:
        _retrain_in_background(org_id)
    return cached


_retraining: set[int] = set()  # organizations whose model a thread is retraining
_retraining_lock = threading.Lock()


def _retrain_in_background(org_id: int) -> None:
    """Start one thread retraining the organization's model, unless one already is."""
    with _retraining_lock:
        if org_id in _retraining:
            return
        _retraining.add(org_id)
    app = current_app._get_current_object()
    threading.Thread(
        target=_retrain, args=(app, org_id), name=f"classifier-{org_id}", daemon=True
    ).start()


def _retrain(app: Flask, org_id: int) -> None:
    try:
        with app.app_context():
            _models[org_id] = train(org_id)
    except Exception:  # the stale model serves on; the next request tries again
        logging.getLogger(__name__).exception("Retraining the classifier of org %s failed", org_id)
    finally:
        with _retraining_lock:
            _retraining.discard(org_id)


def suggest(org_id: int, text: str) -> tuple[int, float] | None:
    """A category id and confidence for `text`, from the cached model."""
    return model(org_id).predict(text)


def trained_at(org_id: int) -> datetime | None:
    """When this process last trained the organization's model (each worker keeps its own)."""
    cached = _models.get(org_id)
    return cached.trained_on if cached else None


def forget(org_id: int | None = None) -> None:
    """Drop cached models (tests, or after bulk changes)."""
    if org_id is None:
        _models.clear()
    else:
        _models.pop(org_id, None)


def threshold(org_threshold: float | None) -> float:
    """The confidence below which a guess is not applied: the organization's
    (`Organization.classifier_threshold`), else the configured one."""
    if org_threshold is not None:
        return org_threshold
    return float(current_app.config["CLASSIFIER_THRESHOLD"])


def examples_per_category(org_id: int) -> dict[int, int]:
    """How many confirmed tickets of each category the model learns from."""
    return Counter(row.category_id for row in _confirmed(org_id, TRAINING_LIMIT))


@dataclass(frozen=True)
class Accuracy:
    held_out: int  # how many of the newest confirmed tickets were held out
    correct: int  # how many of them the model trained on the older ones got right
    confident: int  # how many it would have applied (at or above the threshold)
    confident_correct: int

    @property
    def rate(self) -> float | None:
        return self.correct / self.held_out if self.held_out else None


def held_out_count(confirmed: int) -> int:
    """How many of the newest confirmed tickets are held out: a fifth, 10 to 50; 0 if too few."""
    held_out = min(HELD_OUT, confirmed // 5)
    return held_out if held_out >= MIN_HELD_OUT else 0


def accuracy(org_id: int, limit: float) -> Accuracy:
    """Train on all but the newest confirmed tickets and test on those (`held_out_count`)."""
    rows = _confirmed(org_id, TRAINING_LIMIT + HELD_OUT)
    held_out = held_out_count(len(rows))
    if not held_out:
        return Accuracy(0, 0, 0, 0)
    tested, learnt = rows[:held_out], fit(rows[held_out:])
    correct = confident = confident_correct = 0
    for row in tested:
        guess = learnt.predict(f"{row.subject} {row.description}")
        right = guess is not None and guess[0] == row.category_id
        correct += right
        if guess is not None and guess[1] >= limit:
            confident += 1
            confident_correct += right
    return Accuracy(len(tested), correct, confident, confident_correct)
