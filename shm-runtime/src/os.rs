//! System calls (being written).
