//! The two networks of the experiment: a partial mesh and a tree of 15 nodes.

use crate::rng::SplitMix64;

/// An undirected network of `n` nodes (numbered `0..n`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// "mesh" or "tree".
    pub name: &'static str,
    /// Each node's neighbours, ascending.
    pub neighbours: Vec<Vec<usize>>,
}

impl Topology {
    /// Builds a topology from its links (each once, either direction).
    ///
    /// # Panics
    /// On a self-loop or a duplicate link.
    #[must_use]
    pub fn from_links(name: &'static str, n: usize, links: &[(usize, usize)]) -> Self {
        let mut neighbours = vec![Vec::new(); n];
        for &(a, b) in links {
            assert!(a != b && !neighbours[a].contains(&b), "bad link {a}-{b}");
            neighbours[a].push(b);
            neighbours[b].push(a);
        }
        for list in &mut neighbours {
            list.sort_unstable();
        }
        Self { name, neighbours }
    }

    /// A partial mesh in which every node has exactly 4 neighbours, as in Enes et al.:
    /// the union of two link-disjoint Hamiltonian cycles (the ring `0, 1, …, n-1` and a
    /// second one drawn from `seed`), so it is connected and 4-regular.
    ///
    /// # Panics
    /// If `n < 9` (too small for two disjoint cycles to be drawn quickly).
    #[must_use]
    pub fn mesh(n: usize, seed: u64) -> Self {
        assert!(n >= 9);
        let ring: Vec<(usize, usize)> = (0..n).map(|i| (i, (i + 1) % n)).collect();
        let adjacent = |a: usize, b: usize| (a + 1) % n == b || (b + 1) % n == a;
        let mut rng = SplitMix64::new(seed);
        loop {
            let mut order: Vec<usize> = (0..n).collect();
            rng.shuffle(&mut order);
            let cycle: Vec<(usize, usize)> =
                (0..n).map(|i| (order[i], order[(i + 1) % n])).collect();
            if cycle.iter().all(|&(a, b)| !adjacent(a, b)) {
                let mut links = ring;
                links.extend(cycle);
                return Self::from_links("mesh", n, &links);
            }
        }
    }

    /// A perfect binary tree of `n = 2^k - 1` nodes: node `i`'s children are `2i+1` and
    /// `2i+2` (inner nodes have 3 neighbours, the root 2, leaves 1).
    #[must_use]
    pub fn tree(n: usize) -> Self {
        let links: Vec<(usize, usize)> = (1..n).map(|i| ((i - 1) / 2, i)).collect();
        Self::from_links("tree", n, &links)
    }

    /// A breadth-first spanning tree of `self` from its most central node (named
    /// "spanning"): the links an eager-push tree over `self` would use (Plumtree), so a
    /// run on it is the floor of any dissemination that pushes eagerly along a tree and
    /// sends nothing on the other links.
    #[must_use]
    pub fn spanning_tree(&self) -> Self {
        let n = self.len();
        let eccentricity = |r: usize| self.bfs(r).1.into_iter().max().unwrap_or(0);
        let root = (0..n).min_by_key(|&r| eccentricity(r)).unwrap_or(0);
        let (parent, _) = self.bfs(root);
        let links: Vec<(usize, usize)> = (0..n)
            .filter(|&v| v != root)
            .map(|v| (parent[v], v))
            .collect();
        Self::from_links("spanning", n, &links)
    }

    /// The number of nodes.
    #[must_use]
    pub fn len(&self) -> usize {
        self.neighbours.len()
    }

    /// Whether there are no nodes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.neighbours.is_empty()
    }

    /// The number of (undirected) links.
    #[must_use]
    pub fn links(&self) -> usize {
        self.neighbours.iter().map(Vec::len).sum::<usize>() / 2
    }

    /// The longest shortest path, in hops.
    #[must_use]
    pub fn diameter(&self) -> usize {
        (0..self.len())
            .map(|s| self.bfs(s).1.into_iter().max().unwrap_or(0))
            .max()
            .unwrap_or(0)
    }

    /// A breadth-first search from `root`: each node's parent (`root` for itself,
    /// `usize::MAX` if unreachable) and distance (`usize::MAX` if unreachable).
    fn bfs(&self, root: usize) -> (Vec<usize>, Vec<usize>) {
        let mut parent = vec![usize::MAX; self.len()];
        let mut dist = vec![usize::MAX; self.len()];
        parent[root] = root;
        dist[root] = 0;
        let mut queue = std::collections::VecDeque::from([root]);
        while let Some(u) = queue.pop_front() {
            for &v in &self.neighbours[u] {
                if dist[v] == usize::MAX {
                    parent[v] = u;
                    dist[v] = dist[u] + 1;
                    queue.push_back(v);
                }
            }
        }
        (parent, dist)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mesh_is_connected_and_4_regular() {
        let m = Topology::mesh(15, 1);
        assert!(m.neighbours.iter().all(|n| n.len() == 4));
        assert_eq!(m.links(), 30);
        assert!(m.diameter() < 15);
        assert_eq!(m, Topology::mesh(15, 1), "deterministic");
    }

    #[test]
    fn tree_is_a_perfect_binary_tree() {
        let t = Topology::tree(15);
        assert_eq!(t.links(), 14);
        assert_eq!(t.neighbours[0], vec![1, 2]);
        assert_eq!(t.diameter(), 6);
    }

    #[test]
    fn the_spanning_tree_of_the_mesh_is_a_tree_no_deeper_than_bfs_allows() {
        let m = Topology::mesh(15, 7);
        let t = m.spanning_tree();
        assert_eq!(t.len(), 15);
        assert_eq!(t.links(), 14, "a tree of 15 nodes has 14 links");
        // Connected (a finite diameter) and every link is one of the mesh's.
        assert!(t.diameter() <= 2 * m.diameter());
        for (a, list) in t.neighbours.iter().enumerate() {
            assert!(list.iter().all(|b| m.neighbours[a].contains(b)));
        }
    }
}
