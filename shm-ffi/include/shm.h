/*
 * shm.h: the C interface of shm, typed shared state between processes.
 *
 * A region holds one #[repr(C)] struct that several processes read and write
 * at memory speed: every field is an atomic cell, whole-struct snapshots are
 * never torn, whole-struct stores are all or nothing. This interface opens a
 * region made by Rust (#[derive(SharedState)]), Python or the `shm` tool and
 * reaches it through the same implementation of the protocol as they do.
 *
 * `shm codegen REGION --lang c` writes a header with the region's struct as a
 * C typedef (every size and offset checked by _Static_assert) and this
 * interface, so a program can snapshot into and store from that struct.
 *
 * Conventions
 * -----------
 * - Every function but shm_last_error() returns a status: SHM_OK (0) on
 *   success, one of the negative SHM_E_* codes on failure. Output parameters
 *   are written only on success (shm_region_open() also writes NULL to its
 *   output on failure).
 * - After a failure, shm_last_error() gives a message naming the region or
 *   field and what was expected and found.
 * - Pointer parameters may not be NULL unless their documentation says so; a
 *   NULL is SHM_E_INVALID_ARGUMENT, never a crash. Strings are NUL-terminated
 *   UTF-8; invalid UTF-8 is SHM_E_INVALID_ARGUMENT. Output parameters need
 *   no particular alignment.
 * - What the library cannot check is the caller's to guarantee: a region
 *   pointer came from shm_region_open() or shm_region_open_read_only() and
 *   has not been closed; a buffer of LEN bytes is valid for LEN bytes (and
 *   initialised, when it is read); no buffer overlaps a region's mapping.
 * - A region handle may be used from several threads at once, except that
 *   shm_region_close() must not run concurrently with any other call on it.
 * - No Rust panic crosses this interface: an internal error is reported as
 *   SHM_E_OTHER.
 *
 * Fields are named by path, as in Rust: "bar", "inner.x", "samples[3]" (or
 * "samples.3"), "grid[1][2]", or by byte offset from the start of the struct
 * (offsetof(Foo, inner.x) with the generated header).
 *
 * Linking: against libshm_ffi.so (-lshm_ffi), or the static libshm_ffi.a
 * plus the system libraries Rust's standard library needs:
 *     -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
 */
#ifndef SHM_FFI_H
#define SHM_FFI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes. */
enum shm_status {
    /* Success. */
    SHM_OK = 0,
    /* The region does not exist (opening), or the path or offset names no
     * scalar field (field access). */
    SHM_E_NOT_FOUND = -1,
    /* The caller may not access the region as asked: opening read-write
     * without write permission, or writing through a read-only handle. */
    SHM_E_PERMISSION = -2,
    /* The region is not what the caller expects: a layout other than the
     * expected one (shm_check_layout), a buffer whose length is not the
     * struct's size, or an object that is not a region (or is truncated). */
    SHM_E_LAYOUT = -3,
    /* A wait ran out: shm_wait_for_change, or opening a region whose creator
     * never finished. */
    SHM_E_TIMEOUT = -4,
    /* A bad argument: a NULL pointer, invalid UTF-8, an invalid shm name, a
     * value out of the field's range, or a C type that cannot hold every
     * value of the field's type. */
    SHM_E_INVALID_ARGUMENT = -5,
    /* Anything else: a failed system call, an internal error. */
    SHM_E_OTHER = -6
};

/* An open region. Opaque; made by shm_region_open() or
 * shm_region_open_read_only(), released by shm_region_close(). */
typedef struct shm_region shm_region;

/* Opens the existing region at LOCATION, whatever its layout, read-write,
 * and stores its handle in *REGION. LOCATION is a file path when it contains
 * a '/' ("/dev/shm/x", "./x", "/tmp/x"), else a POSIX shm name ("x").
 * Errors: SHM_E_NOT_FOUND, SHM_E_PERMISSION (no write permission: use
 * shm_region_open_read_only), SHM_E_LAYOUT (not a region),
 * SHM_E_INVALID_ARGUMENT (an invalid shm name), SHM_E_TIMEOUT (its creator
 * did not finish within 5 s), SHM_E_OTHER. */
int shm_region_open(const char *location, shm_region **region);

/* As shm_region_open(), to read only: read permission suffices, nothing is
 * written, and every write through the handle is SHM_E_PERMISSION. */
int shm_region_open_read_only(const char *location, shm_region **region);

/* Closes REGION (NULL is allowed and does nothing). The handle must not be
 * used afterwards. Always SHM_OK. */
int shm_region_close(shm_region *region);

/* The struct's size in bytes. */
int shm_size(const shm_region *region, size_t *size);

/* The region's layout fingerprint: a hash of its field names, types, offsets
 * and sizes, equal to the <NAME>_FINGERPRINT a generated header defines. */
int shm_fingerprint(const shm_region *region, uint64_t *fingerprint);

/* SHM_OK if REGION holds a struct of layout FINGERPRINT and SIZE bytes, else
 * SHM_E_LAYOUT with a message naming both. A generated header defines
 * <NAME>_CHECK_LAYOUT(region) as this call with its struct's values. */
int shm_check_layout(const shm_region *region, uint64_t fingerprint, size_t size);

/* Copies a consistent snapshot of the struct into BUFFER, which holds LEN
 * bytes: the state after some complete store, never a torn mix (field-level
 * writes applied individually). LEN must be the struct's size, else
 * SHM_E_LAYOUT. */
int shm_snapshot(const shm_region *region, void *buffer, size_t len);

/* Replaces the whole struct with the LEN bytes at BUFFER, all or nothing:
 * readers see the struct before or after, never in between, and the version
 * moves. Under the writer lock, only the scalars whose bytes in BUFFER differ
 * from the region's current ones are written; a scalar BUFFER holds an older
 * copy of is overwritten with that copy, so to change a few fields while
 * other processes write others, use the field functions below. LEN must be
 * the struct's size, else SHM_E_LAYOUT. SHM_E_PERMISSION on a read-only
 * handle. */
int shm_store(shm_region *region, const void *buffer, size_t len);

/* Field access by path. Each is one atomic instruction at the field's own
 * width (Acquire loads, Release stores, AcqRel read-modify-writes) and does
 * not move the version (call shm_notify() to announce field writes).
 *
 * get:       reads the scalar at PATH into *VALUE. The C type must hold every
 *            value of the field's type, else SHM_E_INVALID_ARGUMENT:
 *              int64_t:  i8, i16, i32, i64, isize, u8, u16, u32
 *              uint64_t: u8, u16, u32, u64, usize
 *              double:   f32, f64, and integers up to 32 bits
 * set:       stores VALUE, which must fit the field's range
 *            (SHM_E_INVALID_ARGUMENT otherwise; nothing is written); a
 *            double is refused by an integer field; an integer stored into
 *            a float field is rounded to the nearest float.
 * fetch_add: adds OPERAND atomically (integers wrap at the field's width)
 *            and stores the previous value in *OLD (OLD may be NULL). OPERAND
 *            is checked as for set, the field's type as for get, before
 *            anything is written.
 * Errors: SHM_E_NOT_FOUND (no scalar at PATH: the message says where the path
 * went wrong), SHM_E_INVALID_ARGUMENT, SHM_E_PERMISSION (writes through a
 * read-only handle). */
int shm_get_i64(const shm_region *region, const char *path, int64_t *value);
int shm_get_u64(const shm_region *region, const char *path, uint64_t *value);
int shm_get_f64(const shm_region *region, const char *path, double *value);
int shm_set_i64(shm_region *region, const char *path, int64_t value);
int shm_set_u64(shm_region *region, const char *path, uint64_t value);
int shm_set_f64(shm_region *region, const char *path, double value);
int shm_fetch_add_i64(shm_region *region, const char *path, int64_t operand, int64_t *old);
int shm_fetch_add_u64(shm_region *region, const char *path, uint64_t operand, uint64_t *old);
int shm_fetch_add_f64(shm_region *region, const char *path, double operand, double *old);

/* The same by byte OFFSET from the start of the struct, which must be where a
 * scalar starts (SHM_E_NOT_FOUND otherwise: the message names the field that
 * covers OFFSET). */
int shm_get_i64_at(const shm_region *region, size_t offset, int64_t *value);
int shm_get_u64_at(const shm_region *region, size_t offset, uint64_t *value);
int shm_get_f64_at(const shm_region *region, size_t offset, double *value);
int shm_set_i64_at(shm_region *region, size_t offset, int64_t value);
int shm_set_u64_at(shm_region *region, size_t offset, uint64_t value);
int shm_set_f64_at(shm_region *region, size_t offset, double value);
int shm_fetch_add_i64_at(shm_region *region, size_t offset, int64_t operand, int64_t *old);
int shm_fetch_add_u64_at(shm_region *region, size_t offset, uint64_t operand, uint64_t *old);
int shm_fetch_add_f64_at(shm_region *region, size_t offset, double operand, double *old);

/* The region's version: it moves on every store (by any process, in any
 * language) and every notify, and never goes back. */
int shm_version(const shm_region *region, uint64_t *version);

/* Moves the version and wakes every process waiting in
 * shm_wait_for_change(); stores the new version in *VERSION (VERSION may be
 * NULL). SHM_E_PERMISSION on a read-only handle. */
int shm_notify(shm_region *region, uint64_t *version);

/* Waits until the version differs from SEEN, for at most TIMEOUT_MS
 * milliseconds (a negative TIMEOUT_MS waits without a deadline), and stores
 * the new version in *VERSION (VERSION may be NULL). When it returns SHM_OK,
 * the store that moved the version is visible to this process. Sleeps in the
 * kernel; a read-only handle re-checks every millisecond. SHM_E_TIMEOUT when
 * the time runs out. */
int shm_wait_for_change(const shm_region *region, uint64_t seen, int64_t timeout_ms,
                        uint64_t *version);

/* The message of the last call on this thread that failed ("" if none has).
 * Never NULL; valid until the next failing call on this thread, or until the
 * thread ends. Successful calls leave it as it is. */
const char *shm_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* SHM_FFI_H */
