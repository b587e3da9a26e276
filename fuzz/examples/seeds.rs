//! Writes seed inputs for the fuzz targets into `corpus/<target>/`: real
//! regions of every type, an empty file, and a region its creator never
//! published. Run from `fuzz/`: `cargo run --example seeds`.

use std::path::Path;

use shm::open_check::{scratch_file, valid_region, KINDS};

fn main() -> std::io::Result<()> {
    let scratch = scratch_file();
    let corpus = Path::new("corpus");
    for target in ["open_bytes", "open_forged", "open_any_type"] {
        std::fs::create_dir_all(corpus.join(target))?;
    }
    let foo = valid_region(0, &scratch);
    let mut unpublished = foo.clone();
    unpublished[16..20].copy_from_slice(&1u32.to_le_bytes());
    std::fs::write(corpus.join("open_bytes/foo"), &foo)?;
    std::fs::write(corpus.join("open_bytes/unpublished"), &unpublished)?;
    std::fs::write(corpus.join("open_bytes/empty"), b"")?;
    for kind in 0..KINDS {
        let mut typed = vec![kind];
        typed.extend(valid_region(kind, &scratch));
        std::fs::write(corpus.join(format!("open_any_type/kind{kind}")), &typed)?;
        // Unedited, and opened as each other type.
        for opened_as in 0..KINDS {
            std::fs::write(
                corpus.join(format!("open_forged/kind{kind}-as{opened_as}")),
                [kind, opened_as],
            )?;
        }
    }
    if let Some(dir) = scratch.parent() {
        std::fs::remove_dir_all(dir)?;
    }
    Ok(())
}
