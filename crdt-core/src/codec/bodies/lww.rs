//! Last-writer-wins registers.
//!
//! Layout: the register's version vector; a flag (0 = no write seen; 1 = a write
//! follows); then the value, the timestamp (millis, logical), the write's dot
//! (replica, counter) and the version vector its author had seen.

use super::super::{DecodeError, Reader, ValueError, WireFormat, WireValue, Writer, TAG_LWW};
use super::causal::{read_vv, write_vv};
use super::read_flag;
use crate::lww_register::Write;
use crate::{LwwRegister, Timestamp};

impl<T: WireValue> WireFormat for LwwRegister<T> {
    const TYPE_TAG: u8 = {
        assert!(T::KIND <= 0x0F, "WireValue::KIND must be in 0..=15");
        TAG_LWW | T::KIND
    };

    fn encode_body(&self, w: &mut Writer) -> Result<(), ValueError> {
        write_vv(w, self.context());
        match self.current() {
            None => w.u8(0),
            Some(write) => {
                w.u8(1);
                w.postcard(&write.value)?;
                w.varint(write.stamp.millis());
                w.varint(u64::from(write.stamp.logical()));
                w.dot(write.dot);
                write_vv(w, &write.seen);
            }
        }
        Ok(())
    }

    fn decode_body(r: &mut Reader<'_>) -> Result<Self, DecodeError> {
        let ctx = read_vv(r)?;
        let current = if read_flag(r, "the register's value flag")? {
            let value: T = r.postcard()?;
            let millis = r.varint()?;
            let logical = r.varint_u32("a timestamp's logical counter")?;
            let dot = r.dot()?;
            let seen = read_vv(r)?;
            Some(Write {
                value,
                stamp: Timestamp::new(millis, logical),
                dot,
                seen,
            })
        } else {
            None
        };
        let reg = LwwRegister::from_parts(ctx, current);
        reg.check_invariants()?;
        Ok(reg)
    }
}
