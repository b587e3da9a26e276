//! Region header (being written).
