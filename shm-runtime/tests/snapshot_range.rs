//! `Region::snapshot_range` reads a part of the struct, over generated
//! layouts, at every kind of offset and length: exactly the bytes a whole
//! snapshot has there, and a clear error outside the struct. (Its reads
//! past a writer killed mid-publish are checked by `crash_layouts`.)

use shm_runtime::{Error, RegionOptions};
use shm_testing::layouts::Layout;
use shm_testing::{Rng, Scratch};

#[test]
fn parts_read_alone_are_the_parts_of_the_whole() {
    let seed = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(1, |d| d.as_nanos() as u64);
    eprintln!("snapshot_range: seed {seed:#x}");
    let mut rng = Rng::new(seed);
    for round in 0..40 {
        let layout = Layout::random(&mut rng, 1 << 16);
        let value = layout.random_value(&mut rng);
        let scratch = Scratch::either(round % 2 == 0);
        let region = scratch
            .target
            .open_region(
                RegionOptions::new()
                    .schema(layout.schema.clone())
                    .initial(value.clone()),
            )
            .unwrap();
        let read_only = scratch
            .target
            .open_region(RegionOptions::new().read_only(true))
            .unwrap();
        let size = layout.size();
        for _ in 0..50 {
            let start = rng.range(0..=size);
            let end = rng.range(start..=size);
            for handle in [&region, &read_only] {
                let part = handle.snapshot_range(start, end - start).unwrap();
                assert_eq!(
                    part,
                    value[start..end],
                    "seed {seed:#x}, round {round} ({}): bytes {start}..{end}",
                    layout.summary()
                );
            }
        }
        for (offset, len) in [(size, 1), (0, size + 1), (usize::MAX, 2)] {
            match region.snapshot_range(offset, len) {
                Err(Error::NoSuchField { reason, .. }) => {
                    assert!(reason.contains(&format!("{size} bytes")), "{reason}")
                }
                other => panic!("bytes {offset}..+{len} of {size}: {other:?}"),
            }
        }
    }
}
