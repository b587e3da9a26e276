/// Shared-memory view of [`Aligned`]: one atomic cell per field.
///
/// `Shared<Aligned>` dereferences to it. Each field is read and written with
/// atomic operations on the shared memory (`get`, `set`, `fetch_add`, ...);
/// arrays index to cells and nested structs to their own views.
#[repr(C, align(16))]
struct Cells {
    r#type: <u32 as ::my::shm::SharedField>::View,
    _pad: <[u8; 12] as ::my::shm::SharedField>::View,
}
/// Read-only shared-memory view of [`Aligned`]: one atomic cell per field,
/// which can be read but not written.
///
/// `ReadOnly<Aligned>` (from `Aligned::open_file_read_only`) dereferences to
/// it. Each field is read with an atomic load (`get`); arrays index to cells
/// and nested structs to their own read-only views.
#[repr(C, align(16))]
struct ReadCells {
    r#type: <u32 as ::my::shm::SharedField>::ReadOnlyView,
    _pad: <[u8; 12] as ::my::shm::SharedField>::ReadOnlyView,
}
const _: () = {
    #[automatically_derived]
    unsafe impl ::my::shm::SharedField for Aligned {
        type View = Cells;
        type ReadOnlyView = ReadCells;
        const TYPE: &'static ::my::shm::TypeInfo = &::my::shm::TypeInfo::Struct {
            name: "Aligned",
            size: ::core::mem::size_of::<Aligned>(),
            align: ::core::mem::align_of::<Aligned>(),
            fields: &[
                ::my::shm::FieldInfo {
                    name: "type",
                    offset: ::core::mem::offset_of!(Aligned, r#type),
                    ty: <u32 as ::my::shm::SharedField>::TYPE,
                },
                ::my::shm::FieldInfo {
                    name: "_pad",
                    offset: ::core::mem::offset_of!(Aligned, _pad),
                    ty: <[u8; 12] as ::my::shm::SharedField>::TYPE,
                },
            ],
        };
    }
    #[automatically_derived]
    unsafe impl ::my::shm::SharedState for Aligned {
        const NAME: &'static str = "Aligned";
    }
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Aligned, r#type) == 0,
        "`Aligned` has implicit padding before field `type`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Aligned, _pad) == ::core::mem::offset_of!(Aligned,
        r#type) + ::core::mem::size_of:: < u32 > (),
        "`Aligned` has implicit padding before field `_pad`: add an explicit field such as `_pad: [u8; N]` in front of it to fill the gap"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < Aligned > () == ::core::mem::offset_of!(Aligned, _pad) +
        ::core::mem::size_of:: < [u8; 12] > (),
        "`Aligned` has implicit padding after its last field `_pad`: add an explicit trailing field such as `_pad: [u8; N]`"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < Aligned > () > 0,
        "`Aligned` is zero-sized, and zero-sized structs cannot be shared; add a field that holds data"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < Aligned > () <= 4096,
        "`Aligned` needs an alignment above 4096 bytes, through one of its fields, but shared regions are page-aligned: the largest supported alignment is 4096"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < Cells > () == ::core::mem::size_of:: < Aligned > (),
        "`Cells` must have the size of `Aligned`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < Cells > () == ::core::mem::align_of:: < Aligned > (),
        "`Cells` must have the alignment of `Aligned`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Cells, r#type) == ::core::mem::offset_of!(Aligned,
        r#type),
        "`Cells::type` must be at the offset of `Aligned::type`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(Cells, _pad) == ::core::mem::offset_of!(Aligned, _pad),
        "`Cells::_pad` must be at the offset of `Aligned::_pad`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::size_of:: < ReadCells > () == ::core::mem::size_of:: < Aligned > (),
        "`ReadCells` must have the size of `Aligned`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::align_of:: < ReadCells > () == ::core::mem::align_of:: < Aligned >
        (),
        "`ReadCells` must have the alignment of `Aligned`: a field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(ReadCells, r#type) == ::core::mem::offset_of!(Aligned,
        r#type),
        "`ReadCells::type` must be at the offset of `Aligned::type`: the field type's `SharedField` impl is wrong"
    );
    const _: () = ::core::assert!(
        ::core::mem::offset_of!(ReadCells, _pad) == ::core::mem::offset_of!(Aligned,
        _pad),
        "`ReadCells::_pad` must be at the offset of `Aligned::_pad`: the field type's `SharedField` impl is wrong"
    );
    #[automatically_derived]
    impl ::core::fmt::Debug for Cells {
        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            f.debug_struct("Cells")
                .field("type", &self.r#type)
                .field("_pad", &self._pad)
                .finish()
        }
    }
    #[automatically_derived]
    impl ::core::fmt::Debug for ReadCells {
        fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
            f.debug_struct("ReadCells")
                .field("type", &self.r#type)
                .field("_pad", &self._pad)
                .finish()
        }
    }
    #[automatically_derived]
    impl Aligned {
        /// Opens the `Aligned` region in the file at `path`: created and filled
        /// with zero bytes when missing, opened when it already holds a `Aligned`.
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
        pub fn open_file<P: ::core::convert::AsRef<::my::shm::__private::Path>>(
            path: P,
        ) -> ::my::shm::Result<::my::shm::Shared<Self>> {
            ::my::shm::OpenOptions::<Self>::new().open_file(path)
        }
        /// Opens the `Aligned` region in the POSIX shared memory object `name`
        /// (a leading `/` is optional): created and filled with zero bytes when
        /// missing, opened when it already holds a `Aligned`.
        ///
        /// # Errors
        ///
        /// `Error::InvalidName` for a name POSIX does not allow, and otherwise
        /// those of [`open_file`](Self::open_file).
        pub fn open_shm(name: &str) -> ::my::shm::Result<::my::shm::Shared<Self>> {
            ::my::shm::OpenOptions::<Self>::new().open_shm(name)
        }
        /// Opens the `Aligned` region in the file at `path` read-only: the handle's
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
            P: ::core::convert::AsRef<::my::shm::__private::Path>,
        >(path: P) -> ::my::shm::Result<::my::shm::ReadOnly<Self>> {
            ::my::shm::OpenOptions::<Self>::new().open_file_read_only(path)
        }
        /// Opens the `Aligned` region in the POSIX shared memory object `name`
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
        ) -> ::my::shm::Result<::my::shm::ReadOnly<Self>> {
            ::my::shm::OpenOptions::<Self>::new().open_shm_read_only(name)
        }
        /// The builder that opens a `Aligned` region with other settings:
        /// whether to create, the permissions, the initial value.
        pub fn options() -> ::my::shm::OpenOptions<Self> {
            ::my::shm::OpenOptions::new()
        }
        /// The bytes of `self`: exactly `size_of::<Aligned>()` of them, with no
        /// padding, ready to send elsewhere.
        pub fn as_bytes(&self) -> &[u8] {
            ::my::shm::as_bytes(self)
        }
        /// A `Aligned` from exactly `size_of::<Aligned>()` bytes, in any alignment.
        ///
        /// # Errors
        ///
        /// `Error::WrongSize` when `bytes` has another length.
        pub fn from_bytes(bytes: &[u8]) -> ::my::shm::Result<Self> {
            ::my::shm::from_bytes(bytes)
        }
    }
};
