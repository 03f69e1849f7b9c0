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
