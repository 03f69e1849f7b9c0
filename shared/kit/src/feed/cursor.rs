//! Feed positions and their opaque string form.

use crate::Error;

/// A position in a feed: (transaction id, sequence). Callers see it only as an opaque string.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub struct Cursor {
    pub(crate) txid: i64,
    pub(crate) seq: i64,
}

impl Cursor {
    /// Before the oldest entry; written as the empty string.
    pub const START: Cursor = Cursor { txid: 0, seq: 0 };

    /// Parses a cursor a caller sent in `field`; the empty string is [`Cursor::START`].
    pub fn parse(s: &str, field: &str) -> Result<Cursor, Error> {
        if s.is_empty() {
            return Ok(Cursor::START);
        }
        let bad = || Error::invalid(field, "not a cursor returned by this feed");
        let rest = s.strip_prefix("c1.").ok_or_else(bad)?;
        let (txid, seq) = rest.split_once('.').ok_or_else(bad)?;
        let txid = i64::from_str_radix(txid, 16).map_err(|_| bad())?;
        let seq = i64::from_str_radix(seq, 16).map_err(|_| bad())?;
        if txid < 0 || seq < 0 {
            return Err(bad());
        }
        Ok(Cursor { txid, seq })
    }

    /// The opaque form handed to callers.
    pub fn encode(&self) -> String {
        if *self == Cursor::START {
            String::new()
        } else {
            format!("c1.{:x}.{:x}", self.txid, self.seq)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_orders_by_transaction_then_sequence() {
        let a = Cursor { txid: 900, seq: 7 };
        let b = Cursor { txid: 901, seq: 2 };
        assert!(a < b, "a later transaction sorts later even with a lower sequence");
        assert_eq!(Cursor::parse(&a.encode(), "after_cursor").expect("valid"), a);
        assert_eq!(Cursor::parse("", "after_cursor").expect("empty is start"), Cursor::START);
        assert_eq!(Cursor::START.encode(), "");
    }

    #[test]
    fn garbage_is_invalid_argument_naming_the_field() {
        for bad in ["x", "c1.zz.1", "c1.1", "c2.1.1", "c1.-1.1"] {
            let err = Cursor::parse(bad, "after_cursor").expect_err(bad);
            assert_eq!(err.code(), tonic::Code::InvalidArgument, "{bad}");
            assert!(err.to_string().contains("after_cursor"));
        }
    }
}
