/*
 * The C side of tests/codegen_c.rs: a C program that uses a region made by
 * Rust through the declaration `shm codegen --lang c` wrote for it
 * (station.h, written by the test) and the shm-ffi library cargo built.
 *
 * Usage: end_to_end LOCATION NOT_A_REGION
 *
 * It talks to the test over standard input and output, one line at a time,
 * and stops at the first check that fails, saying why on standard error
 * (exit status 1). Steps, with what it prints:
 *   1. open LOCATION, check the layout, snapshot:   "read <path>=<value> ..."
 *   2. refused calls and a read-only handle (no output)
 *   3. writes by path, by offset, and a store:      "wrote <name>=<old value> ..."
 *   4. on "notify": shm_notify                      "notified <version>"
 *   5. wait for a change the test makes:            "waiting <version>", then
 *                                                   "changed <version> half=<half>"
 *   6. a wait that times out:                       "timed-out"
 *   7. on "consistency": snapshots while the test updates, each checked
 *      against the invariant the updates keep:     "consistent rounds=<n> distinct=<n>"
 *   8. close:                                       "done"
 */
#include "station.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void fail(const char *format, ...) {
    va_list args;
    va_start(args, format);
    fprintf(stderr, "end_to_end: ");
    vfprintf(stderr, format, args);
    fprintf(stderr, "\n");
    va_end(args);
    exit(1);
}

/* A call that must succeed. */
#define OK(call)                                                                    \
    do {                                                                            \
        int status_ = (call);                                                       \
        if (status_ != SHM_OK)                                                      \
            fail("%s:%d: %s returned %d: %s", __FILE__, __LINE__, #call, status_,   \
                 shm_last_error());                                                 \
    } while (0)

/* A call that must fail with STATUS and a message containing TEXT. */
#define REFUSED(status, text, call)                                                 \
    do {                                                                            \
        int status_ = (call);                                                       \
        if (status_ != (status))                                                    \
            fail("%s:%d: %s returned %d, expected %s: %s", __FILE__, __LINE__,       \
                 #call, status_, #status, shm_last_error());                        \
        if (strstr(shm_last_error(), (text)) == NULL)                               \
            fail("%s:%d: %s: message without \"%s\": %s", __FILE__, __LINE__,        \
                 #call, (text), shm_last_error());                                  \
    } while (0)

#define CHECK(condition)                                                            \
    do {                                                                            \
        if (!(condition)) fail("%s:%d: %s", __FILE__, __LINE__, #condition);         \
    } while (0)

/* Waits for the line COMMAND from the test. */
static void expect_command(const char *command) {
    char line[64];
    if (fgets(line, sizeof line, stdin) == NULL) fail("input ended before \"%s\"", command);
    line[strcspn(line, "\n")] = '\0';
    if (strcmp(line, command) != 0) fail("expected \"%s\", got \"%s\"", command, line);
}

/* Every scalar of S as path=value, in the schema's order; floats with
 * enough digits to read back exactly. */
static void print_station(const char *tag, const Station *s) {
    printf("%s counter=%" PRIu64 " level=%" PRId32 " ratio=%.9g", tag, s->counter, s->level,
           (double)s->ratio);
    for (int i = 0; i < 2; i++) {
        const Sensor *n = &s->sensors[i];
        printf(" sensors[%d].id=%" PRIu32 " sensors[%d].pos.x=%d sensors[%d].pos.y=%d", i,
               n->id, i, n->pos.x, i, n->pos.y);
        for (int j = 0; j < 3; j++) printf(" sensors[%d].readings[%d]=%.17g", i, j, n->readings[j]);
        for (int a = 0; a < 2; a++)
            for (int b = 0; b < 3; b++)
                printf(" sensors[%d].flags[%d][%d]=%u", i, a, b, n->flags[a][b]);
        for (int k = 0; k < 2; k++) printf(" sensors[%d]._pad[%d]=%u", i, k, n->_pad[k]);
    }
    printf(" generation=%" PRIu64 " left=%" PRId64 " right=%" PRId64
           " small=%u tiny=%d half=%u word=%" PRIu32 " size=%" PRIuPTR "\n",
           s->generation, s->left, s->right, s->small, s->tiny, s->half, s->word, s->size);
    fflush(stdout);
}

/* Field reads by path and by offset agree with the snapshot S. */
static void check_reads(const shm_region *region, const Station *s) {
    uint64_t u;
    int64_t i;
    double d;
    OK(shm_get_u64(region, "counter", &u));
    CHECK(u == s->counter);
    OK(shm_get_u64_at(region, offsetof(Station, counter), &u));
    CHECK(u == s->counter);
    OK(shm_get_i64(region, "level", &i));
    CHECK(i == s->level);
    OK(shm_get_f64(region, "ratio", &d));
    CHECK(d == s->ratio);
    OK(shm_get_i64(region, "sensors[1].pos.y", &i));
    CHECK(i == s->sensors[1].pos.y);
    OK(shm_get_i64_at(region, offsetof(Station, sensors[1].pos.y), &i));
    CHECK(i == s->sensors[1].pos.y);
    OK(shm_get_f64(region, "sensors.1.readings.2", &d));
    CHECK(d == s->sensors[1].readings[2]);
    OK(shm_get_f64_at(region, offsetof(Station, sensors[1].readings[2]), &d));
    CHECK(d == s->sensors[1].readings[2]);
    OK(shm_get_u64(region, "sensors[0].flags[1][2]", &u));
    CHECK(u == s->sensors[0].flags[1][2]);
    OK(shm_get_u64_at(region, offsetof(Station, sensors[0].flags[1][2]), &u));
    CHECK(u == s->sensors[0].flags[1][2]);
    OK(shm_get_i64_at(region, offsetof(Station, tiny), &i));
    CHECK(i == s->tiny);
    OK(shm_get_u64(region, "size", &u));
    CHECK(u == s->size);
}

/* Calls the interface refuses, each with its status and a message. */
static void check_refusals(shm_region *region, const char *not_a_region) {
    Station s;
    int64_t i;
    uint64_t u;
    shm_region *other = (shm_region *)&s;

    REFUSED(SHM_E_NOT_FOUND, "no field", shm_get_i64(region, "nope", &i));
    REFUSED(SHM_E_NOT_FOUND, "is an array", shm_get_i64(region, "sensors", &i));
    REFUSED(SHM_E_NOT_FOUND, "out of range", shm_set_i64(region, "sensors[2].id", 1));
    REFUSED(SHM_E_NOT_FOUND, "inside `word`",
            shm_get_u64_at(region, offsetof(Station, word) + 1, &u));
    REFUSED(SHM_E_NOT_FOUND, "inside `sensors[0].readings[1]`",
            shm_set_f64_at(region, offsetof(Station, sensors[0].readings[1]) + 4, 1.0));
    REFUSED(SHM_E_NOT_FOUND, "past the end", shm_get_i64_at(region, sizeof(Station), &i));
    REFUSED(SHM_E_INVALID_ARGUMENT, "u8 (0 to 255)", shm_set_i64(region, "small", 300));
    REFUSED(SHM_E_INVALID_ARGUMENT, "u8 (0 to 255)", shm_set_i64(region, "small", -1));
    REFUSED(SHM_E_INVALID_ARGUMENT, "i32", shm_set_f64(region, "level", 1.5));
    REFUSED(SHM_E_INVALID_ARGUMENT, "use shm_get_u64", shm_get_i64(region, "counter", &i));
    REFUSED(SHM_E_INVALID_ARGUMENT, "use shm_fetch_add_i64",
            shm_fetch_add_u64(region, "level", 1, NULL));
    REFUSED(SHM_E_INVALID_ARGUMENT, "NULL", shm_get_i64(region, NULL, &i));
    REFUSED(SHM_E_INVALID_ARGUMENT, "NULL", shm_get_i64(region, "level", NULL));
    REFUSED(SHM_E_INVALID_ARGUMENT, "NULL", shm_get_i64(NULL, "level", &i));
    REFUSED(SHM_E_INVALID_ARGUMENT, "UTF-8", shm_set_i64(region, "lev\xff" "el", 1));
    REFUSED(SHM_E_LAYOUT, "the buffer holds", shm_snapshot(region, &s, sizeof s - 1));
    REFUSED(SHM_E_LAYOUT, "the buffer holds", shm_store(region, &s, sizeof s + 1));
    REFUSED(SHM_E_INVALID_ARGUMENT, "NULL", shm_snapshot(region, NULL, sizeof s));
    REFUSED(SHM_E_LAYOUT, "regenerate",
            shm_check_layout(region, STATION_FINGERPRINT ^ 1, sizeof(Station)));

    REFUSED(SHM_E_NOT_FOUND, "not found", shm_region_open("./no/such/region", &other));
    CHECK(other == NULL);
    REFUSED(SHM_E_NOT_FOUND, "not found", shm_region_open("shm-ffi-no-such-region", &other));
    REFUSED(SHM_E_LAYOUT, "not a shared-state region", shm_region_open(not_a_region, &other));
    REFUSED(SHM_E_INVALID_ARGUMENT, "invalid shm name", shm_region_open("", &other));
    REFUSED(SHM_E_INVALID_ARGUMENT, "NULL", shm_region_open(NULL, &other));
    OK(shm_region_close(NULL));
}

/* A read-only handle reads the same and refuses to write. */
static void check_read_only(const char *location, const Station *expected) {
    shm_region *ro;
    Station s;
    OK(shm_region_open_read_only(location, &ro));
    OK(STATION_CHECK_LAYOUT(ro));
    OK(shm_snapshot(ro, &s, sizeof s));
    CHECK(memcmp(&s, expected, sizeof s) == 0);
    REFUSED(SHM_E_PERMISSION, "read-only", shm_set_i64(ro, "level", 1));
    REFUSED(SHM_E_PERMISSION, "read-only", shm_store(ro, &s, sizeof s));
    REFUSED(SHM_E_PERMISSION, "read-only", shm_notify(ro, NULL));
    OK(shm_region_close(ro));
}

/* Field writes by path and by offset, then a store of a changed snapshot. */
static void write_fields(shm_region *region) {
    uint64_t counter_old;
    int64_t level_old;
    double reading_old;
    Station s;

    OK(shm_set_i64(region, "sensors[1].pos.x", -1234));
    OK(shm_set_u64(region, "counter", 1000));
    OK(shm_fetch_add_u64(region, "counter", 5, &counter_old));
    OK(shm_set_f64(region, "ratio", 0.25));
    OK(shm_set_f64(region, "sensors[0].readings[1]", -7.5));
    OK(shm_fetch_add_f64(region, "sensors.1.readings.0", 1.5, &reading_old));

    OK(shm_set_i64_at(region, offsetof(Station, sensors[0].pos.y), 77));
    OK(shm_set_u64_at(region, offsetof(Station, word), 0xdeadbeef));
    OK(shm_fetch_add_i64_at(region, offsetof(Station, level), 10, &level_old));
    OK(shm_set_i64_at(region, offsetof(Station, tiny), -100));
    OK(shm_set_f64_at(region, offsetof(Station, sensors[1].readings[2]), 3.75));
    OK(shm_set_u64_at(region, offsetof(Station, sensors[1].flags[1][2]), 200));

    OK(shm_snapshot(region, &s, sizeof s));
    CHECK(s.counter == 1005 && s.word == 0xdeadbeef && s.sensors[1].pos.x == -1234);
    s.half = 4242;
    s.small = 7;
    s.sensors[0].id = 99;
    s.size = 123456789;
    OK(shm_store(region, &s, sizeof s));

    printf("wrote counter=%" PRIu64 " level=%" PRId64 " reading=%.17g\n", counter_old, level_old,
           reading_old);
    fflush(stdout);
}

/* Snapshots while the test keeps updating: generation, left, right and
 * sensors[0].readings move together in each update, so a snapshot that
 * mixes two updates breaks the invariant. Each round also adds 1 to
 * counter, a field the updates leave alone: none of those adds may be lost. */
static void check_consistency(shm_region *region) {
    enum { ROUNDS = 2000 };
    uint64_t seen, previous_generation = UINT64_MAX;
    int distinct = 0;
    Station s;
    OK(shm_version(region, &seen));
    for (int round = 0; round < ROUNDS; round++) {
        OK(shm_snapshot(region, &s, sizeof s));
        int64_t g = (int64_t)s.generation;
        const double *r = s.sensors[0].readings;
        if (s.left != g || s.right != -g || r[0] != (double)g || r[1] != (double)g ||
            r[2] != (double)g) {
            print_station("torn", &s);
            fail("round %d: a torn snapshot", round);
        }
        if (s.generation != previous_generation) distinct++;
        previous_generation = s.generation;
        OK(shm_fetch_add_u64(region, "counter", 1, NULL));
        /* On to a state the next round has not seen. */
        OK(shm_wait_for_change(region, seen, 30000, &seen));
    }
    printf("consistent rounds=%d distinct=%d\n", ROUNDS, distinct);
    fflush(stdout);
}

int main(int argc, char **argv) {
    if (argc != 3) fail("usage: end_to_end LOCATION NOT_A_REGION");
    const char *location = argv[1];
    shm_region *region = NULL;
    size_t size;
    uint64_t fingerprint, version, changed;
    int64_t half;
    Station s;

    CHECK(strcmp(shm_last_error(), "") == 0);

    /* 1. */
    OK(shm_region_open(location, &region));
    OK(STATION_CHECK_LAYOUT(region));
    OK(shm_size(region, &size));
    CHECK(size == sizeof(Station));
    OK(shm_fingerprint(region, &fingerprint));
    CHECK(fingerprint == STATION_FINGERPRINT);
    OK(shm_snapshot(region, &s, sizeof s));
    print_station("read", &s);
    check_reads(region, &s);

    /* 2. */
    check_refusals(region, argv[2]);
    check_read_only(location, &s);

    /* 3. */
    write_fields(region);

    /* 4. */
    expect_command("notify");
    OK(shm_notify(region, &version));
    printf("notified %" PRIu64 "\n", version);
    fflush(stdout);

    /* 5. */
    OK(shm_version(region, &version));
    printf("waiting %" PRIu64 "\n", version);
    fflush(stdout);
    OK(shm_wait_for_change(region, version, 30000, &changed));
    OK(shm_get_i64(region, "half", &half));
    printf("changed %" PRIu64 " half=%" PRId64 "\n", changed, half);
    fflush(stdout);

    /* 6. Nobody writes now: the test waits for this line. */
    OK(shm_version(region, &version));
    REFUSED(SHM_E_TIMEOUT, "timed out", shm_wait_for_change(region, version, 20, &changed));
    printf("timed-out\n");
    fflush(stdout);

    /* 7. */
    expect_command("consistency");
    check_consistency(region);

    /* 8. */
    OK(shm_region_close(region));
    printf("done\n");
    return 0;
}
