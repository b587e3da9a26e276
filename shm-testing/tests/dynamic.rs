//! The schema-driven region API: regions opened without their Rust type,
//! fields by path, bytes in and out through the same protocol as
//! `Shared<T>`, and layouts built at run time with the derive's fingerprint.

mod support;

use shm_runtime::{
    Error, FieldOp, LockState, OpenOptions, Primitive, Region, RegionOptions, Schema, SharedState,
    StructDesc, TypeDesc, Value,
};
use shm_testing::{Board, Foo, Handoff, Point, Tally, SEED};
use support::{Helper, Scratch, Target};

fn open_any(target: &Target) -> Region {
    match target {
        Target::File(path) => Region::open_file(path),
        Target::Shm(name) => Region::open_shm(name),
    }
    .unwrap()
}

fn board() -> Board {
    Board {
        total: 7,
        id: 3,
        temps: [1.5, -0.25],
        corners: [Point { x: 1, y: -2 }, Point { x: 30, y: 40 }],
        _pad: [0; 4],
    }
}

#[test]
fn a_typed_region_is_read_and_written_by_path() {
    for scratch in Scratch::both() {
        let typed = scratch
            .target
            .open(Board::options().initial(board()))
            .unwrap();
        let region = open_any(&scratch.target);
        assert_eq!(region.schema().name(), "Board");
        assert_eq!(region.schema().fingerprint(), Board::FINGERPRINT);
        assert_eq!(region.snapshot(), board().as_bytes());

        assert_eq!(region.get("total").unwrap(), Value::Unsigned(7));
        assert_eq!(region.get("temps[1]").unwrap(), Value::F32(-0.25));
        assert_eq!(region.get("corners[0].y").unwrap(), Value::Signed(-2));
        assert_eq!(region.get("corners.1.x").unwrap(), Value::Signed(30));

        region.set("corners[1].y", Value::Signed(-7)).unwrap();
        assert_eq!(typed.corners[1].y.get(), -7);
        assert_eq!(
            region
                .fetch("total", FieldOp::Add, Value::Unsigned(5))
                .unwrap(),
            Value::Unsigned(7)
        );
        assert_eq!(typed.total.get(), 12);
        assert_eq!(
            region
                .compare_exchange("id", Value::Unsigned(3), Value::Unsigned(4))
                .unwrap(),
            Ok(Value::Unsigned(3))
        );
        assert_eq!(typed.id.get(), 4);

        // A whole-struct update through bytes, seen whole by the typed side
        // and moving its version.
        let seen = typed.version();
        region
            .update(|bytes| bytes[8..12].copy_from_slice(&9u32.to_le_bytes()))
            .unwrap();
        assert_eq!(typed.snapshot().id, 9);
        assert_ne!(typed.version(), seen);
        assert_eq!(region.version(), typed.version());
        assert_eq!(region.lock_state(), LockState::Free);
    }
}

#[test]
fn bad_paths_values_and_writes_are_clear_errors() {
    let scratch = Scratch::file();
    drop(
        scratch
            .target
            .open(Board::options().initial(board()))
            .unwrap(),
    );
    let region = open_any(&scratch.target);
    let message = |e: Error| e.to_string();

    let err = region.get("nope").unwrap_err();
    assert!(matches!(err, Error::NoSuchField { .. }));
    let text = message(err);
    assert!(
        text.contains("`total`") && text.contains("`corners`"),
        "{text}"
    );
    let err = region.get("temps[2]").unwrap_err();
    assert!(message(err).contains("out of range"));
    let err = region.get("corners[0]").unwrap_err();
    assert!(message(err).contains("name one of its fields: x, y"));
    let err = region.get("temps").unwrap_err();
    assert!(message(err).contains("index it"));

    let err = region
        .set("corners[0].x", Value::Signed(40_000))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert!(message(err).contains("i16 (-32768 to 32767)"));
    let err = region.set("id", Value::F64(1.5)).unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }));
    assert!(region.store(&[0u8; 3]).is_err());
    assert_eq!(
        region.snapshot(),
        board().as_bytes(),
        "a refused write changed the region"
    );

    let read_only = Region::open_file_read_only(scratch.target.backing_path()).unwrap();
    assert_eq!(read_only.get("total").unwrap(), Value::Unsigned(7));
    let err = read_only.set("total", Value::Unsigned(1)).unwrap_err();
    assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    assert!(read_only.update(|_| ()).is_err());
}

#[test]
fn a_layout_built_at_run_time_has_the_derives_fingerprint() {
    let point = StructDesc::repr_c(
        "Point",
        vec![
            ("x".into(), Primitive::I16.into()),
            ("y".into(), Primitive::I16.into()),
        ],
    )
    .unwrap();
    let board_desc = StructDesc::repr_c(
        "Board",
        vec![
            ("total".into(), Primitive::U64.into()),
            ("id".into(), Primitive::U32.into()),
            ("temps".into(), TypeDesc::array(Primitive::F32.into(), 2)),
            ("corners".into(), TypeDesc::array(point.into(), 2)),
            ("_pad".into(), TypeDesc::array(Primitive::U8.into(), 4)),
        ],
    )
    .unwrap();
    let schema = Schema::new(board_desc);
    assert_eq!(schema.fingerprint(), Board::FINGERPRINT);

    for scratch in Scratch::both() {
        let mut options = RegionOptions::new();
        options.schema(schema.clone()).initial(board().as_bytes());
        let created = match &scratch.target {
            Target::File(path) => options.open_file(path),
            Target::Shm(name) => options.open_shm(name),
        }
        .unwrap();
        assert!(created.created());
        // The derived type opens the region a schema built.
        let typed = scratch.target.open(&OpenOptions::<Board>::new()).unwrap();
        assert_eq!(typed.snapshot(), board());
        assert_eq!(
            std::fs::read(scratch.target.backing_path()).unwrap().len() % 4096,
            0
        );
    }
}

#[test]
fn a_run_time_layout_refuses_a_region_of_another_naming_what_differs() {
    let scratch = Scratch::file();
    drop(scratch.target.open(Foo::options().initial(SEED)).unwrap());
    let other = StructDesc::repr_c(
        "Foo",
        vec![
            ("bar".into(), Primitive::I32.into()),
            ("bazz".into(), Primitive::I32.into()),
        ],
    )
    .unwrap();
    let err = RegionOptions::new()
        .schema(Schema::new(other))
        .open_file(scratch.target.backing_path())
        .unwrap_err();
    assert!(matches!(err, Error::LayoutMismatch { .. }));
    assert!(
        err.to_string().contains("field `baz` renamed to `bazz`"),
        "{err}"
    );
    let err = RegionOptions::new()
        .open_file(scratch.target.backing_path().with_extension("missing"))
        .unwrap_err();
    assert!(matches!(err, Error::NotFound { .. }), "{err:?}");
}

/// An update through bytes writes back only what changed: a concurrent
/// `fetch_add` on another field, made while the update's closure runs, is
/// kept.
#[test]
fn a_byte_update_leaves_other_fields_alone() {
    let scratch = Scratch::shm();
    let typed = scratch
        .target
        .open(Board::options().initial(board()))
        .unwrap();
    let region = open_any(&scratch.target);
    region
        .update(|bytes| {
            typed.total.fetch_add(100); // another writer, mid-update
            bytes[8..12].copy_from_slice(&5u32.to_le_bytes());
        })
        .unwrap();
    let after = typed.snapshot();
    assert_eq!((after.id, after.total), (5, 107));
}

/// Tools see who holds the writer lock.
#[test]
fn the_lock_state_names_a_live_holder() {
    let scratch = Scratch::file();
    drop(scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap());
    let mut holder = Helper::start("hold-until-released", &scratch.target, &["1"], &[]);
    let handoff = scratch.target.open(&OpenOptions::<Handoff>::new()).unwrap();
    assert_eq!(holder.line(), "in update");
    let region = open_any(&scratch.target);
    assert_eq!(
        region.lock_state(),
        LockState::Held {
            pid: holder.pid(),
            alive: Some(true)
        }
    );
    let users = region.users().unwrap();
    let holders: Vec<u32> = users.holders().collect();
    assert!(holders.contains(&holder.pid()), "{users:?}");
    assert!(holders.contains(&std::process::id()), "{users:?}");
    handoff.release.set(1);
    handoff.notify();
    holder.finish();
    assert_eq!(handoff.value.get(), 1);
    assert_eq!(region.lock_state(), LockState::Free);
}

/// A transaction publishes on commit, and nothing when dropped.
#[test]
fn a_transaction_publishes_on_commit_only() {
    let scratch = Scratch::file();
    let typed = scratch.target.open(Foo::options().initial(SEED)).unwrap();
    let region = open_any(&scratch.target);
    let mut dropped = region.begin().unwrap();
    dropped.bytes()[0..4].copy_from_slice(&1i32.to_le_bytes());
    drop(dropped);
    assert_eq!(typed.snapshot(), SEED);
    let mut committed = region.begin().unwrap();
    committed.bytes()[0..4].copy_from_slice(&2i32.to_le_bytes());
    committed.commit().unwrap();
    assert_eq!(typed.snapshot(), Foo { bar: 2, baz: 98 });
}

/// A snapshot comes with the version it is the state of, while another
/// thread updates as fast as it can: every update moves the version by one
/// and the count by one, so the two always agree.
#[test]
fn a_snapshot_comes_with_its_own_version() {
    const UPDATES: u64 = 20_000;
    let scratch = Scratch::shm();
    let typed = scratch.target.open(&OpenOptions::<Tally>::new()).unwrap();
    let region = open_any(&scratch.target);
    let base = region.version();
    let writer = std::thread::spawn(move || {
        for _ in 0..UPDATES {
            typed.update(|t| t.by_update += 1);
        }
    });
    let mut checked = 0u64;
    loop {
        let (bytes, version) = region.snapshot_with_version();
        let count = u64::from_le_bytes(bytes[8..16].try_into().unwrap());
        assert_eq!(version - base, count, "after {checked} agreeing snapshots");
        checked += 1;
        if count == UPDATES {
            break;
        }
    }
    writer.join().unwrap();
}

/// Fields read and written by offset, as a binding resolves them once:
/// only where the schema has a scalar of that width.
#[test]
fn fields_by_offset_are_checked_against_the_schema() {
    let scratch = Scratch::file();
    let typed = scratch
        .target
        .open(Board::options().initial(board()))
        .unwrap();
    let region = open_any(&scratch.target);
    for path in ["total", "id", "temps[1]", "corners[1].y"] {
        let (offset, primitive) = region.scalar(path).unwrap();
        assert_eq!(
            region.get_at(offset, primitive).unwrap(),
            region.get(path).unwrap()
        );
    }
    let (offset, primitive) = region.scalar("corners[1].y").unwrap();
    region.set_at(offset, primitive, Value::Signed(-9)).unwrap();
    assert_eq!(typed.corners[1].y.get(), -9);
    // Another type of the same width reads the same bits.
    let (id, _) = region.scalar("id").unwrap();
    assert_eq!(region.get_at(id, Primitive::I32).unwrap(), Value::Signed(3));
    // Not a scalar's start, the wrong width, past the end.
    for (offset, primitive) in [
        (id + 1, Primitive::U8),
        (id, Primitive::U64),
        (id, Primitive::U16),
        (region.size(), Primitive::U8),
        (usize::MAX, Primitive::U64),
    ] {
        let err = region.get_at(offset, primitive).unwrap_err();
        assert!(matches!(err, Error::NoSuchField { .. }), "{err}");
        assert!(region
            .set_at(offset, primitive, Value::Unsigned(0))
            .is_err());
    }
    assert!(matches!(
        region.set_at(id, Primitive::U32, Value::Signed(-1)),
        Err(Error::InvalidValue { .. })
    ));
    let read_only = Region::open_file_read_only(scratch.target.backing_path()).unwrap();
    assert!(matches!(
        read_only.set_at(id, Primitive::U32, Value::Unsigned(1)),
        Err(Error::PermissionDenied { .. })
    ));
    assert_eq!(typed.snapshot().total, 7);
}

/// The scalar that starts at an offset, as C's `offsetof` names it: found
/// with its path and type, and only where a scalar starts.
#[test]
fn the_scalar_at_an_offset_is_found_with_its_path() {
    let scratch = Scratch::file();
    drop(
        scratch
            .target
            .open(Board::options().initial(board()))
            .unwrap(),
    );
    let region = open_any(&scratch.target);
    for leaf in region.schema().leaves() {
        assert_eq!(region.scalar_at(leaf.offset).unwrap(), leaf);
        assert_eq!(
            region.get_at(leaf.offset, leaf.primitive).unwrap(),
            region.get(&leaf.path).unwrap()
        );
    }
    let found = region.scalar_at(26).unwrap();
    assert_eq!(
        (found.path.as_str(), found.primitive),
        ("corners[1].y", Primitive::I16)
    );
    for (offset, reason) in [
        (
            9,
            "offset 9 is inside `id` (u32, bytes 8..12), not at its start",
        ),
        (
            23,
            "offset 23 is inside `corners[0].y` (i16, bytes 22..24), not at its start",
        ),
        (32, "offset 32 is past the end of `Board` (32 bytes)"),
        (usize::MAX, "is past the end of `Board` (32 bytes)"),
    ] {
        let err = region.scalar_at(offset).unwrap_err();
        assert!(matches!(err, Error::NoSuchField { .. }), "{err:?}");
        let text = err.to_string();
        assert!(text.contains(reason), "{text}");
        assert!(text.contains(&format!("\"@{offset}\"")), "{text}");
        assert!(
            text.contains(&scratch.target.backing_path().display().to_string()),
            "{text}"
        );
    }
}

/// `fetch` by offset: the same operations as by path, checked the same way.
#[test]
fn fetch_by_offset_applies_an_operation_where_a_scalar_starts() {
    let scratch = Scratch::file();
    let typed = scratch
        .target
        .open(Board::options().initial(board()))
        .unwrap();
    let region = open_any(&scratch.target);
    let y1 = region.scalar_at(26).unwrap();
    assert_eq!(
        region
            .fetch_at(y1.offset, y1.primitive, FieldOp::Add, Value::Signed(5))
            .unwrap(),
        Value::Signed(40)
    );
    assert_eq!(typed.corners[1].y.get(), 45);
    assert_eq!(
        region
            .fetch_at(0, Primitive::U64, FieldOp::Max, Value::Unsigned(100))
            .unwrap(),
        Value::Unsigned(7)
    );
    assert_eq!(
        region
            .fetch_at(0, Primitive::U64, FieldOp::Swap, Value::Unsigned(3))
            .unwrap(),
        Value::Unsigned(100)
    );
    assert_eq!(typed.total.get(), 3);
    assert_eq!(
        region
            .fetch_at(16, Primitive::F32, FieldOp::Add, Value::F32(1.0))
            .unwrap(),
        Value::F32(-0.25)
    );
    assert_eq!(typed.temps[1].get(), 0.75);
    // By path and by offset, the same field.
    assert_eq!(
        region
            .fetch("corners[1].y", FieldOp::Sub, Value::Signed(45))
            .unwrap(),
        Value::Signed(45)
    );
    assert_eq!(
        region
            .fetch_at(26, Primitive::I16, FieldOp::Swap, Value::Signed(6))
            .unwrap(),
        Value::Signed(0)
    );
    assert_eq!(region.get("corners[1].y").unwrap(), Value::Signed(6));

    // A refused operand names the field by the path found at the offset.
    let err = region
        .fetch_at(20, Primitive::I16, FieldOp::Add, Value::Signed(40_000))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("`corners[0].x`") && text.contains("i16 (-32768 to 32767)"),
        "{text}"
    );
    let err = region
        .fetch_at(16, Primitive::F32, FieldOp::Xor, Value::F32(1.0))
        .unwrap_err();
    assert!(matches!(err, Error::InvalidValue { .. }), "{err:?}");
    assert!(err.to_string().contains("`temps[1]`"), "{err}");
    let err = region
        .set_at(8, Primitive::U32, Value::Signed(-1))
        .unwrap_err();
    assert!(err.to_string().contains("`id`"), "{err}");

    // Not a scalar's start, the wrong width, past the end.
    let before = region.snapshot();
    for (offset, primitive) in [
        (9, Primitive::U32),
        (21, Primitive::I16),
        (8, Primitive::U64),
        (0, Primitive::U32),
        (region.size(), Primitive::U8),
        (usize::MAX, Primitive::U64),
    ] {
        let err = region
            .fetch_at(offset, primitive, FieldOp::Add, Value::Unsigned(1))
            .unwrap_err();
        assert!(matches!(err, Error::NoSuchField { .. }), "{err}");
    }
    assert_eq!(
        region.snapshot(),
        before,
        "a refused fetch changed the region"
    );

    let read_only = Region::open_file_read_only(scratch.target.backing_path()).unwrap();
    for offset in [0, 9, usize::MAX] {
        let err = read_only
            .fetch_at(offset, Primitive::U64, FieldOp::Add, Value::Unsigned(1))
            .unwrap_err();
        assert!(matches!(err, Error::PermissionDenied { .. }), "{err:?}");
    }
    assert_eq!(read_only.scalar_at(0).unwrap().path, "total");
    assert_eq!(region.snapshot(), before);
}

/// A caller that must not panic asks whether it already holds the lock.
#[test]
fn a_thread_knows_whether_it_holds_the_lock() {
    let scratch = Scratch::file();
    let _typed = scratch.target.open(Foo::options().initial(SEED)).unwrap();
    let region = open_any(&scratch.target);
    let other = open_any(&scratch.target);
    assert!(!region.locked_by_current_thread());
    let transaction = region.begin().unwrap();
    assert!(region.locked_by_current_thread());
    assert!(
        other.locked_by_current_thread(),
        "another handle, same object"
    );
    std::thread::scope(|s| {
        s.spawn(|| assert!(!other.locked_by_current_thread()));
    });
    drop(transaction);
    assert!(!region.locked_by_current_thread());
    region
        .update(|_| assert!(other.locked_by_current_thread()))
        .unwrap();
    assert!(!other.locked_by_current_thread());
}
