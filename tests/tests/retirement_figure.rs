//! Issue 14's retirement figure (`tests::retirement_figure`): after 10,000
//! short-lived writers each make one write and are retired, the encoded state, a
//! causal token and a digest are within 10 % of those of the same writes by a live
//! leader.

use tests::retirement_figure::{measure, within_ten_percent, WRITERS};

#[test]
fn ten_thousand_retired_writers_cost_what_one_live_writer_does() {
    for f in measure() {
        let (retired, live, before) = (f.retired, f.live, f.before);
        println!(
            "{}: {WRITERS} writers retired: state {} B (live {} B, before {} B), token {} B (live {} B, before {} B), digest {} B (live {} B, before {} B)",
            f.what, retired.state, live.state, before.state, retired.token, live.token, before.token, retired.digest, live.digest, before.digest
        );
        for (part, ours, theirs) in [
            ("state", retired.state, live.state),
            ("token", retired.token, live.token),
            ("digest", retired.digest, live.digest),
        ] {
            assert!(
                within_ten_percent(ours, theirs),
                "{} {part}: {ours} B retired, {theirs} B live",
                f.what
            );
        }
        assert!(
            before.token > 10 * retired.token,
            "the writers were named before"
        );
    }
}
