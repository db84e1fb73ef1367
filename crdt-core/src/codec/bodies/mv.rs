//! Multi-value registers.
//!
//! Layout: the causal context; `n`, then the `n` live writes ascending by dot, each
//! as its dot (replica, counter) and its value.

use super::super::{
    DecodeError, Limit, Reader, ValueError, WireFormat, WireValue, Writer, TAG_MVREG,
};
use super::causal::{read_ctx, write_ctx};
use super::Ascending;
use crate::MvRegister;
use std::collections::BTreeMap;

impl<T: WireValue> WireFormat for MvRegister<T> {
    const TYPE_TAG: u8 = {
        assert!(T::KIND <= 0x0F, "WireValue::KIND must be in 0..=15");
        TAG_MVREG | T::KIND
    };

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_ctx(w, self.context());
        w.len(self.writes().len());
        for (dot, value) in self.writes() {
            w.dot(dot);
            w.postcard(value)?;
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ctx = read_ctx(r)?;
        let n = r.len(Limit::Elements, 3)?;
        let mut writes = BTreeMap::new();
        let mut order = Ascending::new("register writes");
        for _ in 0..n {
            let dot = r.dot()?;
            order.next(dot)?;
            let value: T = r.postcard()?;
            writes.insert(dot, value);
        }
        let reg = MvRegister::from_parts(writes, ctx);
        reg.check_invariants()?;
        Ok(reg)
    }
}
