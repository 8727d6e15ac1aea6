"""Cycle finding without recursion: a 2,000-task chain must not hit Python's recursion limit."""

from __future__ import annotations


def find_cycle(graph: dict[str, list[str]]) -> list[str] | None:
    """A cycle in ``node -> upstream nodes`` as a path (first node repeated at the end), or None.

    Depth-first with an explicit stack; nodes named only as upstream (not keys) are ignored."""
    state: dict[str, int] = {}  # absent: new, 1: on the path, 2: done
    for start in sorted(graph):
        if state.get(start):
            continue
        path: list[str] = [start]
        pending: list[list[str]] = [list(reversed(graph.get(start, [])))]
        state[start] = 1
        while path:
            if not pending[-1]:
                state[path.pop()] = 2
                pending.pop()
                continue
            up = pending[-1].pop()
            if up not in graph or state.get(up) == 2:
                continue
            if state.get(up) == 1:
                return [*path[path.index(up) :], up]
            state[up] = 1
            path.append(up)
            pending.append(list(reversed(graph[up])))
    return None
