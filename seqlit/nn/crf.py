"""Linear-chain conditional random field for sequence tagging (batch-first).

A per-token softmax can emit sequences no annotator would write (``O I-PER``); a CRF scores whole tag
sequences (start + emissions + transitions + end), trained by the negative log-likelihood and decoded by
Viterbi. With BIO tag names, invalid transitions get a large finite negative score, in training and decoding:
Viterbi never returns an ill-formed sequence, and gold data through a forbidden transition gives a large loss,
not NaN (convert it to IOB2: ``seqlit.metrics.count_invalid_bio``). Shapes: emissions (B, T, K), tags (B, T),
mask (B, T) bool, a prefix mask, every sequence of length >= 1.
"""

import torch
from torch import Tensor, nn

# Large enough that no forbidden path competes with an allowed one, small
# enough to stay finite in float16 and to keep the loss finite.
FORBIDDEN = -1e4


def _bio_allowed(prev: str, cur: str) -> bool:
    """Whether ``prev -> cur`` is valid BIO/IOB2: ``I-X`` must follow ``B-X`` or ``I-X``."""
    return not cur.startswith("I-") or prev in ("B-" + cur[2:], "I-" + cur[2:])


class CRF(nn.Module):
    """Linear-chain CRF with learned start, transition and end scores.

    Args:
        num_tags: number of tags K.
        tag_names: label of each tag id; needed for ``constrain_bio``.
        constrain_bio: forbid transitions invalid in BIO/IOB2 (``O -> I-X``,
            ``B-X/I-X -> I-Y`` for ``Y != X``, start ``-> I-X``).  Ignored
            without ``tag_names``.
    """

    def __init__(self, num_tags: int, tag_names: list[str] | None = None, constrain_bio: bool = True) -> None:
        super().__init__()
        self.num_tags = num_tags
        # transitions[i, j]: score of moving from tag i to tag j.
        self.transitions = nn.Parameter(torch.empty(num_tags, num_tags).uniform_(-0.1, 0.1))
        self.start_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))
        self.end_transitions = nn.Parameter(torch.empty(num_tags).uniform_(-0.1, 0.1))

        transition_penalty = torch.zeros(num_tags, num_tags)
        start_penalty = torch.zeros(num_tags)
        if tag_names is not None and constrain_bio:
            if len(tag_names) != num_tags:
                raise ValueError(f"{len(tag_names)} tag names for {num_tags} tags")
            bad = [n for n in tag_names if n != "O" and not n.startswith(("B-", "I-"))]
            if bad:
                raise ValueError(f"constrain_bio needs BIO tag names (O, B-X, I-X), got {bad}")
            for i, prev in enumerate(tag_names):
                for j, cur in enumerate(tag_names):
                    if not _bio_allowed(prev, cur):
                        transition_penalty[i, j] = FORBIDDEN
            for j, cur in enumerate(tag_names):
                if not _bio_allowed("O", cur):
                    start_penalty[j] = FORBIDDEN
        # Not persistent: derived from the constructor arguments, so checkpoints
        # need not carry it and stay loadable if the constraint is toggled.
        self.register_buffer("transition_penalty", transition_penalty, persistent=False)
        self.register_buffer("start_penalty", start_penalty, persistent=False)

    def _scores(self) -> tuple[Tensor, Tensor, Tensor]:
        """Start, transition and end scores with the BIO constraints applied."""
        return (
            self.start_transitions + self.start_penalty,
            self.transitions + self.transition_penalty,
            self.end_transitions,
        )

    def forward(self, emissions: Tensor, tags: Tensor, mask: Tensor) -> Tensor:
        """Negative log-likelihood of ``tags`` for each sequence, shape (B,).

        Tags at padded positions are ignored (they may hold any value, e.g. -100).
        """
        start, trans, end = self._scores()
        return self._log_partition(emissions, mask, start, trans, end) - self._path_score(
            emissions, tags, mask, start, trans, end
        )

    def _path_score(self, emissions: Tensor, tags: Tensor, mask: Tensor, start: Tensor, trans: Tensor, end: Tensor) -> Tensor:
        """Score of the given tag path of each sequence, shape (B,)."""
        tags = tags.masked_fill(~mask, 0)
        maskf = mask.to(emissions.dtype)
        emitted = emissions.gather(2, tags.unsqueeze(2)).squeeze(2)  # (B, T)
        moved = trans[tags[:, :-1], tags[:, 1:]]  # (B, T-1)
        last = tags.gather(1, (mask.sum(1) - 1).unsqueeze(1)).squeeze(1)
        return (
            start[tags[:, 0]]
            + (emitted * maskf).sum(1)
            + (moved * maskf[:, 1:]).sum(1)
            + end[last]
        )

    def _log_partition(self, emissions: Tensor, mask: Tensor, start: Tensor, trans: Tensor, end: Tensor) -> Tensor:
        """Forward algorithm in log space: logsumexp of all path scores, shape (B,)."""
        alpha = start + emissions[:, 0]  # (B, K): log-sum of paths ending in each tag
        for t in range(1, emissions.shape[1]):
            step = torch.logsumexp(alpha.unsqueeze(2) + trans, dim=1) + emissions[:, t]
            alpha = torch.where(mask[:, t].unsqueeze(1), step, alpha)
        return torch.logsumexp(alpha + end, dim=1)

    @torch.no_grad()
    def decode(self, emissions: Tensor, mask: Tensor) -> Tensor:
        """Highest-scoring tag path of each sequence (Viterbi), (B, T) with 0 at padding."""
        start, trans, end = self._scores()
        batch, length, num_tags = emissions.shape
        score = start + emissions[:, 0]  # (B, K): best path score ending in each tag
        # Padded steps get identity back-pointers, so backtracking from the
        # last position passes through them unchanged to each sequence's end.
        identity = torch.arange(num_tags, device=emissions.device).expand(batch, num_tags)
        backpointers = []
        for t in range(1, length):
            best, best_prev = (score.unsqueeze(2) + trans).max(dim=1)
            keep = mask[:, t].unsqueeze(1)
            score = torch.where(keep, best + emissions[:, t], score)
            backpointers.append(torch.where(keep, best_prev, identity))

        path = [(score + end).argmax(dim=1)]
        for pointers in reversed(backpointers):
            path.append(pointers.gather(1, path[-1].unsqueeze(1)).squeeze(1))
        tags = torch.stack(path[::-1], dim=1)
        return tags.masked_fill(~mask, 0)
