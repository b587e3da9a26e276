//! The exported functions called as C calls them, from Rust: bad arguments
//! are statuses with messages, never crashes; each runtime error has its
//! status; the C types are checked against the field types.

use std::ffi::{c_char, c_void, CStr, CString};
use std::ptr::{null, null_mut};

use shm_ffi::*;
use shm_runtime::{Shared, SharedState};

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
struct Point {
    x: i16,
    y: i16,
}

#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
struct Gauge {
    count: u64,
    level: i32,
    ratio: f32,
    corners: [Point; 2],
    small: u8,
    tiny: i8,
    _pad: [u8; 6],
    precise: f64,
    signed: i64,
}

const GAUGE: Gauge = Gauge {
    count: u64::MAX - 1,
    level: -5,
    ratio: 0.5,
    corners: [Point { x: 1, y: 2 }, Point { x: 3, y: 4 }],
    small: 250,
    tiny: -128,
    _pad: [0; 6],
    precise: -2.25,
    signed: i64::MIN,
};

fn last() -> String {
    // SAFETY: never null, NUL-terminated, valid until the next failure on
    // this thread; copied at once.
    unsafe { CStr::from_ptr(shm_last_error()) }
        .to_string_lossy()
        .into_owned()
}

/// A region holding [`GAUGE`], in a temporary directory, and its location.
struct Fixture {
    typed: Shared<Gauge>,
    location: CString,
    _dir: tempfile::TempDir,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gauge");
    let typed = Gauge::options().initial(GAUGE).open_file(&path).unwrap();
    Fixture {
        typed,
        location: CString::new(path.to_str().unwrap()).unwrap(),
        _dir: dir,
    }
}

/// Opens `location` through the interface; panics with the message if not.
fn open(location: &CStr, read_only: bool) -> *mut ShmRegion {
    let mut region = null_mut();
    // SAFETY: a NUL-terminated string and a valid output pointer.
    let status = unsafe {
        if read_only {
            shm_region_open_read_only(location.as_ptr(), &mut region)
        } else {
            shm_region_open(location.as_ptr(), &mut region)
        }
    };
    assert_eq!(status, SHM_OK, "{}", last());
    assert!(!region.is_null());
    region
}

#[test]
fn opening_reports_each_failure_with_its_status() {
    let dir = tempfile::tempdir().unwrap();
    let missing = CString::new(dir.path().join("missing").to_str().unwrap()).unwrap();
    let foreign = dir.path().join("foreign");
    std::fs::write(&foreign, b"not a region, and it stays this way\n").unwrap();
    let foreign = CString::new(foreign.to_str().unwrap()).unwrap();
    let invalid_utf8 = c"caf\xe9";
    let no_such_shm = CString::new(format!("shm-ffi-missing-{}", std::process::id())).unwrap();

    let cases: [(*const c_char, i32, &str); 6] = [
        (null(), SHM_E_INVALID_ARGUMENT, "the location is NULL"),
        (
            invalid_utf8.as_ptr().cast(),
            SHM_E_INVALID_ARGUMENT,
            "not valid UTF-8",
        ),
        (missing.as_ptr(), SHM_E_NOT_FOUND, "not found"),
        (no_such_shm.as_ptr(), SHM_E_NOT_FOUND, "shm object"),
        (foreign.as_ptr(), SHM_E_LAYOUT, "not a shared-state region"),
        (c"".as_ptr(), SHM_E_INVALID_ARGUMENT, "invalid shm name"),
    ];
    for (location, status, message) in cases {
        for read_only in [false, true] {
            // Not null, so that the test sees the call set it to null.
            let mut region = std::ptr::dangling_mut::<ShmRegion>();
            // SAFETY: `location` is null or NUL-terminated; `region` is a
            // valid output pointer.
            let got = unsafe {
                if read_only {
                    shm_region_open_read_only(location, &mut region)
                } else {
                    shm_region_open(location, &mut region)
                }
            };
            assert_eq!(got, status, "{message}: {}", last());
            assert!(last().contains(message), "{message}: {}", last());
            assert!(region.is_null(), "a failed open leaves NULL");
        }
    }
    // SAFETY: a NUL-terminated string; the output pointer is null, which
    // the function checks.
    let status = unsafe { shm_region_open(missing.as_ptr(), null_mut()) };
    assert_eq!(status, SHM_E_INVALID_ARGUMENT);
    assert_eq!(last(), "the region output pointer is NULL");
    // SAFETY: null is allowed.
    assert_eq!(unsafe { shm_region_close(null_mut()) }, SHM_OK);
}

#[test]
fn a_region_is_described_snapshotted_and_stored() {
    let f = fixture();
    let region = open(&f.location, false);
    let mut size = 0usize;
    let mut fingerprint = 0u64;
    // SAFETY: `region` is open; outputs point to locals;
    // buffers are locals of the sizes given.
    unsafe {
        assert_eq!(shm_size(region, &mut size), SHM_OK);
        assert_eq!(size, size_of::<Gauge>());
        assert_eq!(shm_fingerprint(region, &mut fingerprint), SHM_OK);
        assert_eq!(fingerprint, Gauge::FINGERPRINT);
        assert_eq!(shm_check_layout(region, fingerprint, size), SHM_OK);
        assert_eq!(
            shm_check_layout(region, fingerprint ^ 1, size),
            SHM_E_LAYOUT
        );
        assert!(last().contains("regenerate"), "{}", last());
        assert_eq!(
            shm_check_layout(region, fingerprint, size + 8),
            SHM_E_LAYOUT
        );

        let mut copy = Gauge::default();
        let out = (&raw mut copy).cast::<c_void>();
        assert_eq!(shm_snapshot(region, out, size), SHM_OK);
        assert_eq!(copy, GAUGE);
        assert_eq!(shm_snapshot(region, out, size - 1), SHM_E_LAYOUT);
        assert!(last().contains("the buffer holds 47 bytes"), "{}", last());
        assert_eq!(
            shm_snapshot(region, null_mut(), size),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(shm_snapshot(null(), out, size), SHM_E_INVALID_ARGUMENT);
        assert_eq!(last(), "the region handle is NULL");

        let before = f.typed.version();
        copy.level = 77;
        copy.corners[1].y = -9;
        let input = (&raw const copy).cast::<c_void>();
        assert_eq!(shm_store(region, input, size), SHM_OK);
        assert_eq!(f.typed.snapshot(), copy);
        let mut version = 0;
        assert_eq!(shm_version(region, &mut version), SHM_OK);
        assert_eq!(version, f.typed.version());
        assert!(version > before);
        assert_eq!(shm_store(region, input, size + 1), SHM_E_LAYOUT);
        assert_eq!(shm_store(region, null(), size), SHM_E_INVALID_ARGUMENT);
        assert_eq!(shm_version(region, null_mut()), SHM_E_INVALID_ARGUMENT);
        assert_eq!(shm_region_close(region), SHM_OK);
    }
}

#[test]
fn fields_by_path_and_offset_with_the_types_checked() {
    let f = fixture();
    let region = open(&f.location, false);
    let mut i = 0i64;
    let mut u = 0u64;
    let mut d = 0f64;
    // SAFETY: `region` is open; paths are NUL-terminated;
    // outputs point to locals.
    unsafe {
        assert_eq!(shm_get_u64(region, c"count".as_ptr(), &mut u), SHM_OK);
        assert_eq!(u, u64::MAX - 1);
        assert_eq!(
            shm_get_i64(region, c"corners[1].y".as_ptr(), &mut i),
            SHM_OK
        );
        assert_eq!(i, 4);
        assert_eq!(shm_get_i64(region, c"corners.0.x".as_ptr(), &mut i), SHM_OK);
        assert_eq!(i, 1);
        assert_eq!(shm_get_f64(region, c"ratio".as_ptr(), &mut d), SHM_OK);
        assert_eq!(d, 0.5);
        assert_eq!(shm_get_f64(region, c"level".as_ptr(), &mut d), SHM_OK);
        assert_eq!(d, -5.0);
        assert_eq!(shm_get_i64(region, c"signed".as_ptr(), &mut i), SHM_OK);
        assert_eq!(i, i64::MIN);

        // A C type that cannot hold every value of the field: refused by
        // type, whatever the value now.
        assert_eq!(
            shm_get_i64(region, c"count".as_ptr(), &mut i),
            SHM_E_INVALID_ARGUMENT
        );
        assert!(last().contains("use shm_get_u64"), "{}", last());
        assert_eq!(
            shm_get_u64(region, c"level".as_ptr(), &mut u),
            SHM_E_INVALID_ARGUMENT
        );
        assert!(last().contains("use shm_get_i64"), "{}", last());
        assert_eq!(
            shm_get_f64(region, c"signed".as_ptr(), &mut d),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(
            shm_fetch_add_i64(region, c"count".as_ptr(), 1, null_mut()),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(f.typed.count.get(), u64::MAX - 1, "nothing was added");

        // Writes are range-checked by the runtime, by value.
        assert_eq!(shm_set_i64(region, c"small".as_ptr(), 255), SHM_OK);
        assert_eq!(
            shm_set_i64(region, c"small".as_ptr(), 256),
            SHM_E_INVALID_ARGUMENT
        );
        assert!(last().contains("u8 (0 to 255)"), "{}", last());
        assert_eq!(
            shm_set_i64(region, c"tiny".as_ptr(), -129),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(
            shm_set_f64(region, c"level".as_ptr(), 1.5),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(shm_set_u64(region, c"ratio".as_ptr(), 3), SHM_OK);
        assert_eq!(f.typed.ratio.get(), 3.0);
        assert_eq!(shm_set_f64(region, c"precise".as_ptr(), 0.125), SHM_OK);
        assert_eq!(f.typed.precise.get(), 0.125);

        let mut old = 0u64;
        assert_eq!(
            shm_fetch_add_u64(region, c"count".as_ptr(), 3, &mut old),
            SHM_OK
        );
        assert_eq!(old, u64::MAX - 1);
        assert_eq!(f.typed.count.get(), 1, "wraps at the field's width");
        let mut old_f = 0f64;
        assert_eq!(
            shm_fetch_add_f64(region, c"precise".as_ptr(), 1.0, &mut old_f),
            SHM_OK
        );
        assert_eq!((old_f, f.typed.precise.get()), (0.125, 1.125));

        // Paths that name no scalar.
        for (path, message) in [
            (c"nope", "no field `nope`"),
            (c"corners", "is an array"),
            (c"corners[2].x", "out of range"),
            (c"corners[0]", "is a struct"),
        ] {
            assert_eq!(
                shm_get_i64(region, path.as_ptr(), &mut i),
                SHM_E_NOT_FOUND,
                "{path:?}"
            );
            assert!(last().contains(message), "{path:?}: {}", last());
        }
        assert_eq!(shm_get_i64(region, null(), &mut i), SHM_E_INVALID_ARGUMENT);
        assert_eq!(last(), "the field path is NULL");
        assert_eq!(
            shm_get_i64(region, c"level".as_ptr(), null_mut()),
            SHM_E_INVALID_ARGUMENT
        );
        assert_eq!(
            shm_set_i64(region, c"lev\xffel".as_ptr(), 1),
            SHM_E_INVALID_ARGUMENT
        );
        assert!(last().contains("not valid UTF-8"), "{}", last());

        // By offset: where a scalar starts, and nowhere else.
        let y1 = std::mem::offset_of!(Gauge, corners) + size_of::<Point>() + 2;
        assert_eq!(shm_set_i64_at(region, y1, -300), SHM_OK);
        assert_eq!(f.typed.corners[1].y.get(), -300);
        assert_eq!(shm_get_i64_at(region, y1, &mut i), SHM_OK);
        assert_eq!(i, -300);
        let level = std::mem::offset_of!(Gauge, level);
        let mut old_i = 0i64;
        assert_eq!(shm_fetch_add_i64_at(region, level, 10, &mut old_i), SHM_OK);
        assert_eq!((old_i, f.typed.level.get()), (-5, 5));
        let precise = std::mem::offset_of!(Gauge, precise);
        assert_eq!(shm_set_f64_at(region, precise, 4.5), SHM_OK);
        assert_eq!(shm_get_f64_at(region, precise, &mut d), SHM_OK);
        assert_eq!(d, 4.5);
        assert_eq!(shm_set_u64_at(region, 0, 42), SHM_OK);
        assert_eq!(shm_get_u64_at(region, 0, &mut u), SHM_OK);
        assert_eq!(u, 42);
        assert_eq!(
            shm_fetch_add_f64_at(region, precise, 0.5, null_mut()),
            SHM_OK
        );
        assert_eq!(f.typed.precise.get(), 5.0);
        assert_eq!(shm_fetch_add_u64_at(region, 0, 1, null_mut()), SHM_OK);
        assert_eq!(f.typed.count.get(), 43);

        assert_eq!(shm_get_i64_at(region, level + 1, &mut i), SHM_E_NOT_FOUND);
        assert!(
            last().contains("offset 9 is inside `level` (i32, bytes 8..12)"),
            "{}",
            last()
        );
        assert_eq!(
            shm_set_i64_at(region, size_of::<Gauge>(), 1),
            SHM_E_NOT_FOUND
        );
        assert!(last().contains("past the end"), "{}", last());
        assert_eq!(
            shm_get_i64_at(region, 0, &mut i),
            SHM_E_INVALID_ARGUMENT,
            "count is a u64"
        );
        assert!(last().contains("field `count`"), "{}", last());
        // A value out of range by offset names the field by its path too.
        let small = std::mem::offset_of!(Gauge, small);
        assert_eq!(shm_set_i64_at(region, small, 256), SHM_E_INVALID_ARGUMENT);
        assert!(
            last().contains("field `small` holds u8 (0 to 255)"),
            "{}",
            last()
        );
        assert_eq!(
            shm_fetch_add_i64_at(region, small, -300, null_mut()),
            SHM_E_INVALID_ARGUMENT
        );
        assert!(last().contains("field `small`"), "{}", last());
        assert_eq!(shm_region_close(region), SHM_OK);
    }
}

#[test]
fn a_read_only_handle_reads_and_refuses_every_write() {
    let f = fixture();
    let region = open(&f.location, true);
    let mut i = 0i64;
    let mut copy = Gauge::default();
    // SAFETY: `region` is open; paths are NUL-terminated;
    // outputs and buffers are locals of the sizes given.
    unsafe {
        assert_eq!(shm_get_i64(region, c"level".as_ptr(), &mut i), SHM_OK);
        assert_eq!(i, -5);
        let out = (&raw mut copy).cast::<c_void>();
        assert_eq!(shm_snapshot(region, out, size_of::<Gauge>()), SHM_OK);
        assert_eq!(copy, GAUGE);
        let input = (&raw const copy).cast::<c_void>();
        for status in [
            shm_set_i64(region, c"level".as_ptr(), 1),
            shm_fetch_add_i64(region, c"level".as_ptr(), 1, null_mut()),
            shm_set_i64_at(region, 8, 1),
            shm_store(region, input, size_of::<Gauge>()),
            shm_notify(region, null_mut()),
        ] {
            assert_eq!(status, SHM_E_PERMISSION, "{}", last());
            assert!(last().contains("read-only"), "{}", last());
        }
        assert_eq!(f.typed.snapshot(), GAUGE);
        assert_eq!(shm_region_close(region), SHM_OK);
    }
}

#[test]
fn waiting_times_out_or_wakes_on_a_change() {
    let f = fixture();
    let region = open(&f.location, false);
    let mut seen = 0u64;
    let mut now = 0u64;
    // SAFETY: `region` is open; outputs point to locals.
    unsafe {
        assert_eq!(shm_version(region, &mut seen), SHM_OK);
        assert_eq!(
            shm_wait_for_change(region, seen, 0, &mut now),
            SHM_E_TIMEOUT
        );
        assert!(last().contains("timed out"), "{}", last());
        assert_eq!(
            shm_wait_for_change(region, seen, 5, null_mut()),
            SHM_E_TIMEOUT
        );

        // Without a deadline: the change comes from another thread, made
        // after `seen` was read, so the wait ends whenever it lands.
        let typed = &f.typed;
        std::thread::scope(|scope| {
            scope.spawn(|| typed.update(|g| g.level += 1));
            assert_eq!(shm_wait_for_change(region, seen, -1, &mut now), SHM_OK);
        });
        assert!(now > seen);
        assert_eq!(f.typed.level.get(), -4);

        let mut notified = 0u64;
        assert_eq!(shm_notify(region, &mut notified), SHM_OK);
        assert!(notified > now);
        assert_eq!(shm_wait_for_change(region, now, 0, &mut seen), SHM_OK);
        assert_eq!(seen, notified);
        assert_eq!(shm_region_close(region), SHM_OK);
    }
}

#[test]
fn a_shm_name_is_a_location_without_a_slash() {
    let name = format!("shm-ffi-abi-{}", std::process::id());
    let typed = Gauge::options().initial(GAUGE).open_shm(&name).unwrap();
    let location = CString::new(name.clone()).unwrap();
    let region = open(&location, false);
    let mut i = 0i64;
    // SAFETY: `region` is open, the path NUL-terminated, the output a local.
    unsafe {
        assert_eq!(shm_set_i64(region, c"level".as_ptr(), 12), SHM_OK);
        assert_eq!(shm_get_i64(region, c"level".as_ptr(), &mut i), SHM_OK);
        assert_eq!(shm_region_close(region), SHM_OK);
    }
    assert_eq!((i, typed.level.get()), (12, 12));
    // Through /dev/shm, the same object is a file path.
    let path = CString::new(format!("/dev/shm/{name}")).unwrap();
    let region = open(&path, true);
    // SAFETY: as above.
    unsafe {
        assert_eq!(shm_get_i64(region, c"level".as_ptr(), &mut i), SHM_OK);
        assert_eq!(shm_region_close(region), SHM_OK);
    }
    assert_eq!(i, 12);
    shm_runtime::remove_shm(&name).unwrap();
}
