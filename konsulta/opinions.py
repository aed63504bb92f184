"""Opinion groups and priorities: who thinks alike, what everyone shares, what comes first.

Citizens vote agree / disagree / pass on short statements (the `statements` step).
Staff do not want a ranking of statements alone: a majority can hide a minority that
thinks differently, and the point of a consultation with hard-to-reach groups is to see
that minority. Polis answers this by grouping participants who vote alike and then
asking, for each group, which statements set it apart (representative statements),
which ones every group agrees with (consensus, the common ground a council can act on)
and which ones split the groups (divisive). This module does the same, in the same
steps, so its output can be explained with Polis's own documentation:

1. The participants x statements matrix: +1 agree, -1 disagree, 0 pass or not seen
   (as Polis does). Participants who voted on too few statements are left out of the
   grouping, because with a handful of votes their position is noise, but they are
   reported, and their votes still count in the per-statement tallies.
2. PCA to two dimensions. Each participant's point is stretched by
   sqrt(statements / statements they voted on), as Polis does, so someone who saw few
   statements is not pulled towards the centre just because their unseen cells are 0.
3. k-means on those points, with k in 2..5 chosen by the silhouette score. Too few
   participants, or everyone in one place, gives one group; nothing here raises on a
   small or degenerate matrix, because a consultation is small at its start.
4. Per group, the representative statements: a statement represents a group when a
   majority of the group's members who saw it agree (or disagree) and they do so more
   than the rest (Polis's "repness", with the same +1/+2 smoothing of small counts).
5. Consensus: agreed by a majority of those who saw it in every group. Divisive: a
   majority agrees in one group and a majority disagrees in another.

The module is pure (no I/O, deterministic given `seed`), so the dashboard runs it off
the event loop on votes read from storage, and the tests run it on planted camps.
`borda` counts the `priorities` step (top three ideas, 3/2/1 points) overall and per
opinion group, so staff see whether a priority is shared or belongs to one group.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from threadpoolctl import threadpool_limits

__all__ = [
    "AGREE",
    "BORDA_POINTS",
    "DISAGREE",
    "PASS",
    "BordaScore",
    "GroupShares",
    "OpinionGroup",
    "OpinionGroups",
    "ParticipantPoint",
    "Priorities",
    "RepresentativeStatement",
    "Stance",
    "StatementAcrossGroups",
    "borda",
    "group_opinions",
]

AGREE = 1
DISAGREE = -1
PASS = 0

#: Polis groups only participants with at least this many votes (or all statements,
#: when there are fewer): below it a participant's position says little.
MIN_VOTES = 7
#: The candidates for the number of groups; more than five cannot be read on a map.
K_RANGE = range(2, 6)
#: The silhouette score is quadratic in participants: beyond this many it is computed
#: on a seeded sample, which picks the same k at a fraction of the cost.
SILHOUETTE_SAMPLE = 2000
#: How many representative statements a group shows.
REPRESENTATIVE_COUNT = 5
#: Points of the first, second and third place of a priorities ranking.
BORDA_POINTS = (3, 2, 1)

Matrix = npt.NDArray[np.float64]


class Stance(StrEnum):
    """Which way a group leans on a representative statement."""

    AGREE = "agree"
    DISAGREE = "disagree"


@dataclass(frozen=True)
class RepresentativeStatement:
    """A statement that sets a group apart: its members lean one way more than others do."""

    statement: str
    stance: Stance
    #: The share of the group's members who saw the statement and took `stance`.
    share_in_group: float
    #: The same share among everyone else who saw it.
    share_outside: float
    #: How many of the group's members saw it (voted, a pass included).
    seen_in_group: int


@dataclass(frozen=True)
class GroupShares:
    """One group's votes on one statement, for the consensus and divisive lists."""

    agree: float
    disagree: float
    seen: int


@dataclass(frozen=True)
class StatementAcrossGroups:
    """How every group voted on one statement (groups in the order of `groups`)."""

    statement: str
    by_group: tuple[GroupShares, ...]


@dataclass(frozen=True)
class OpinionGroup:
    """Participants who vote alike, and the statements that set them apart."""

    number: int
    members: tuple[str, ...]
    representative: tuple[RepresentativeStatement, ...]

    @property
    def size(self) -> int:
        return len(self.members)


@dataclass(frozen=True)
class ParticipantPoint:
    """A participant's place on the map. The dashboard draws it without the id."""

    participant: str
    x: float
    y: float
    group: int


@dataclass(frozen=True)
class OpinionGroups:
    """The grouping of one consultation's votes (see the module docstring)."""

    #: Largest group first.
    groups: tuple[OpinionGroup, ...]
    points: tuple[ParticipantPoint, ...]
    #: Participants with too few votes to be placed; their votes count in the tallies.
    unclustered: tuple[str, ...]
    consensus: tuple[StatementAcrossGroups, ...]
    divisive: tuple[StatementAcrossGroups, ...]
    #: Every statement that received a vote, sorted.
    statements: tuple[str, ...]
    #: The silhouette of the chosen grouping; None when there is one group.
    silhouette: float | None
    _group_of: Mapping[str, int] = field(default_factory=dict, repr=False, compare=False)

    def group_of(self, participant: str) -> int | None:
        """The participant's group number, or None if they were not grouped."""
        return self._group_of.get(participant)


def group_opinions(
    votes: Mapping[str, Mapping[str, int]],
    *,
    seed: int = 0,
    min_votes: int = MIN_VOTES,
) -> OpinionGroups:
    """Group participants by their votes; `votes[participant][statement]` is +1, -1 or 0.

    A statement a participant never saw is simply absent from their mapping.
    Deterministic for a given `seed`. Raises ValueError only for a vote outside -1..1.
    Runs numpy's and scikit-learn's native code on one thread: the grouping shares a
    small machine with the bot, and on a busy one the default thread pools wait on each
    other (measured: 6 times slower on two loaded cores than with one thread).
    """
    with threadpool_limits(limits=1):
        return _group_opinions(votes, seed, min_votes)


def _group_opinions(
    votes: Mapping[str, Mapping[str, int]], seed: int, min_votes: int
) -> OpinionGroups:
    participants = sorted(p for p, row in votes.items() if row)
    statements = sorted({s for p in participants for s in votes[p]})
    column = {s: j for j, s in enumerate(statements)}
    matrix = np.zeros((len(participants), len(statements)), dtype=np.float64)
    seen = np.zeros(matrix.shape, dtype=bool)
    for i, participant in enumerate(participants):
        for statement, vote in votes[participant].items():
            if vote not in (AGREE, DISAGREE, PASS):
                raise ValueError(f"a vote is +1, -1 or 0, not {vote!r}")
            j = column[statement]
            matrix[i, j] = vote
            seen[i, j] = True

    counts = seen.sum(axis=1)
    enough = counts >= min(min_votes, len(statements))
    placed = [p for p, ok in zip(participants, enough, strict=True) if ok]
    unclustered = tuple(p for p, ok in zip(participants, enough, strict=True) if not ok)
    points = _project(matrix[enough], counts[enough], len(statements))
    labels, silhouette = _cluster(points, seed)

    groups_matrix, groups_seen = matrix[enough], seen[enough]
    members = [
        tuple(p for p, label in zip(placed, labels, strict=True) if label == g)
        for g in range(int(labels.max()) + 1 if len(labels) else 0)
    ]
    agree = (groups_matrix == AGREE) & groups_seen
    disagree = (groups_matrix == DISAGREE) & groups_seen
    one_hot = (labels[None, :] == np.arange(len(members))[:, None]).astype(np.float64)
    # Per group x statement: how many members saw, agreed, disagreed.
    g_seen, g_agree, g_disagree = (
        one_hot @ m.astype(np.float64) for m in (groups_seen, agree, disagree)
    )
    t_seen, t_agree, t_disagree = (m.sum(axis=0) for m in (g_seen, g_agree, g_disagree))

    groups = tuple(
        OpinionGroup(
            number=g,
            members=members[g],
            representative=_representative(
                statements,
                (g_seen[g], g_agree[g], g_disagree[g]),
                (t_seen - g_seen[g], t_agree - g_agree[g], t_disagree - g_disagree[g]),
            ),
        )
        for g in range(len(members))
    )
    across = [
        StatementAcrossGroups(
            statement,
            tuple(
                GroupShares(
                    agree=_share(g_agree[g, j], g_seen[g, j]),
                    disagree=_share(g_disagree[g, j], g_seen[g, j]),
                    seen=int(g_seen[g, j]),
                )
                for g in range(len(members))
            ),
        )
        for j, statement in enumerate(statements)
    ]
    consensus = sorted(
        (s for s in across if s.by_group and all(g.seen and g.agree > 0.5 for g in s.by_group)),
        key=lambda s: (-min(g.agree for g in s.by_group), s.statement),
    )
    divisive = sorted(
        (
            s
            for s in across
            if any(g.seen and g.agree > 0.5 for g in s.by_group)
            and any(g.seen and g.disagree > 0.5 for g in s.by_group)
        ),
        key=lambda s: (-_spread(s), s.statement),
    )
    return OpinionGroups(
        groups=groups,
        points=tuple(
            ParticipantPoint(p, float(x), float(y), int(label))
            for p, (x, y), label in zip(placed, points, labels, strict=True)
        ),
        unclustered=unclustered,
        consensus=tuple(consensus),
        divisive=tuple(divisive),
        statements=tuple(statements),
        silhouette=silhouette,
        _group_of={p: int(label) for p, label in zip(placed, labels, strict=True)},
    )


def _project(matrix: Matrix, counts: npt.NDArray[np.int_], statements: int) -> Matrix:
    """Two coordinates per participant (zeros where the votes have no spread)."""
    points = np.zeros((matrix.shape[0], 2), dtype=np.float64)
    dimensions = min(2, *matrix.shape) if matrix.size else 0
    # PCA of a matrix without variance divides 0 by 0: everyone is in one place anyway.
    if dimensions == 0 or not np.any(matrix.std(axis=0) > 0):
        return points
    from sklearn.decomposition import PCA  # 250 MiB of scikit-learn and SciPy: only here

    projected = PCA(n_components=dimensions, svd_solver="full").fit_transform(matrix)
    points[:, :dimensions] = projected
    # Polis's stretch: unseen cells are 0, which drags a sparse voter to the centre.
    points *= np.sqrt(statements / np.maximum(counts, 1))[:, None]
    return np.nan_to_num(points)


def _cluster(points: Matrix, seed: int) -> tuple[npt.NDArray[np.int_], float | None]:
    """Group labels numbered by size (largest 0) and the chosen k's silhouette."""
    # Imported here, not at the top: the bot process imports this module for routing
    # statements, and scikit-learn with SciPy would more than double its memory.
    from sklearn.cluster import KMeans
    from sklearn.metrics import silhouette_score

    n = points.shape[0]
    distinct = len(np.unique(points.round(9), axis=0)) if n else 0
    candidates = [k for k in K_RANGE if k < n and k <= distinct]
    best: tuple[float, npt.NDArray[np.int_]] | None = None
    for k in candidates:
        labels = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(points)
        if len(np.unique(labels)) < 2:
            continue
        score = float(
            silhouette_score(
                points,
                labels,
                sample_size=min(n, SILHOUETTE_SAMPLE),
                random_state=seed,
            )
        )
        if best is None or score > best[0]:
            best = (score, labels)
    if best is None:
        return np.zeros(n, dtype=np.int_), None
    score, labels = best
    # Stable numbering: largest group first, ties by first member in sorted order.
    order = sorted(
        np.unique(labels), key=lambda g: (-int(np.sum(labels == g)), int(np.argmax(labels == g)))
    )
    renumber = {int(old): new for new, old in enumerate(order)}
    return np.array([renumber[int(label)] for label in labels], dtype=np.int_), score


def _representative(
    statements: Sequence[str],
    inside: tuple[Matrix, Matrix, Matrix],
    outside: tuple[Matrix, Matrix, Matrix],
) -> tuple[RepresentativeStatement, ...]:
    """Polis's repness: the smoothed share in the group over the share outside it."""
    seen_in, agree_in, disagree_in = inside
    seen_out, agree_out, disagree_out = outside
    found: list[tuple[float, RepresentativeStatement]] = []
    for stance, votes_in, votes_out in (
        (Stance.AGREE, agree_in, agree_out),
        (Stance.DISAGREE, disagree_in, disagree_out),
    ):
        # +1/+2 keeps a share of 1 out of 1 from outranking 40 out of 50.
        p_in = (1 + votes_in) / (2 + seen_in)
        p_out = (1 + votes_out) / (2 + seen_out)
        for j, statement in enumerate(statements):
            share_in = _share(votes_in[j], seen_in[j])
            if seen_in[j] == 0 or share_in <= 0.5 or p_in[j] <= p_out[j]:
                continue
            item = RepresentativeStatement(
                statement=statement,
                stance=stance,
                share_in_group=share_in,
                share_outside=_share(votes_out[j], seen_out[j]),
                seen_in_group=int(seen_in[j]),
            )
            found.append((float(p_in[j] / p_out[j] * p_in[j]), item))
    found.sort(key=lambda pair: (-pair[0], pair[1].statement, pair[1].stance))
    return tuple(item for _, item in found[:REPRESENTATIVE_COUNT])


def _share(part: float, whole: float) -> float:
    return float(part / whole) if whole else 0.0


def _spread(statement: StatementAcrossGroups) -> float:
    """How far apart the groups are: the widest gap in net agreement."""
    net = [g.agree - g.disagree for g in statement.by_group if g.seen]
    return max(net) - min(net) if net else 0.0


@dataclass(frozen=True)
class BordaScore:
    """One idea's priority count: 3 points for a first place, 2 for second, 1 for third."""

    idea: str
    points: int
    #: How many people ranked it at all, and how many put it first.
    ranked_by: int
    first: int


@dataclass(frozen=True)
class Priorities:
    """Borda counts overall and per opinion group (group number -> scores)."""

    overall: tuple[BordaScore, ...]
    by_group: Mapping[int, tuple[BordaScore, ...]]


def borda(rankings: Mapping[str, Sequence[str]], groups: OpinionGroups | None = None) -> Priorities:
    """Count `rankings[participant]` (ideas, most important first) with 3/2/1 points.

    Only the first three places count and an idea repeated in one ranking counts once,
    at its best place, so nobody gets more weight than anybody else. With `groups`,
    each grouped participant's ranking also counts in their group; the per-group lists
    show whether a priority is shared or belongs to one camp. Highest points first,
    ties broken by first places, then by the idea's key, so the order is stable.
    """
    overall: dict[str, list[int]] = {}
    by_group: dict[int, dict[str, list[int]]] = {}
    if groups is not None:
        by_group = {group.number: {} for group in groups.groups}
    for participant, ranking in rankings.items():
        ideas = list(dict.fromkeys(ranking))[: len(BORDA_POINTS)]
        number = groups.group_of(participant) if groups is not None else None
        tallies = [overall] if number is None else [overall, by_group.setdefault(number, {})]
        for place, idea in enumerate(ideas):
            for tally in tallies:
                score = tally.setdefault(idea, [0, 0, 0])
                score[0] += BORDA_POINTS[place]
                score[1] += 1
                score[2] += place == 0
    return Priorities(
        overall=_ranked(overall),
        by_group={number: _ranked(tally) for number, tally in sorted(by_group.items())},
    )


def _ranked(tally: Mapping[str, list[int]]) -> tuple[BordaScore, ...]:
    scores = [
        BordaScore(idea, points, ranked_by, first)
        for idea, (points, ranked_by, first) in tally.items()
    ]
    return tuple(sorted(scores, key=lambda s: (-s.points, -s.first, s.idea)))
