/// Shared-memory view of [`Foo`]: one atomic cell per field.
///
/// `Shared<Foo>` dereferences to it. Each field is read and written with
/// atomic operations on the shared memory (`get`, `set`, `fetch_add`, ...);
/// arrays index to cells and nested structs to their own views.
#[repr(C)]
pub struct FooView {
    /// A scalar.
    pub bar: <i32 as ::shm_runtime::SharedField>::View,
    /// An array.
    pub baz: <[u8; 4] as ::shm_runtime::SharedField>::View,
    /// A nested struct.
    pub inner: <Inner as ::shm_runtime::SharedField>::View,
    pub(crate) ratio: <f64 as ::shm_runtime::SharedField>::View,
    counts: <[[u16; 2]; 4] as ::shm_runtime::SharedField>::View,
}
/// Read-only shared-memory view of [`Foo`]: one atomic cell per field,
/// which can be read but not written.
///
/// `ReadOnly<Foo>` (from `Foo::open_file_read_only`) dereferences to
/// it. Each field is read with an atomic load (`get`); arrays index to cells
/// and nested structs to their own read-only views.
#[repr(C)]
pub struct FooReadOnlyView {
    /// A scalar.
    pub bar: <i32 as ::shm_runtime::SharedField>::ReadOnlyView,
    /// An array.
    pub baz: <[u8; 4] as ::shm_runtime::SharedField>::ReadOnlyView,
    /// A nested struct.
    pub inner: <Inner as ::shm_runtime::SharedField>::ReadOnlyView,
    pub(crate) ratio: <f64 as ::shm_runtime::SharedField>::ReadOnlyView,
    counts: <[[u16; 2]; 4] as ::shm_runtime::SharedField>::ReadOnlyView,
}
const _: () = {
    #[automatically_derived]
    unsafe impl ::shm_runtime::SharedField for Foo {
        type View = FooView;
        type ReadOnlyView = FooReadOnlyView;
        const TYPE: &'static ::shm_runtime::TypeInfo = &::shm_runtime::TypeInfo::Struct {
            name: "Foo",
            size: ::core::mem::size_of::<Foo>(),
            align: ::core::mem::align_of::<Foo>(),
            fields: &[
                ::shm_runtime::FieldInfo {
                    name: "bar",
                    offset: ::core::mem::offset_of!(Foo, bar),
                    ty: <i32 as ::shm_runtime::SharedField>::TYPE,
                },
                ::shm_runtime::FieldInfo {
                    name: "baz",
                    offset: ::core::mem::offset_of!(Foo, baz),
                    ty: <[u8; 4] as ::shm_runtime::SharedField>::TYPE,
                },
                ::shm_runtime::FieldInfo {
                    name: "inner",
                    offset: ::core::mem::offset_of!(Foo, inner),
                    ty: <Inner as ::shm_runtime::SharedField>::TYPE,
                },
                ::shm_runtime::FieldInfo {
                    name: "ratio",
                    offset: ::core::mem::offset_of!(Foo, ratio),
                    ty: <f64 as ::shm_runtime::SharedField>::TYPE,
                },
                ::shm_runtime::FieldInfo {
                    name: "counts",
                    offset: ::core::mem::offset_of!(Foo, counts),
                    ty: <[[u16; 2]; 4] as ::shm_runtime::SharedField>::TYPE,
                },
            ],
        };
    }
    #[automatically_derived]
    unsafe impl ::shm_runtime::SharedState for Foo {
        const NAME: &'static str = "Foo";
    }
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Foo, bar) == 0,
        "`Foo` has implicit padding before field `bar`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Foo, baz) == ::core::mem::offset_of!(Foo, bar) +
        ::core::mem::size_of:: < i32 > (),
        "`Foo` has implicit padding before field `baz`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Foo, inner) == ::core::mem::offset_of!(Foo, baz) +
        ::core::mem::size_of:: < [u8; 4] > (),
        "`Foo` has implicit padding before field `inner`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Foo, ratio) == ::core::mem::offset_of!(Foo, inner) +
        ::core::mem::size_of:: < Inner > (),
        "`Foo` has implicit padding before field `ratio`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Foo, counts) == ::core::mem::offset_of!(Foo, ratio) +
        ::core::mem::size_of:: < f64 > (),
        "`Foo` has implicit padding before field `counts`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < Foo > () == ::core::mem::offset_of!(Foo, counts) +
        ::core::mem::size_of:: < [[u16; 2]; 4] > (),
        "`Foo` has implicit padding after its last field `counts`: add an explicit trailing field such as `_pad: [u8; N]`"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < Foo > () > 0,
        "`Foo` is zero-sized, and zero-sized structs cannot be shared; add a field that holds data"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < Foo > () <= 4096,
        "`Foo` needs an alignment above 4096 bytes, through one of its fields, but shared regions are page-aligned: the largest supported alignment is 4096"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < FooView > () == ::core::mem::size_of:: < Foo > (),
        "`FooView` must have the size of `Foo`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < FooView > () == ::core::mem::align_of:: < Foo > (),
        "`FooView` must have the alignment of `Foo`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooView, bar) == ::core::mem::offset_of!(Foo, bar),
        "`FooView::bar` must be at the offset of `Foo::bar`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooView, baz) == ::core::mem::offset_of!(Foo, baz),
        "`FooView::baz` must be at the offset of `Foo::baz`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooView, inner) == ::core::mem::offset_of!(Foo, inner),
        "`FooView::inner` must be at the offset of `Foo::inner`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooView, ratio) == ::core::mem::offset_of!(Foo, ratio),
        "`FooView::ratio` must be at the offset of `Foo::ratio`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooView, counts) == ::core::mem::offset_of!(Foo, counts),
        "`FooView::counts` must be at the offset of `Foo::counts`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < FooReadOnlyView > () == ::core::mem::size_of:: < Foo >
        (),
        "`FooReadOnlyView` must have the size of `Foo`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < FooReadOnlyView > () == ::core::mem::align_of:: < Foo >
        (),
        "`FooReadOnlyView` must have the alignment of `Foo`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooReadOnlyView, bar) == ::core::mem::offset_of!(Foo,
        bar),
        "`FooReadOnlyView::bar` must be at the offset of `Foo::bar`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooReadOnlyView, baz) == ::core::mem::offset_of!(Foo,
        baz),
        "`FooReadOnlyView::baz` must be at the offset of `Foo::baz`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooReadOnlyView, inner) == ::core::mem::offset_of!(Foo,
        inner),
        "`FooReadOnlyView::inner` must be at the offset of `Foo::inner`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooReadOnlyView, ratio) == ::core::mem::offset_of!(Foo,
        ratio),
        "`FooReadOnlyView::ratio` must be at the offset of `Foo::ratio`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(FooReadOnlyView, counts) == ::core::mem::offset_of!(Foo,
        counts),
        "`FooReadOnlyView::counts` must be at the offset of `Foo::counts`: the field type's `SharedField` impl is wrong"
    );
    #[automatically_derived]
    impl ::core::fmt::Debug for FooView {
        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            f.debug_struct("FooView")
                .field("bar", &self.bar)
                .field("baz", &self.baz)
                .field("inner", &self.inner)
                .field("ratio", &self.ratio)
                .field("counts", &self.counts)
                .finish()
        }
    }
    #[automatically_derived]
    impl ::core::fmt::Debug for FooReadOnlyView {
        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            f.debug_struct("FooReadOnlyView")
                .field("bar", &self.bar)
                .field("baz", &self.baz)
                .field("inner", &self.inner)
                .field("ratio", &self.ratio)
                .field("counts", &self.counts)
                .finish()
        }
    }
    #[automatically_derived]
    impl Foo {
        /// Opens the `Foo` region in the file at `path`: created and filled
        /// with zero bytes when missing, opened when it already holds a `Foo`.
        ///
        /// Shorthand for `Self::options().open_file(path)`; [`options`](Self::options)
        /// sets whether to create, the permissions and the initial value.
        ///
        /// # Errors
        ///
        /// `Error::NotSharedState` when the file is not a region of this library
        /// (it is left untouched), `Error::LayoutMismatch` when it holds another
        /// layout, `Error::Truncated` when it is shorter than its header records,
        /// `Error::Io` when a system call fails.
        pub fn open_file<P: ::core::convert::AsRef<::shm_runtime::__private::Path>>(
            path: P,
        ) -> ::shm_runtime::Result<::shm_runtime::Shared<Self>> {
            ::shm_runtime::OpenOptions::<Self>::new().open_file(path)
        }
        /// Opens the `Foo` region in the POSIX shared memory object `name`
        /// (a leading `/` is optional): created and filled with zero bytes when
        /// missing, opened when it already holds a `Foo`.
        ///
        /// # Errors
        ///
        /// `Error::InvalidName` for a name POSIX does not allow, and otherwise
        /// those of [`open_file`](Self::open_file).
        pub fn open_shm(
            name: &str,
        ) -> ::shm_runtime::Result<::shm_runtime::Shared<Self>> {
            ::shm_runtime::OpenOptions::<Self>::new().open_shm(name)
        }
        /// Opens the `Foo` region in the file at `path` read-only: the handle's
        /// view offers `get`, not `set`.
        ///
        /// Needs only read permission on the file, and maps it read-only: it never
        /// creates, initialises, writes or recovers anything. A region still being
        /// created is waited for (bounded).
        ///
        /// Shorthand for `Self::options().open_file_read_only(path)`.
        ///
        /// # Errors
        ///
        /// `Error::NotFound` when the file is missing, `Error::PermissionDenied`
        /// when it may not be read, `Error::NotSharedState` when it is not a region
        /// of this library, `Error::LayoutMismatch` when it holds another layout,
        /// `Error::Truncated` when it is shorter than its header records,
        /// `Error::Timeout` when its creator does not finish in time, `Error::Io`
        /// when a system call fails.
        pub fn open_file_read_only<
            P: ::core::convert::AsRef<::shm_runtime::__private::Path>,
        >(path: P) -> ::shm_runtime::Result<::shm_runtime::ReadOnly<Self>> {
            ::shm_runtime::OpenOptions::<Self>::new().open_file_read_only(path)
        }
        /// Opens the `Foo` region in the POSIX shared memory object `name`
        /// (a leading `/` is optional) read-only: the handle's view offers `get`,
        /// not `set`.
        ///
        /// Needs only read permission on the object, and maps it read-only: it
        /// never creates, initialises, writes or recovers anything.
        ///
        /// # Errors
        ///
        /// `Error::InvalidName` for a name POSIX does not allow, and otherwise
        /// those of [`open_file_read_only`](Self::open_file_read_only).
        pub fn open_shm_read_only(
            name: &str,
        ) -> ::shm_runtime::Result<::shm_runtime::ReadOnly<Self>> {
            ::shm_runtime::OpenOptions::<Self>::new().open_shm_read_only(name)
        }
        /// The builder that opens a `Foo` region with other settings:
        /// whether to create, the permissions, the initial value.
        pub fn options() -> ::shm_runtime::OpenOptions<Self> {
            ::shm_runtime::OpenOptions::new()
        }
        /// The bytes of `self`: exactly `size_of::<Foo>()` of them, with no
        /// padding, ready to send elsewhere.
        pub fn as_bytes(&self) -> &[u8] {
            ::shm_runtime::as_bytes(self)
        }
        /// A `Foo` from exactly `size_of::<Foo>()` bytes, in any alignment.
        ///
        /// # Errors
        ///
        /// `Error::WrongSize` when `bytes` has another length.
        pub fn from_bytes(bytes: &[u8]) -> ::shm_runtime::Result<Self> {
            ::shm_runtime::from_bytes(bytes)
        }
    }
};
