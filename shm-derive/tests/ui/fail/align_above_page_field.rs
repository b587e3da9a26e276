// An alignment above a page that comes from a field type, here one with a
// hand-written (and so unchecked) `SharedField` impl, is rejected too.
use shm_runtime::{
    FieldInfo, Primitive, ReadOnlyCell, SharedCell, SharedField, SharedState, TypeInfo,
};

#[derive(Clone, Copy)]
#[repr(C, align(8192))]
pub struct Huge {
    pub bytes: [u8; 8192],
}

#[derive(Debug)]
#[repr(C, align(8192))]
pub struct HugeView {
    pub bytes: [SharedCell<u8>; 8192],
}

#[derive(Debug)]
#[repr(C, align(8192))]
pub struct HugeReadOnlyView {
    pub bytes: [ReadOnlyCell<u8>; 8192],
}

// SAFETY: not sound (the alignment breaks the contract), which is what the
// derive below must catch.
unsafe impl SharedField for Huge {
    type View = HugeView;
    type ReadOnlyView = HugeReadOnlyView;
    const TYPE: &'static TypeInfo = &TypeInfo::Struct {
        name: "Huge",
        size: 8192,
        align: 8192,
        fields: &[FieldInfo {
            name: "bytes",
            offset: 0,
            ty: &TypeInfo::Array {
                element: &TypeInfo::Primitive(Primitive::U8),
                len: 8192,
            },
        }],
    };
}

#[derive(SharedState, Clone, Copy)]
#[repr(C)]
pub struct Outer {
    pub huge: Huge,
}

fn main() {}
