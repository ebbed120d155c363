"""Pure graph helpers over n8n workflows: neighbours, reachability, paths and cycles."""

from __future__ import annotations

from itertools import pairwise

from tests.conftest import connect, make_node
from workflows.engine.graph import Edge, Graph


def graph(*pairs: tuple[str, str] | tuple[str, str, int, int], extra_nodes: tuple[str, ...] = ()) -> Graph:
    names = list(dict.fromkeys([n for pair in pairs for n in pair[:2]] + list(extra_nodes)))
    return Graph([make_node(name) for name in names], connect(*pairs))


def diamond() -> Graph:
    return graph(("A", "B"), ("A", "C"), ("B", "D", 0, 0), ("C", "D", 0, 1), ("D", "E"), extra_nodes=("Lone",))


def test_parents_and_children_follow_connections_without_duplicates() -> None:
    g = graph(("A", "B"), ("A", "B", 1, 0), ("A", "C"), ("B", "C"))

    assert g.children("A") == ["B", "C"]
    assert g.parents("C") == ["A", "B"]
    assert g.parents("B") == ["A"]
    assert g.parents("A") == []
    assert g.children("C") == []
    assert g.outgoing["A"][1] == [Edge("A", 1, "B", 0)]


def test_ancestors_and_descendants() -> None:
    g = diamond()

    assert g.ancestors("D") == {"A", "B", "C"}
    assert g.ancestors("A") == set()
    assert g.descendants("A") == {"B", "C", "D", "E"}
    assert g.descendants("E") == set()
    assert g.descendants("Lone") == set()


def test_a_node_in_a_cycle_is_its_own_ancestor() -> None:
    g = graph(("A", "B"), ("B", "C"), ("C", "B"))

    assert g.ancestors("B") == {"A", "B", "C"}
    assert g.descendants("B") == {"B", "C"}


def test_input_count_and_roots() -> None:
    g = diamond()

    assert g.input_count("D") == 2
    assert g.input_count("B") == 1
    assert g.input_count("A") == 1  # an unconnected node still has its one input
    assert g.roots() == ["A", "Lone"]


def test_paths_between() -> None:
    g = diamond()

    assert g.paths_between("A", "D") == {"A", "B", "C", "D"}
    assert g.paths_between("B", "E") == {"B", "D", "E"}
    assert g.paths_between("B", "C") == set()
    assert g.paths_between("E", "A") == set()
    assert g.paths_between("Lone", "E") == set()
    assert g.paths_between("C", "C") == {"C"}


def test_connections_to_or_from_unknown_nodes_are_ignored() -> None:
    conns = connect(("A", "B"), ("A", "Ghost"), ("Phantom", "B"))
    g = Graph([make_node("A"), make_node("B")], conns)

    assert g.children("A") == ["B"]
    assert g.parents("B") == ["A"]


def test_position_falls_back_to_origin_for_bad_positions() -> None:
    nodes = [
        make_node("A", position=(10, 20)),
        {**make_node("B"), "position": "nowhere"},
        {**make_node("C"), "position": None},
    ]
    g = Graph(nodes, {})

    assert g.position("A") == (10.0, 20.0)
    assert g.position("B") == (0.0, 0.0)
    assert g.position("C") == (0.0, 0.0)


# -- strongly connected components and cycles -------------------------------------------------
def components(g: Graph) -> set[frozenset[str]]:
    return {frozenset(c) for c in g.strongly_connected_components()}


def test_scc_of_an_acyclic_graph_is_one_component_per_node() -> None:
    g = diamond()

    assert components(g) == {frozenset({n}) for n in ("A", "B", "C", "D", "E", "Lone")}
    assert g.cycles() == []


def test_scc_finds_a_two_node_cycle() -> None:
    g = graph(("T", "A"), ("A", "B"), ("B", "A"), ("B", "End"))

    assert components(g) == {frozenset({"T"}), frozenset({"A", "B"}), frozenset({"End"})}
    assert g.cycles() == [{"A", "B"}]


def test_scc_finds_a_self_loop() -> None:
    g = graph(("T", "Loop"), ("Loop", "Loop"), ("Loop", "End"))

    assert frozenset({"Loop"}) in components(g)
    assert g.cycles() == [{"Loop"}]


def test_scc_finds_nested_and_separate_cycles() -> None:
    g = graph(
        ("A", "B"),
        ("B", "C"),
        ("C", "A"),
        ("C", "D"),
        ("D", "E"),
        ("E", "D"),
        ("E", "F"),
    )

    assert components(g) == {frozenset({"A", "B", "C"}), frozenset({"D", "E"}), frozenset({"F"})}
    assert sorted(map(sorted, g.cycles())) == [["A", "B", "C"], ["D", "E"]]


def test_scc_returns_components_in_reverse_topological_order() -> None:
    g = graph(("A", "B"), ("B", "C"), ("C", "B"), ("C", "D"))
    order = [frozenset(c) for c in g.strongly_connected_components()]

    assert order.index(frozenset({"D"})) < order.index(frozenset({"B", "C"})) < order.index(frozenset({"A"}))


def test_scc_handles_a_3000_node_chain_without_recursion_error() -> None:
    names = [f"N{i}" for i in range(3000)]
    g = Graph([make_node(n) for n in names], connect(*pairwise(names)))

    comps = g.strongly_connected_components()
    assert len(comps) == 3000
    assert g.cycles() == []
    assert len(g.descendants("N0")) == 2999


def test_scc_finds_a_3000_node_ring() -> None:
    names = [f"N{i}" for i in range(3000)]
    g = Graph([make_node(n) for n in names], connect(*pairwise(names), (names[-1], names[0])))

    assert g.cycles() == [set(names)]
