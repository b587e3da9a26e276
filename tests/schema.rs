//! The embedded schema lets a tool in another language read a region with
//! no Rust source: `examples/inspect.py` (Python, stdlib only) finds every
//! field from the header and the schema, and reads what Rust wrote. The
//! schema module reads it back as the type that made it.

mod support;

use std::process::Command;

use shm::{Board, Foo, Point, Renamed};
use shm_runtime::schema::{diff, summarize, RecordedLayout, Schema};
use shm_runtime::OpenOptions;
use support::Scratch;

#[test]
fn python_reads_a_region_through_its_schema() {
    for scratch in Scratch::both() {
        let board = scratch.target.open(&OpenOptions::<Board>::new()).unwrap();
        board.store(Board {
            total: 1 << 40,
            id: 7,
            temps: [21.5, -3.25],
            corners: [Point { x: -1, y: 2 }, Point { x: 300, y: -400 }],
            _pad: [0; 4],
        });
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/inspect.py");
        let out = Command::new("python3")
            .arg(script)
            .arg(scratch.target.backing_path())
            .output()
            .expect("python3 must be installed to run this test");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(
            lines[0].starts_with("Board: 32 bytes, fingerprint 0x"),
            "{text}"
        );
        assert_eq!(
            &lines[1..],
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
            ],
            "{text}"
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
        // Header words, as `header.rs` (and `examples/inspect.py`) read them.
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
