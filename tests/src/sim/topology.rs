//! Random connected topologies of 3–7 leaders.

use super::rng::Rng;

/// Leaders `0..leaders` and the undirected links between them (each pair once,
/// `a < b`, sorted). Always connected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Topology {
    /// How many leaders.
    pub leaders: usize,
    /// The links.
    pub edges: Vec<(usize, usize)>,
    /// Its shape.
    pub name: &'static str,
}

impl Topology {
    /// A line, ring, star, full mesh, or a random spanning tree plus random chords.
    pub fn draw(rng: &mut Rng, leaders: usize) -> Topology {
        let shape = rng.below(5);
        let mut edges = Vec::new();
        let name = match shape {
            0 => {
                for i in 1..leaders {
                    edges.push((i - 1, i));
                }
                "line"
            }
            1 => {
                for i in 1..leaders {
                    edges.push((i - 1, i));
                }
                edges.push((0, leaders - 1));
                "ring"
            }
            2 => {
                let hub = rng.index(leaders);
                for i in (0..leaders).filter(|i| *i != hub) {
                    edges.push((hub.min(i), hub.max(i)));
                }
                "star"
            }
            3 => {
                for a in 0..leaders {
                    for b in a + 1..leaders {
                        edges.push((a, b));
                    }
                }
                "mesh"
            }
            _ => {
                // Random spanning tree (each node attaches to an earlier one in a random
                // order), then each other pair with a random chance.
                let mut order: Vec<usize> = (0..leaders).collect();
                rng.shuffle(&mut order);
                for i in 1..leaders {
                    let parent = order[rng.index(i)];
                    let me = order[i];
                    edges.push((parent.min(me), parent.max(me)));
                }
                let chord = rng.range(0, 500_000) as u32;
                for a in 0..leaders {
                    for b in a + 1..leaders {
                        if !edges.contains(&(a, b)) && rng.chance(chord) {
                            edges.push((a, b));
                        }
                    }
                }
                "random"
            }
        };
        edges.sort_unstable();
        edges.dedup();
        Topology {
            leaders,
            edges,
            name,
        }
    }

    /// The neighbours of `node`, ascending.
    #[must_use]
    pub fn neighbours(&self, node: usize) -> Vec<usize> {
        let mut out: Vec<usize> = self
            .edges
            .iter()
            .filter_map(|&(a, b)| {
                if a == node {
                    Some(b)
                } else if b == node {
                    Some(a)
                } else {
                    None
                }
            })
            .collect();
        out.sort_unstable();
        out
    }

    /// Whether every leader reaches every other.
    #[must_use]
    pub fn connected(&self) -> bool {
        let mut seen = vec![false; self.leaders];
        let mut stack = vec![0];
        seen[0] = true;
        while let Some(n) = stack.pop() {
            for m in self.neighbours(n) {
                if !seen[m] {
                    seen[m] = true;
                    stack.push(m);
                }
            }
        }
        seen.into_iter().all(|s| s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_drawn_topology_is_connected() {
        let mut rng = Rng::new(3);
        for _ in 0..500 {
            let n = rng.range(3, 7) as usize;
            let t = Topology::draw(&mut rng, n);
            assert!(t.connected(), "{t:?}");
            assert!(t.edges.iter().all(|&(a, b)| a < b && b < n));
        }
    }
}
