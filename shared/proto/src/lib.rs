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

/// Generated code, nested as the proto packages are (generated paths rely on it).
pub mod steward {
    /// `steward.account.v1`: accounts, contacts, contracts, resolution, revenue, the account
    /// feed.
    pub mod account {
        pub mod v1 {
            tonic::include_proto!("steward.account.v1");
        }
    }

    /// `steward.health.v1`: scorecards, health scores, explanations, the health feed.
    pub mod health {
        pub mod v1 {
            tonic::include_proto!("steward.health.v1");
        }
    }

    /// `steward.playbook.v1`: playbooks, runs, the orchestrator API.
    pub mod playbook {
        pub mod v1 {
            tonic::include_proto!("steward.playbook.v1");
        }
    }

    /// `steward.ticket.v1`: normalized tickets, support summaries and KPIs, the support feed.
    pub mod ticket {
        pub mod v1 {
            tonic::include_proto!("steward.ticket.v1");
        }
    }

    /// `steward.testing.v1`: the probe service used by the kit's tests and benchmarks.
    pub mod testing {
        pub mod v1 {
            tonic::include_proto!("steward.testing.v1");
        }
    }
}

/// The Google types the API uses.
pub mod google {
    /// `google.api`: resource and field-behaviour annotations.
    pub mod api {
        tonic::include_proto!("google.api");
    }
    /// `google.type`: calendar dates and intervals.
    pub mod r#type {
        tonic::include_proto!("google.r#type");
    }
}

pub use steward::{account, health, playbook, testing, ticket};

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

feed_message!(
    testing::v1::ProbeChange,
    account::v1::AccountChange,
    ticket::v1::SupportChange,
    health::v1::HealthChange,
    playbook::v1::RunChange,
);
