//! Runs the retirement decision simulator over many seeds (throwaway).
fn main() {
    let start: u64 = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let n: u64 = std::env::args()
        .nth(2)
        .and_then(|s| s.parse().ok())
        .unwrap_or(20000);
    let mut fails = 0;
    let mut slowest = (0, 0);
    for seed in start..start + n {
        match tests::retirement::run_seed(seed) {
            Ok(r) => slowest = slowest.max((r.heal_ticks, seed)),
            Err(v) => {
                fails += 1;
                if fails <= 5 {
                    println!(
                        "seed {seed} [{}]: {}",
                        v.check,
                        if n == 1 {
                            &v.detail[..]
                        } else {
                            &v.detail[..v.detail.len().min(300)]
                        }
                    );
                }
            }
        }
    }
    println!("{fails} failures in {n} seeds; slowest {slowest:?}");
}
