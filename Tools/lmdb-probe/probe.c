/*
 * probe.c - raw LMDB baseline for the Casebook event log.
 *
 * Measures what plain C over liblmdb achieves when it does the same writes
 * per append as the Swift event log, so the log's overhead can be judged:
 *
 *   write        N appends (one event to one stream with an exact expected
 *                version), round-robin over S streams, committing every B
 *                appends. Per append: get the stream head from "streams",
 *                check the version, put the envelope into "events"
 *                (MDB_APPEND), put the "stream_index" entry, put the new head.
 *                Reports commit latency (txn begin .. commit end), per-append
 *                latency (start of the containing txn .. its commit, so every
 *                append in a batch gets that txn's latency), total seconds
 *                (first begin .. last commit, env open excluded), events/s and
 *                the bytes of event values written.
 *                With --order FILE (written by `casebook bench append --trace`), the
 *                events go to the streams, and the commits fall, exactly as the
 *                log's own commits did: a stream number per line, `c` after each
 *                commit. --events and --batch are then taken from the file.
 *   read-all     One read txn, cursor over "events", reads every value byte.
 *   read-stream  K random streams (xorshift64, seed 42), each read in its own
 *                read txn: head lookup, stream_index range walk, mdb_get of
 *                each event. Reports p50/p99 of the whole per-stream read.
 *
 * Store layout (integers are 8-byte big-endian):
 *   events:       position -> envelope header (~73 bytes) + payload
 *   streams:      "stream-%06d" -> stream number + head version (16 bytes)
 *   stream_index: stream number (8 bytes) -> sorted fixed-size duplicates
 *                 (MDB_DUPSORT | MDB_DUPFIXED), each version + position (16
 *                 bytes), appended with MDB_APPENDDUP — the log's own layout.
 * Environment: maxdbs 8, mapsize 4 GiB, MDB_NOTLS only (durable), mode 0644.
 *
 * Output: one JSON object on one line to stdout.
 * Build:  cc -O2 -Wall -Wextra -o probe probe.c -llmdb
 */
#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <errno.h>
#include <lmdb.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define MAP_SIZE ((size_t)4 << 30)
#define EVENT_TYPE "probe.event"
#define NAME_MAX_LEN 32

static const char *usage_text =
    "usage: probe write --dir D --events N --streams S --payload BYTES --batch B\n"
    "       probe write --dir D --streams S --payload BYTES --order FILE\n"
    "       probe read-all --dir D\n"
    "       probe read-stream --dir D --samples K\n";

/* ---- errors ------------------------------------------------------------ */

static void usage(void)
{
    fputs(usage_text, stderr);
    exit(2);
}

static void fail(const char *what, const char *why)
{
    fprintf(stderr, "probe: %s: %s\n", what, why);
    exit(1);
}

static void check(int rc, const char *what)
{
    if (rc != MDB_SUCCESS)
        fail(what, mdb_strerror(rc));
}

static void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (p == NULL)
        fail("malloc", strerror(errno));
    return p;
}

/* ---- small helpers ----------------------------------------------------- */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--) {
        p[i] = (unsigned char)(v & 0xff);
        v >>= 8;
    }
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t wall_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint64_t xorshift64(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *s = x;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* Nearest-rank percentile of n samples in ns, returned in microseconds.
 * Sorts the array in place. */
static double percentile_us(uint64_t *v, size_t n, double p)
{
    if (n == 0)
        return 0.0;
    qsort(v, n, sizeof *v, cmp_u64);
    size_t rank = (size_t)(p * (double)n + 0.999999);
    if (rank < 1)
        rank = 1;
    if (rank > n)
        rank = n;
    return (double)v[rank - 1] / 1000.0;
}

/* Parses a decimal option value; garbage (and 0 unless allowed) is a usage
 * error. */
static uint64_t parse_u64(const char *s, int allow_zero)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' ||
        (v == 0 && !allow_zero))
        usage();
    return (uint64_t)v;
}

static int stream_name(char *buf, uint64_t s)
{
    return snprintf(buf, NAME_MAX_LEN, "stream-%06llu", (unsigned long long)s);
}

/* Checks a sum of bytes so value reads cannot be optimised away. */
static volatile uint64_t sink;

static uint64_t touch(const MDB_val *v)
{
    const unsigned char *p = v->mv_data;
    uint64_t sum = 0;
    for (size_t i = 0; i < v->mv_size; i++)
        sum += p[i];
    return sum;
}

/* ---- environment ------------------------------------------------------- */

struct store {
    MDB_env *env;
    MDB_dbi events, streams, index;
};

/* For writing, dir must not exist or be empty; it is created if missing. */
static void prepare_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (d == NULL) {
        if (errno != ENOENT)
            fail(dir, strerror(errno));
        if (mkdir(dir, 0755) != 0)
            fail(dir, strerror(errno));
        return;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            closedir(d);
            fail(dir, "directory is not empty");
        }
    }
    closedir(d);
}

static void open_store(struct store *st, const char *dir, int create)
{
    MDB_txn *txn;
    unsigned int dbflags = create ? MDB_CREATE : 0;

    check(mdb_env_create(&st->env), "mdb_env_create");
    check(mdb_env_set_maxdbs(st->env, 8), "mdb_env_set_maxdbs");
    check(mdb_env_set_mapsize(st->env, MAP_SIZE), "mdb_env_set_mapsize");
    check(mdb_env_open(st->env, dir, MDB_NOTLS, 0644), "mdb_env_open");

    check(mdb_txn_begin(st->env, NULL, create ? 0 : MDB_RDONLY, &txn),
          "mdb_txn_begin");
    check(mdb_dbi_open(txn, "events", dbflags, &st->events), "open events");
    check(mdb_dbi_open(txn, "streams", dbflags, &st->streams), "open streams");
    check(mdb_dbi_open(txn, "stream_index", dbflags | MDB_DUPSORT | MDB_DUPFIXED, &st->index),
          "open stream_index");
    check(mdb_txn_commit(txn), "mdb_txn_commit (open)");
}

/* ---- write ------------------------------------------------------------- */

/* Envelope header: format(1) position(8) version(8) recordedAt ms(8)
 * command id(16) name len(2) name, type len(2) type, payload len(4). */
static size_t encode_header(unsigned char *p, uint64_t pos, uint64_t version,
                            const char *name, size_t name_len, uint64_t payload)
{
    size_t n = 0, type_len = sizeof EVENT_TYPE - 1;

    p[n++] = 1;
    put_u64(p + n, pos), n += 8;
    put_u64(p + n, version), n += 8;
    put_u64(p + n, wall_ms()), n += 8;
    put_u64(p + n, 0x436173656230306bULL), n += 8; /* command id, 16 bytes */
    put_u64(p + n, pos ^ 0x9e3779b97f4a7c15ULL), n += 8;
    p[n++] = (unsigned char)(name_len >> 8);
    p[n++] = (unsigned char)name_len;
    memcpy(p + n, name, name_len), n += name_len;
    p[n++] = (unsigned char)(type_len >> 8);
    p[n++] = (unsigned char)type_len;
    memcpy(p + n, EVENT_TYPE, type_len), n += type_len;
    p[n++] = (unsigned char)(payload >> 24);
    p[n++] = (unsigned char)(payload >> 16);
    p[n++] = (unsigned char)(payload >> 8);
    p[n++] = (unsigned char)payload;
    return n;
}

/* The order file of --order: the stream of each event and whether a commit follows it. */
struct order {
    uint64_t *stream;
    unsigned char *commit_after;
    uint64_t events, commits;
};

static void read_order(const char *path, uint64_t streams, struct order *o)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail(path, strerror(errno));
    uint64_t cap = 1024;
    o->stream = xmalloc(cap * sizeof *o->stream);
    o->commit_after = xmalloc(cap);
    o->events = o->commits = 0;
    char line[64];
    while (fgets(line, sizeof line, f) != NULL) {
        if (line[0] == 'c') {
            if (o->events == 0)
                fail(path, "commit before any event");
            o->commit_after[o->events - 1] = 1;
            o->commits++;
            continue;
        }
        if (o->events == cap) {
            cap *= 2;
            o->stream = realloc(o->stream, cap * sizeof *o->stream);
            o->commit_after = realloc(o->commit_after, cap);
            if (o->stream == NULL || o->commit_after == NULL)
                fail(path, "out of memory");
        }
        uint64_t s = strtoull(line, NULL, 10);
        if (s >= streams)
            fail(path, "stream number beyond --streams");
        o->stream[o->events] = s;
        o->commit_after[o->events] = 0;
        o->events++;
    }
    fclose(f);
    if (o->events == 0)
        fail(path, "no events");
    o->commit_after[o->events - 1] = 1;
}

static int cmd_write(const char *dir, uint64_t events, uint64_t streams,
                     uint64_t payload, uint64_t batch, const struct order *order)
{
    struct store st;
    prepare_dir(dir);
    open_store(&st, dir, 1);

    size_t header_max = 1 + 8 + 8 + 8 + 16 + 2 + NAME_MAX_LEN + 2 +
                        (sizeof EVENT_TYPE - 1) + 4;
    unsigned char *value = xmalloc(header_max + payload);
    unsigned char *body = xmalloc(payload);
    for (uint64_t i = 0; i < payload; i++)
        body[i] = (unsigned char)('a' + i % 26);

    /* next_version[s]: number of events appended to stream s so far, i.e.
     * the expected version is "no stream" when 0, else next_version - 1. */
    uint64_t *next_version = xmalloc(streams * sizeof *next_version);
    memset(next_version, 0, streams * sizeof *next_version);
    uint64_t ncommits_max = order ? order->events : (events + batch - 1) / batch;
    uint64_t *commit_ns = xmalloc(ncommits_max * sizeof *commit_ns);
    uint64_t *append_ns = xmalloc(events * sizeof *append_ns);

    uint64_t next_stream_no = 0, bytes = 0, ncommits = 0;
    uint64_t t_start = now_ns(), t_begin = 0, in_txn = 0;
    MDB_txn *txn = NULL;

    for (uint64_t pos = 0; pos < events; pos++) {
        uint64_t s = order ? order->stream[pos] : pos % streams;
        char name[NAME_MAX_LEN];
        size_t name_len = (size_t)stream_name(name, s);
        unsigned char head[16], ikey[16], pkey[8], pval[16];
        MDB_val k, v;

        if (txn == NULL) {
            t_begin = now_ns();
            check(mdb_txn_begin(st.env, NULL, 0, &txn), "mdb_txn_begin");
        }

        /* 1. read the stream head and check the expected version */
        uint64_t stream_no, version;
        k.mv_size = name_len, k.mv_data = name;
        int rc = mdb_get(txn, st.streams, &k, &v);
        if (rc == MDB_NOTFOUND) {
            if (next_version[s] != 0)
                fail(name, "stream missing but expected to exist");
            stream_no = next_stream_no++;
            version = 0;
        } else {
            check(rc, "mdb_get streams");
            if (v.mv_size != 16)
                fail(name, "bad stream head size");
            stream_no = get_u64(v.mv_data);
            uint64_t cur = get_u64((unsigned char *)v.mv_data + 8);
            if (next_version[s] == 0 || cur != next_version[s] - 1)
                fail(name, "wrong expected version");
            version = cur + 1;
        }

        /* 2. the event envelope, appended at the next position */
        size_t hlen = encode_header(value, pos, version, name, name_len, payload);
        memcpy(value + hlen, body, payload);
        put_u64(pkey, pos);
        k.mv_size = 8, k.mv_data = pkey;
        v.mv_size = hlen + payload, v.mv_data = value;
        check(mdb_put(txn, st.events, &k, &v, MDB_APPEND), "mdb_put events");
        bytes += v.mv_size;

        /* 3. stream_index: stream number -> (version, position), a sorted duplicate */
        put_u64(ikey, stream_no);
        put_u64(pval, version);
        put_u64(pval + 8, pos);
        k.mv_size = 8, k.mv_data = ikey;
        v.mv_size = 16, v.mv_data = pval;
        check(mdb_put(txn, st.index, &k, &v, MDB_APPENDDUP), "mdb_put stream_index");

        /* 4. the new stream head */
        put_u64(head, stream_no);
        put_u64(head + 8, version);
        k.mv_size = name_len, k.mv_data = name;
        v.mv_size = 16, v.mv_data = head;
        check(mdb_put(txn, st.streams, &k, &v, 0), "mdb_put streams");
        next_version[s]++;
        in_txn++;

        if (order ? order->commit_after[pos] : (in_txn == batch || pos + 1 == events)) {
            check(mdb_txn_commit(txn), "mdb_txn_commit");
            txn = NULL;
            uint64_t lat = now_ns() - t_begin;
            commit_ns[ncommits++] = lat;
            for (uint64_t j = pos + 1 - in_txn; j <= pos; j++)
                append_ns[j] = lat;
            in_txn = 0;
        }
    }
    double seconds = (double)(now_ns() - t_start) / 1e9;

    if (order)
        batch = 0;  /* reported as 0: the batches were the log's own (see "ordered") */
    printf("{\"bench\":\"probe-write\",\"ordered\":%s,\"events\":%llu,\"streams\":%llu,"
           "\"payload\":%llu,\"batch\":%llu,\"seconds\":%.6f,"
           "\"eventsPerSec\":%.1f,\"commitP50Us\":%.1f,\"commitP99Us\":%.1f,"
           "\"p50Us\":%.1f,\"p99Us\":%.1f,\"bytes\":%llu}\n",
           order ? "true" : "false", (unsigned long long)events, (unsigned long long)streams,
           (unsigned long long)payload, (unsigned long long)batch, seconds,
           (double)events / seconds, percentile_us(commit_ns, ncommits, 0.50),
           percentile_us(commit_ns, ncommits, 0.99),
           percentile_us(append_ns, events, 0.50),
           percentile_us(append_ns, events, 0.99), (unsigned long long)bytes);

    free(value), free(body), free(next_version), free(commit_ns), free(append_ns);
    mdb_env_close(st.env);
    return 0;
}

/* ---- read-all ---------------------------------------------------------- */

static int cmd_read_all(const char *dir)
{
    struct store st;
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v;
    uint64_t count = 0, bytes = 0, sum = 0;

    open_store(&st, dir, 0);
    uint64_t t0 = now_ns();
    check(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    check(mdb_cursor_open(txn, st.events, &cur), "mdb_cursor_open events");
    int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST);
    while (rc == MDB_SUCCESS) {
        if (k.mv_size != 8 || get_u64(k.mv_data) != count)
            fail("events", "positions are not contiguous from 0");
        bytes += v.mv_size;
        sum += touch(&v);
        count++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT);
    }
    if (rc != MDB_NOTFOUND)
        check(rc, "mdb_cursor_get events");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    double seconds = (double)(now_ns() - t0) / 1e9;
    sink = sum;

    printf("{\"bench\":\"probe-read-all\",\"events\":%llu,\"seconds\":%.6f,"
           "\"eventsPerSec\":%.1f,\"bytes\":%llu}\n",
           (unsigned long long)count, seconds,
           seconds > 0 ? (double)count / seconds : 0.0,
           (unsigned long long)bytes);
    mdb_env_close(st.env);
    return 0;
}

/* ---- read-stream ------------------------------------------------------- */

/* Reads one whole stream in its own read txn; returns its event count. */
static uint64_t read_one_stream(struct store *st, const char *name)
{
    MDB_txn *txn;
    MDB_cursor *cur;
    MDB_val k, v, ev;
    unsigned char start[16];
    uint64_t n = 0, sum = 0;

    check(mdb_txn_begin(st->env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    k.mv_size = strlen(name), k.mv_data = (void *)name;
    check(mdb_get(txn, st->streams, &k, &v), "mdb_get streams");
    if (v.mv_size != 16)
        fail(name, "bad stream head size");
    uint64_t stream_no = get_u64(v.mv_data);
    uint64_t head = get_u64((unsigned char *)v.mv_data + 8);

    check(mdb_cursor_open(txn, st->index, &cur), "mdb_cursor_open stream_index");
    put_u64(start, stream_no);
    k.mv_size = 8, k.mv_data = start;
    int rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY);
    while (rc == MDB_SUCCESS && v.mv_size == 16) {
        MDB_val pos = { 8, (unsigned char *)v.mv_data + 8 };
        check(mdb_get(txn, st->events, &pos, &ev), "mdb_get events");
        sum += touch(&ev);
        n++;
        rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP);
    }
    if (rc != MDB_SUCCESS && rc != MDB_NOTFOUND)
        check(rc, "mdb_cursor_get stream_index");
    mdb_cursor_close(cur);
    mdb_txn_abort(txn);
    if (n != head + 1)
        fail(name, "stream_index does not match head version");
    sink += sum;
    return n;
}

static int cmd_read_stream(const char *dir, uint64_t samples)
{
    struct store st;
    MDB_txn *txn;
    MDB_stat ms;

    open_store(&st, dir, 0);
    check(mdb_txn_begin(st.env, NULL, MDB_RDONLY, &txn), "mdb_txn_begin");
    check(mdb_stat(txn, st.streams, &ms), "mdb_stat streams");
    mdb_txn_abort(txn);
    if (ms.ms_entries == 0)
        fail("streams", "store has no streams");

    uint64_t *lat = xmalloc(samples * sizeof *lat);
    uint64_t seed = 42, total = 0;
    for (uint64_t i = 0; i < samples; i++) {
        char name[NAME_MAX_LEN];
        stream_name(name, xorshift64(&seed) % ms.ms_entries);
        uint64_t t0 = now_ns();
        total += read_one_stream(&st, name);
        lat[i] = now_ns() - t0;
    }

    printf("{\"bench\":\"probe-read-stream\",\"samples\":%llu,"
           "\"eventsPerStream\":%.1f,\"p50Us\":%.1f,\"p99Us\":%.1f}\n",
           (unsigned long long)samples, (double)total / (double)samples,
           percentile_us(lat, samples, 0.50), percentile_us(lat, samples, 0.99));
    free(lat);
    mdb_env_close(st.env);
    return 0;
}

/* ---- main -------------------------------------------------------------- */

int main(int argc, char **argv)
{
    const char *dir = NULL, *order_path = NULL;
    uint64_t events = 0, streams = 0, payload = 0, batch = 0, samples = 0;
    int have_payload = 0;

    if (argc < 2)
        usage();
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            usage();
        const char *opt = argv[i], *val = argv[i + 1];
        if (strcmp(opt, "--dir") == 0)
            dir = val;
        else if (strcmp(opt, "--events") == 0)
            events = parse_u64(val, 0);
        else if (strcmp(opt, "--streams") == 0)
            streams = parse_u64(val, 0);
        else if (strcmp(opt, "--payload") == 0) {
            payload = parse_u64(val, 1);
            have_payload = 1;
        } else if (strcmp(opt, "--batch") == 0)
            batch = parse_u64(val, 0);
        else if (strcmp(opt, "--samples") == 0)
            samples = parse_u64(val, 0);
        else if (strcmp(opt, "--order") == 0)
            order_path = val;
        else
            usage();
    }
    if (dir == NULL)
        usage();

    if (strcmp(argv[1], "write") == 0) {
        if (order_path) {
            if (!streams || !have_payload || events || batch || samples)
                usage();
            struct order o;
            read_order(order_path, streams, &o);
            return cmd_write(dir, o.events, streams, payload, 1, &o);
        }
        if (!events || !streams || !have_payload || !batch || samples)
            usage();
        return cmd_write(dir, events, streams, payload, batch, NULL);
    }
    if (strcmp(argv[1], "read-all") == 0) {
        if (events || streams || have_payload || batch || samples)
            usage();
        return cmd_read_all(dir);
    }
    if (strcmp(argv[1], "read-stream") == 0) {
        if (!samples || events || streams || have_payload || batch)
            usage();
        return cmd_read_stream(dir, samples);
    }
    usage();
    return 2;
}
