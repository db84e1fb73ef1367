//! Runs a retirement simulator over many seeds: `retire_sweep START N` runs the
//! decision simulator (`tests::retirement`), `retire_sweep START N replication` the
//! replication-with-retirement one (`tests::retirement_replication`).
fn main() {
    let arg = |i: usize| std::env::args().nth(i);
    let start: u64 = arg(1).and_then(|s| s.parse().ok()).unwrap_or(0);
    let n: u64 = arg(2).and_then(|s| s.parse().ok()).unwrap_or(20000);
    let replication = arg(3).as_deref() == Some("replication");
    let mut fails = 0;
    let mut slowest = (0, 0);
    for seed in start..start + n {
        let run = if replication {
            tests::retirement_replication::run_seed(seed)
                .map(|r| r.heal_ticks)
                .map_err(|v| (v.check, v.detail))
        } else {
            tests::retirement::run_seed(seed)
                .map(|r| r.heal_ticks)
                .map_err(|v| (v.check, v.detail))
        };
        match run {
            Ok(heal) => slowest = slowest.max((heal, seed)),
            Err((check, detail)) => {
                fails += 1;
                if fails <= 5 {
                    let cut = if n == 1 {
                        detail.len()
                    } else {
                        detail.len().min(300)
                    };
                    println!("seed {seed} [{check}]: {}", &detail[..cut]);
                }
            }
        }
    }
    println!("{fails} failures in {n} seeds; slowest (heal ticks, seed) {slowest:?}");
}
