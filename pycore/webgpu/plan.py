"""Buffer planning from tensor lifetimes: intermediates share a pool of buffers, a buffer is free
again after the last step that reads any view of its tensor, and a step's output never shares a
buffer with its inputs (WebGPU forbids binding one buffer read-only and writable in one dispatch).
"""


def plan_buffers(steps, sizes, roots, pinned):
    """steps: [(reads, writes)] in order; sizes: root tensor -> bytes; roots: tensor -> root tensor
    (views point at what they alias); pinned: roots that own a buffer of their own (inputs, weights,
    outputs). Returns (slot of each pooled root, byte size of each slot)."""
    last = {}
    for i, (reads, writes) in enumerate(steps):
        for t in [*reads, writes]:
            if t:
                last[roots[t]] = i
    slot_of, slot_size, free = {}, [], []
    for i, (reads, writes) in enumerate(steps):
        r = roots[writes]
        if r not in pinned and r not in slot_of:
            slot_of[r] = _take(free, slot_size, sizes[r])
        for t in {roots[t] for t in [*reads, writes] if t}:
            if last[t] == i and t in slot_of:
                free.append(slot_of[t])
    return slot_of, slot_size


def _take(free, slot_size, need):
    """The smallest free slot that fits, else the largest free one grown to fit, else a new slot."""
    fits = [s for s in free if slot_size[s] >= need]
    if fits:
        s = min(fits, key=lambda s: slot_size[s])
    elif free:
        s = max(free, key=lambda s: slot_size[s])
        slot_size[s] = need
    else:
        slot_size.append(need)
        return len(slot_size) - 1
    free.remove(s)
    return s
