"""The calls in flight a scan allows itself: AIMD with a latency gradient, Retry-After honoured."""

from contacts.upstream.adaptive import AdaptiveLimit, Answer

OK, OVERLOAD, ERROR = Answer.OK, Answer.OVERLOAD, Answer.ERROR


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def answers(limit: AdaptiveLimit, count: int, seconds: float = 0.020, answer=OK) -> None:
    for _ in range(count):
        limit.observe(answer, seconds)


def test_starts_small_and_doubles_each_round_trip_while_answers_are_fast():
    limit = AdaptiveLimit(start=2, maximum=64)
    assert limit.limit == 2
    answers(limit, 2)
    assert limit.limit == 4
    answers(limit, 4)
    assert limit.limit == 8


def test_never_above_its_maximum_nor_below_one():
    limit = AdaptiveLimit(start=2, maximum=5)
    answers(limit, 50)
    assert limit.limit == 5
    for _ in range(20):
        answers(limit, 10)  # a round trip, so every overload counts
        limit.observe(OVERLOAD, 0.001)
    assert limit.limit == 1
    assert AdaptiveLimit(start=9, maximum=3).limit == 3


def test_halves_on_overload_once_per_round_trip():
    limit = AdaptiveLimit(start=2, maximum=64)
    answers(limit, 6)
    assert limit.limit == 8
    limit.observe(OVERLOAD, 0.001)
    assert limit.limit == 4
    # The other calls of the same window answering 429 too do not halve it again.
    answers(limit, 3, answer=OVERLOAD)
    assert limit.limit == 4
    assert limit.overloads == 4


def test_after_an_overload_it_grows_by_one_per_round_trip_and_stays_below_the_overload():
    limit = AdaptiveLimit(start=2, maximum=64, probe_every=100)
    answers(limit, 6)  # 8
    limit.observe(OVERLOAD, 0.001)  # 4; the upstream refused at 8
    answers(limit, 5)
    assert limit.limit == 5  # one per round trip (an answer per call in flight), not doubling
    answers(limit, 60)
    assert limit.limit == 7  # below where it was refused...
    answers(limit, 40)
    assert limit.limit == 8  # ...until it probes again, after probe_every answers


def test_other_errors_say_nothing_about_load():
    limit = AdaptiveLimit(start=4, maximum=64)
    answers(limit, 5, answer=ERROR)
    assert limit.limit == 4


def test_rising_latency_shrinks_it_gently():
    limit = AdaptiveLimit(start=2, maximum=64, tolerance=2.0, slack=0.010)
    answers(limit, 8, seconds=0.020)
    assert limit.limit == 10
    limit.observe(OK, 0.200)  # far beyond twice the best: a queue is forming upstream
    assert limit.limit == 9
    limit.observe(OK, 0.200)  # same round trip: not again
    assert limit.limit == 9
    answers(limit, 5, seconds=0.025)  # within the tolerance: grows again, slowly
    assert limit.limit == 9


def test_retry_after_pauses_new_calls_until_it_has_passed():
    clock = Clock()
    limit = AdaptiveLimit(start=4, maximum=64, clock=clock)
    assert limit.pause() == 0
    limit.observe(OVERLOAD, 0.001, retry_after=2.0)
    assert limit.pause() == 2.0
    clock.now += 1.5
    assert limit.pause() == 0.5
    clock.now += 0.5
    assert limit.pause() == 0
