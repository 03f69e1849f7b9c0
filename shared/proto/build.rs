//! Compiles every `.proto` under `proto/steward` with protox (pure Rust: no `protoc` needed)
//! into Rust code, and writes the descriptor set that server reflection serves.

use std::path::{Path, PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../proto");
    let third_party = root.join("third_party");
    let mut files = Vec::new();
    collect_protos(&root.join("steward"), &mut files)?;
    files.sort();

    let fds = protox::Compiler::new([&root, &third_party])?
        .include_source_info(true)
        .include_imports(true)
        .open_files(&files)?
        .file_descriptor_set();

    let out = PathBuf::from(std::env::var("OUT_DIR")?);
    std::fs::write(out.join("steward_descriptor.bin"), prost::Message::encode_to_vec(&fds))?;
    tonic_prost_build::configure()
        .build_client(true)
        .build_server(true)
        // Ordered maps encode deterministically: request fingerprints (AIP-155 request ids)
        // and etags must not depend on hash order.
        .btree_map(".")
        // Per-item errors in batch results are `google.rpc.Status`: use tonic-types' own
        // generated type, so the rich-error helpers work on it.
        .extern_path(".google.rpc", "::tonic_types::pb")
        .compile_fds(fds)?;

    // compile_fds prints no rerun-if-changed lines of its own.
    println!("cargo:rerun-if-changed={}", root.display());
    for file in &files {
        println!("cargo:rerun-if-changed={}", file.display());
    }
    Ok(())
}

fn collect_protos(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_protos(&path, out)?;
        } else if path.extension().is_some_and(|ext| ext == "proto") {
            out.push(path);
        }
    }
    Ok(())
}
