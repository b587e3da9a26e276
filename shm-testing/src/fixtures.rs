//! The structs the multi-process tests share with their helper process
//! `shm-test-child`.

use shm_runtime::SharedState;

/// The struct of the original scenario.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Foo {
    pub bar: i32,
    pub baz: i32,
}

/// Same size and alignment as [`Foo`], other field names: another layout.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Renamed {
    pub bar: i32,
    pub qux: i32,
}

/// Another size altogether.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Wide {
    pub a: u64,
    pub samples: [u32; 6],
}

/// One shared counter.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Counter {
    pub count: u64,
}

/// The initial value the seed scenario and the creation races use.
pub const SEED: Foo = Foo { bar: 42, baz: 98 };

/// A struct with an invariant spanning many fields: every element of
/// `data` equals `round`. A torn read would show two different values.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Invariant {
    pub round: u64,
    pub data: [u64; 31],
}

impl Invariant {
    /// Whether the invariant holds.
    pub fn is_consistent(&self) -> bool {
        self.data.iter().all(|&d| d == self.round)
    }

    /// The next consistent value.
    pub fn advance(&mut self) {
        self.round += 1;
        self.data = [self.round; 31];
    }
}

/// Two counters: one bumped with `fetch_add`, the other with `update`.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Tally {
    pub by_field: u64,
    pub by_update: u64,
}

/// A nested struct, for layouts with nesting.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Point {
    pub x: i16,
    pub y: i16,
}

/// Scalars of several kinds, an array, an array of structs, explicit padding.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Board {
    pub total: u64,
    pub id: u32,
    pub temps: [f32; 2],
    pub corners: [Point; 2],
    pub _pad: [u8; 4],
}

/// A 64 MiB struct: more than a main thread's stack.
#[allow(missing_debug_implementations)] // 8 million numbers: not for printing
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Huge {
    pub head: u64,
    pub data: [u64; (64 << 20) / 8 - 1],
}

/// A 4 MiB struct: more than a spawned thread's default stack.
#[allow(missing_debug_implementations)] // half a million numbers: not for printing
#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Big {
    pub head: u64,
    pub data: [u64; (4 << 20) / 8 - 1],
}

/// Every other word changes in an update: more separate ranges than the
/// journal lists, so it journals whole copies.
#[derive(SharedState, Clone, Copy, Debug, PartialEq)]
#[repr(C)]
pub struct Striped {
    pub words: [u64; 64],
}

impl Striped {
    /// Whether every even word holds the same round (the odd ones are
    /// untouched by updates).
    pub fn is_consistent(&self) -> bool {
        self.words.iter().step_by(2).all(|&w| w == self.words[0])
    }

    /// The next round, on every even word.
    pub fn advance(&mut self) {
        let next = self.words[0] + 1;
        self.words.iter_mut().step_by(2).for_each(|w| *w = next);
    }
}

/// A value and two flags for handshakes around a held writer lock: a holder
/// sets `holding` (a field write) while its closure runs, and waits there
/// for `release`.
#[derive(SharedState, Clone, Copy, Debug, Default, PartialEq)]
#[repr(C)]
pub struct Handoff {
    pub value: u64,
    pub holding: u64,
    pub release: u64,
}
