//! [`Retire`] for [`Keyspace`]: a retired writer's dots move into the collapse range,
//! its counter totals become collapsed contributions and its register writes keep it
//! as their tie-break (`docs/RETIREMENT.md` §3.1).

use super::{Entry, Keyspace};
use crate::retirement::Batch;
use crate::{CoreError, Dot, Held, ReplicaId, Retire, Retirement};

impl Retire for Keyspace {
    /// Rebuilds the keyspace from its renamed parts: O(live dots × log) plus the
    /// context, like a decode (retirement is rare).
    fn retire_all(&mut self, records: &[Retirement]) -> Result<(), CoreError> {
        let batch = Batch::new(records)?;
        let ctx = batch.rename_context(&self.ctx)?;
        let mut entries = Vec::with_capacity(self.entries.len());
        for (key, entry) in self.entries.iter() {
            let mut live: Vec<_> = entry
                .iter()
                .map(|(p, d)| {
                    if batch.retires(d.replica()) {
                        // In the context, which held none of its dots above the record.
                        (p.retired_by(d.replica()), batch.rename(*d).unwrap_or(*d))
                    } else {
                        (p.clone(), *d)
                    }
                })
                .collect();
            live.sort_unstable_by_key(|(_, d): &(_, Dot)| *d);
            let mut renamed = Entry::with_capacity(live.len());
            for l in live {
                renamed.push(l);
            }
            entries.push((Box::from(key), renamed));
        }
        // The parts are a bijective renaming of valid ones, so they are valid.
        *self = Keyspace::from_parts(entries, ctx).map_err(|_| CoreError::InvalidRetirement {
            retired: records
                .first()
                .map_or(ReplicaId::new(0), Retirement::retired),
            reason: "the renamed keyspace is invalid (a collapse range overlaps live dots)",
        })?;
        Ok(())
    }

    fn held(&self, writer: ReplicaId) -> Held {
        self.ctx.held(writer)
    }
}
