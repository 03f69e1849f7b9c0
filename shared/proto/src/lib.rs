//! Steward's gRPC API, generated from `proto/` at build time, and the encoded descriptor set
//! that server reflection serves.
#![allow(
    // Generated code: its docs come from the proto comments, its names from the protos.
    clippy::doc_lazy_continuation,
    clippy::doc_overindented_list_items,
    clippy::large_enum_variant,
    missing_debug_implementations,
    unreachable_pub
)]

/// Every Steward proto file and its imports, encoded as a `FileDescriptorSet`.
pub const FILE_DESCRIPTOR_SET: &[u8] =
    include_bytes!(concat!(env!("OUT_DIR"), "/steward_descriptor.bin"));

/// `steward.testing.v1`: the probe service used by the kit's tests and benchmarks.
pub mod testing {
    pub mod v1 {
        tonic::include_proto!("steward.testing.v1");
    }
}

/// A change message of a feed: every Steward change message starts with `string cursor = 1`,
/// `google.protobuf.Timestamp commit_time = 2` and `string account = 3`, which the change-feed
/// kit reads and fills in through this trait.
pub trait FeedMessage: prost::Message + Default + Send + Sync + 'static {
    /// Fills in the position the feed assigned when the entry was read.
    fn set_position(&mut self, cursor: String, commit_time: prost_types::Timestamp);
    /// The entry's cursor.
    fn cursor(&self) -> &str;
    /// When the entry was written.
    fn commit_time(&self) -> Option<&prost_types::Timestamp>;
    /// The account the entry is about (`accounts/{account}`).
    fn account(&self) -> &str;
}

macro_rules! feed_message {
    ($($ty:ty),+ $(,)?) => {$(
        impl FeedMessage for $ty {
            fn set_position(&mut self, cursor: String, commit_time: prost_types::Timestamp) {
                self.cursor = cursor;
                self.commit_time = Some(commit_time);
            }
            fn cursor(&self) -> &str {
                &self.cursor
            }
            fn commit_time(&self) -> Option<&prost_types::Timestamp> {
                self.commit_time.as_ref()
            }
            fn account(&self) -> &str {
                &self.account
            }
        }
    )+};
}

feed_message!(testing::v1::ProbeChange);
