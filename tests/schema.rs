//! The embedded schema lets a tool in another language read a region with
//! no Rust source: `examples/inspect.py` (Python, stdlib only) finds every
//! field from the header and the schema, and reads what Rust wrote.

mod support;

use std::process::Command;

use shm::{Board, Point};
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
