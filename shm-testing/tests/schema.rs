//! The embedded schema lets a tool read a region with no Rust source (`shm
//! show`, in `shm-cli`, prints any region through it). The schema module
//! reads it back as the type that made it.

mod support;

use shm_runtime::schema::{diff, summarize, RecordedLayout, Schema};
use shm_runtime::{OpenOptions, Value};
use shm_testing::{Board, Foo, Point, Renamed};
use support::Scratch;

/// Every value Rust wrote is found from the file's bytes alone, through
/// the header and the schema the region embeds: what a tool with no Rust
/// source does (`shm show`; formerly a Python script).
#[test]
fn every_value_is_found_through_the_embedded_schema() {
    for scratch in Scratch::both() {
        let board = scratch.target.open(&OpenOptions::<Board>::new()).unwrap();
        board.store(Board {
            total: 1 << 40,
            id: 7,
            temps: [21.5, -3.25],
            corners: [Point { x: -1, y: 2 }, Point { x: 300, y: -400 }],
            _pad: [0; 4],
        });
        let bytes = std::fs::read(scratch.target.backing_path()).unwrap();
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let recorded = RecordedLayout {
            size: word(40),
            align: word(48),
            fingerprint: word(24),
        };
        let payload = word(32) as usize;
        let (start, len) = (word(72) as usize, word(80) as usize);
        let schema = Schema::from_region_json(&bytes[start..start + len], &recorded).unwrap();
        let listing: Vec<String> = schema
            .leaves()
            .map(|leaf| {
                let size = leaf.primitive.size();
                let at = payload + leaf.offset;
                let mut value = [0u8; 8];
                value[..size].copy_from_slice(&bytes[at..at + size]);
                let value = Value::from_bits(u64::from_le_bytes(value), leaf.primitive);
                format!(
                    "{} {} {} {value}",
                    leaf.path,
                    leaf.primitive.name(),
                    leaf.offset
                )
            })
            .collect();
        assert_eq!(
            listing,
            [
                "total u64 0 1099511627776",
                "id u32 8 7",
                "temps[0] f32 12 21.5",
                "temps[1] f32 16 -3.25",
                "corners[0].x i16 20 -1",
                "corners[0].y i16 22 2",
                "corners[1].x i16 24 300",
                "corners[1].y i16 26 -400",
                "_pad[0] u8 28 0",
                "_pad[1] u8 29 0",
                "_pad[2] u8 30 0",
                "_pad[3] u8 31 0",
            ]
        );
    }
}

/// The schema a region holds parses, against the region's header, to the
/// schema of the type that made it, and writes back to the same bytes.
#[test]
fn a_regions_schema_reads_back_as_its_type() {
    for scratch in Scratch::both() {
        let _board = scratch.target.open(&OpenOptions::<Board>::new()).unwrap();
        let bytes = std::fs::read(scratch.target.backing_path()).unwrap();
        // Header words, as `header.rs` reads them.
        let word = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let recorded = RecordedLayout {
            size: word(40),
            align: word(48),
            fingerprint: word(24),
        };
        let (start, len) = (word(72) as usize, word(80) as usize);
        let json = &bytes[start..start + len];

        let schema = Schema::from_region_json(json, &recorded).unwrap();
        assert_eq!(schema, Schema::of::<Board>());
        assert_eq!(schema.to_json().as_bytes(), json);
        let corner = schema.field("corners.1.y").unwrap();
        assert_eq!((corner.path.as_str(), corner.offset), ("corners[1].y", 26));
    }
}

#[test]
fn two_versions_of_a_struct_differ_by_name() {
    let expected = Schema::of::<Foo>();
    let found = Schema::of::<Renamed>();
    assert_eq!(
        summarize(&diff(expected.root(), found.root())),
        "field `baz` renamed to `qux` (the region was made by another version of the program)"
    );
}
