//! A validated, mapped, published region: what every handle holds.

use std::sync::atomic::AtomicU32;

use memmap2::MmapRaw;

use crate::error::Location;
use crate::header::{Geometry, STATE_OFFSET};
use crate::os::Access;
use crate::sync::object::Object;

/// A validated, mapped, published region.
pub(crate) struct Mapping {
    pub(crate) map: MmapRaw,
    pub(crate) geometry: Geometry,
    pub(crate) location: Location,
    /// The mapped object's device and inode (what names its lock's
    /// holders), and this handle's descriptor of it, which keeps its entry
    /// in the record of who holds the object open.
    pub(crate) object: Object,
    pub(crate) access: Access,
    /// This call created the region (and wrote its initial value).
    pub(crate) created: bool,
}

impl Mapping {
    /// The header's `state` word, in the mapping.
    pub(crate) fn state(&self) -> &AtomicU32 {
        // SAFETY: the mapping is at least one page long (every geometry puts
        // the payload past the first page), page-aligned, and lives as long
        // as `self`; STATE_OFFSET is a multiple of 4 inside the header. The
        // word is only ever accessed atomically, by every process.
        unsafe { &*self.map.as_mut_ptr().add(STATE_OFFSET).cast::<AtomicU32>() }
    }
}
