//! Network namespaces for process tests: one namespace per leader, named
//! `crdtf-<pid>-<n>`, each reachable from the root namespace over its own veth pair
//! (a /30), and veth pairs between namespaces whose links the test takes down and
//! up. Dropping the guard kills whatever still runs inside and deletes every
//! namespace and veth it created, also while a panic unwinds.

use std::net::Ipv4Addr;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Guards made by this process so far (names stay unique when tests run in parallel).
static INSTANCES: AtomicU32 = AtomicU32::new(0);

/// Runs `ip ARGS`; the error names the command and what `ip` said.
pub fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn ip_output(args: &[&str]) -> String {
    Command::new("ip")
        .args(args)
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default()
}

/// SIGKILLs every process inside namespace `name`.
fn kill_inside(name: &str) {
    for pid in ip_output(&["netns", "pids", name]).split_whitespace() {
        let _ = Command::new("kill").args(["-KILL", pid]).status();
    }
}

const PREFIX: &str = "crdtf-";

/// Deletes namespaces (and kills their processes) left by an earlier run of a test
/// whose process no longer exists (one killed before its guards could run).
pub fn cleanup_stale() {
    for line in ip_output(&["netns", "list"]).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix(PREFIX) else {
            continue;
        };
        let Some(pid) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid != std::process::id() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            kill_inside(name);
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A link between two namespaces (leader indices `a < b`).
#[derive(Debug, Clone)]
struct NsLink {
    a: usize,
    b: usize,
    subnet: u8,
    if_a: String,
}

/// The guard: namespaces, their root links and the links between them.
#[derive(Debug)]
pub struct Netns {
    names: Vec<String>,
    root_ifs: Vec<String>,
    links: Vec<NsLink>,
    net: [u8; 3],
}

impl Netns {
    /// Creates `n` namespaces, a root link to each, and a veth pair for each of
    /// `links` (pairs of namespace indices). Fails (cleaning up what it made) where
    /// namespaces cannot be created.
    pub fn create(n: usize, links: &[(usize, usize)]) -> Result<Self, String> {
        assert!(n <= 10, "at most 10 namespaces per guard");
        let k = INSTANCES.fetch_add(1, Ordering::Relaxed);
        assert!(k < 10, "at most 10 namespace guards per process");
        let pid = std::process::id();
        // A /24 of 10/8 per guard, skipping one the host already uses.
        let used = ip_output(&["-4", "-o", "addr"]);
        let mut net = [
            10,
            100 + (((pid >> 8) + 37 * k) % 100) as u8,
            (pid & 0xff) as u8,
        ];
        for _ in 0..100 {
            if !used.contains(&format!("inet {}.{}.{}.", net[0], net[1], net[2])) {
                break;
            }
            net[1] = 100 + (net[1] - 99) % 100;
        }
        let mut me = Self {
            names: Vec::new(),
            root_ifs: Vec::new(),
            links: Vec::new(),
            net,
        };
        for i in 0..n {
            let name = format!("{PREFIX}{pid}-{}", 10 * k + i as u32);
            ip(&["netns", "add", &name])?;
            me.names.push(name.clone());
            ip(&["-n", &name, "link", "set", "lo", "up"])?;
            let (root, inner) = (format!("cf{pid}{k}h{i}"), format!("cf{pid}{k}n{i}"));
            ip(&["link", "add", &root, "type", "veth", "peer", "name", &inner])?;
            me.root_ifs.push(root.clone());
            ip(&["link", "set", &inner, "netns", &name])?;
            let sub = 4 * i as u8;
            ip(&[
                "addr",
                "add",
                &format!("{}/30", me.addr(sub + 1)),
                "dev",
                &root,
            ])?;
            ip(&["link", "set", &root, "up"])?;
            let inner_addr = format!("{}/30", me.addr(sub + 2));
            ip(&["-n", &name, "addr", "add", &inner_addr, "dev", &inner])?;
            ip(&["-n", &name, "link", "set", &inner, "up"])?;
        }
        for (k, &(a, b)) in links.iter().enumerate() {
            assert!(a < b && b < n, "links are (a, b) with a < b < n");
            let subnet = 128 + 4 * k as u8;
            let (if_a, if_b) = (format!("cf{pid}{k}a{a}{b}"), format!("cf{pid}{k}b{a}{b}"));
            ip(&["link", "add", &if_a, "type", "veth", "peer", "name", &if_b])?;
            ip(&["link", "set", &if_a, "netns", &me.names[a]])?;
            ip(&["link", "set", &if_b, "netns", &me.names[b]])?;
            me.links.push(NsLink {
                a,
                b,
                subnet,
                if_a: if_a.clone(),
            });
            for (side, ifname, host) in [(a, &if_a, 1), (b, &if_b, 2)] {
                let cidr = format!("{}/30", me.addr(subnet + host));
                ip(&["-n", &me.names[side], "addr", "add", &cidr, "dev", ifname])?;
                ip(&["-n", &me.names[side], "link", "set", ifname, "up"])?;
            }
        }
        Ok(me)
    }

    fn addr(&self, last: u8) -> Ipv4Addr {
        Ipv4Addr::new(self.net[0], self.net[1], self.net[2], last)
    }

    /// Namespace `i`'s name.
    pub fn name(&self, i: usize) -> &str {
        &self.names[i]
    }

    /// Namespace `i`'s address on its root link (reachable from the test).
    pub fn host_addr(&self, i: usize) -> Ipv4Addr {
        self.addr(4 * i as u8 + 2)
    }

    /// The root namespace's address on namespace `i`'s root link (reachable from
    /// namespace `i`).
    pub fn gateway(&self, i: usize) -> Ipv4Addr {
        self.addr(4 * i as u8 + 1)
    }

    fn link(&self, a: usize, b: usize) -> Option<&NsLink> {
        self.links
            .iter()
            .find(|l| (l.a, l.b) == (a.min(b), a.max(b)))
    }

    /// Whether namespaces `a` and `b` have a direct link.
    pub fn has_link(&self, a: usize, b: usize) -> bool {
        self.link(a, b).is_some()
    }

    /// Namespace `to`'s address on its direct link with `from`.
    pub fn link_addr(&self, from: usize, to: usize) -> Ipv4Addr {
        let l = self.link(from, to).expect("no such link");
        self.addr(l.subnet + if to == l.a { 1 } else { 2 })
    }

    /// Takes the link between `a` and `b` down (a partition) or up (healed).
    pub fn set_link(&self, a: usize, b: usize, up: bool) -> Result<(), String> {
        let l = self.link(a, b).expect("no such link");
        let state = if up { "up" } else { "down" };
        ip(&["-n", &self.names[l.a], "link", "set", &l.if_a, state])
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        for name in &self.names {
            kill_inside(name);
            let _ = ip(&["netns", "del", name]);
        }
        for root in &self.root_ifs {
            // Gone with its namespace's end already, unless the move failed.
            let _ = ip(&["link", "del", root]);
        }
    }
}
